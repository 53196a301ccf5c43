#!/usr/bin/env bash
# Regenerate the naive-reconstruction experiments table (issue #14): experiments/README.md,
# results.json, loss_curves.png, reconstructions-*.png. ~30 CPU-minutes on 2 cores.
# Usage: scripts/experiments.sh [--quick] [--only 02,03] [--data piano,drums|MIDI_DIR] [--output-dir DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$repo"
exec nice -n 5 bgmaker experiments "$@"
