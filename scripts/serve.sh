#!/usr/bin/env bash
# The web beat machine: a drum grid page to generate, edit, hear, interpolate and export beats.
#
# Usage: scripts/serve.sh [options]        (bgmaker serve; all options: scripts/serve.sh --help)
#   scripts/serve.sh                        the shipped v2_rock_beat model at http://127.0.0.1:8765/
#   scripts/serve.sh --run v1_all --port 9000
#   scripts/serve.sh --checkpoint runs/mine
#   scripts/serve.sh --host 0.0.0.0         let other machines in (default: this machine only)
#
# Creates or refreshes the venv first (scripts/install.sh, instant when nothing changed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec bgmaker serve "$@"
