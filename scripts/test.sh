#!/usr/bin/env bash
# Install BGMaker into .venv (if needed) and run the test suite.
# Usage: scripts/test.sh [pytest args...]
# Tests that need the Groove MIDI Dataset skip when it is absent; set
# BGMAKER_REQUIRE_GMD=1 (as .ci/run does) to make its absence an error.
# Also makes the Apache Beam environment (scripts/install.sh --beam) for tests/test_beam.py.
# The web page's tests (tests/test_serve_browser.py) drive Debian's Chromium: installed here
# with apt-get when running as root; without it they skip, except under CI=true, where they fail.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$repo"

maybe_install_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: Chromium is not installed (apt-get install chromium); the browser tests will skip" >&2
    return 0
  fi
  echo "test.sh: installing Chromium for the browser tests (apt-get, once)" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  } >/dev/null 2>&1 || echo "test.sh: could not install Chromium; the browser tests will skip (fail under CI=true)" >&2
}
maybe_install_chromium

# The Apache Beam conversion's own environment (.venv-beam; requirements-beam.txt says why it is separate), for
# tests/test_beam.py. A no-op once made; without it those tests skip, except under CI=true, where they fail.
bash "$repo/scripts/install.sh" --beam \
  || echo "test.sh: could not make the Beam environment; tests/test_beam.py will skip (fail under CI=true)" >&2

exec python -m pytest -q "$@"
