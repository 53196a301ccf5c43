#!/usr/bin/env bash
# Install BGMaker into .venv (if needed) and run the test suite.
# Usage: scripts/test.sh [pytest args...]
# Tests that need the Groove MIDI Dataset skip when it is absent; set
# BGMAKER_REQUIRE_GMD=1 (as .ci/run does) to make its absence an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$repo"
exec python -m pytest -q "$@"
