#!/usr/bin/env bash
# Resume the training campaign behind the shipped models, in the background, niced.
#
# Usage: scripts/campaign.sh [--foreground] [--status] [--carry [RUN]] [--ship RUN]
#   (no flag)      start or resume the campaign in the background: humanize (the GrooVAE humanizer)
#                  for 6 CPU-hours, v1_all for 16 to 24 CPU-hours (on while its validation curve
#                  rises), then v2_rock_beat warm-started from v1_all's best milestone, with the
#                  fine-tuning recipe its trials choose, for up to 6 CPU-hours; a running
#                  campaign is left alone. Logs: ~/.local/state/bgmaker/campaign.log (the stages),
#                  ~/.local/state/bgmaker/campaign/runs/<run>.log (each stage's training)
#   --foreground   the same, in this terminal
#   --status       whether it is running; CPU-hours spent, steps and milestones of each stage
#   --carry [RUN]  export the newest milestone of RUN (its best once it stopped; default: each stage's)
#                  to models/carry/RUN (the campaign does it after each chunk); commit it, and another
#                  machine goes on from it
#   --ship RUN     choose RUN's best milestone on validation, export it to models/RUN with its
#                  test-split evaluation (then commit models/RUN); stopped or failed, it leaves
#                  models/RUN as it was
# State (data, checkpoints, milestones) lives in $BGMAKER_STATE_DIR/campaign, default
# ~/.local/state/bgmaker/campaign, outside the checkout, so it survives a fresh clone on the same
# machine; models/carry/ and models/ are what another machine finds.
set -euo pipefail
case "${1:-}" in -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;; esac
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
state="${BGMAKER_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/bgmaker}"
mkdir -p "$state"
if [ "${1:-}" = "--status" ] || [ "${1:-}" = "--ship" ] || [ "${1:-}" = "--carry" ]; then
  exec bgmaker campaign "$@"
fi
if [ "${1:-}" = "--foreground" ]; then
  shift
  exec bgmaker campaign "$@"
fi
if [ -f "$state/campaign.pid" ] && kill -0 "$(cat "$state/campaign.pid")" 2>/dev/null; then
  echo "campaign.sh: already running (pid $(cat "$state/campaign.pid")); log: $state/campaign.log"
  exit 0
fi
nohup bgmaker campaign "$@" >> "$state/campaign.log" 2>&1 &
echo $! > "$state/campaign.pid"
echo "campaign.sh: running in the background (pid $!); log: $state/campaign.log; progress: scripts/campaign.sh --status"
