#!/usr/bin/env bash
# Create (or refresh) the project's venv in .venv and install BGMaker into it.
#
# Why a script and not `pip install -e .`: magenta==2.1.4 pins TensorFlow 2.9.1,
# numpy 1.21 and numba 0.49, which cannot install on Python 3.11. We install
# magenta *without* its dependencies and pin current packages next to it
# (requirements.txt). Idempotent: when requirements.txt and setup.py are
# unchanged since the last successful run it returns in well under a second.
#
# Usage: scripts/install.sh [--force] [--system] [--beam]
#   --force              reinstall even if nothing changed
#   --system             install into the running python3 itself, no venv (Colab)
#   --beam               make the Apache Beam environment of `bgmaker convert --beam` instead:
#                        requirements.txt with requirements-beam.txt's pins (Beam cannot share the
#                        main venv; that file says which pins conflict), in <repo>/.venv-beam
#   BGMAKER_VENV=/path   use another venv location (default: <repo>/.venv)
#   BGMAKER_BEAM_VENV=/path  the Beam environment's location (default: <repo>/.venv-beam)
#   BGMAKER_PYTHON=bin   interpreter to create it with (default: python3.11 or python3)
set -euo pipefail

force=0 system=0 beam=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;;
    --force) force=1 ;;
    --system) system=1 ;;
    --beam) beam=1 ;;
    *) echo "install.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
beam_pins=""
if [ "$beam" = 1 ]; then
  [ "$system" = 0 ] || { echo "install.sh: --beam makes its own venv; it does not go with --system" >&2; exit 2; }
  BGMAKER_VENV="${BGMAKER_BEAM_VENV:-$repo/.venv-beam}"
  beam_pins="$repo/requirements-beam.txt"
fi
if [ "$system" = 1 ]; then
  py="${BGMAKER_PYTHON:-$(command -v python3)}"
  venv="$("$py" -c 'import sys; print(sys.prefix)')"
  stamp="${XDG_CACHE_HOME:-$HOME/.cache}/bgmaker-install-stamp"
  mkdir -p "$(dirname "$stamp")"
else
  venv="${BGMAKER_VENV:-$repo/.venv}"
  stamp="$venv/.bgmaker-install-stamp"
  py=""
fi
python="${py:-$venv/bin/python}"
want="$(cat "$repo/requirements.txt" "$repo/setup.py" $beam_pins | sha256sum | cut -d' ' -f1)"

# Optional system packages for `bgmaker generate`'s WAVs: fluidsynth and a small General MIDI
# soundfont (without them the WAVs come from a built-in synth). Tried once per venv, only as root
# with apt-get, and never fatal.
maybe_install_fluidsynth() {
  command -v fluidsynth >/dev/null 2>&1 && compgen -G "/usr/share/sounds/sf2/*.sf2" >/dev/null && return 0
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; } || return 0
  [ -f "$stamp.apt-tried" ] && return 0
  echo "install.sh: installing fluidsynth and timgm6mb-soundfont for WAV rendering (optional)" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fluidsynth timgm6mb-soundfont
  } >/dev/null 2>&1 || echo "install.sh: could not install fluidsynth; WAVs will use the built-in synth" >&2
  touch "$stamp.apt-tried" 2>/dev/null || true
}

if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -x "$python" ]; then
  maybe_install_fluidsynth
  exit 0
fi

py="${py:-${BGMAKER_PYTHON:-$(command -v python3.11 || command -v python3)}}"
"$py" - <<'PY' || { echo "install.sh: BGMaker needs Python >= 3.11 (numpy 2.4, scipy, matplotlib and music21 as pinned) (found $("$py" -V 2>&1) at $py)" >&2; exit 1; }
import sys; sys.exit(sys.version_info < (3, 11))
PY

start=$(date +%s)
echo "install.sh: setting up $venv (first run downloads ~600 MB, takes a few minutes)" >&2
[ "$system" = 1 ] || [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip

pins="$(mktemp)"; trap 'rm -f "$pins"' EXIT
grep -vE '^\s*(#|$)|^magenta==' "$repo/requirements.txt" > "$pins"
if [ -n "$beam_pins" ]; then
  # requirements.txt, with the Beam file's pins replacing the packages they name
  names="$(grep -vE '^\s*(#|$)' "$beam_pins" | sed -E 's/[=<>!~ ].*//' | paste -sd'|')"
  grep -viE "^($names)==" "$pins" > "$pins.main" || true
  cat "$pins.main" <(grep -vE '^\s*(#|$)' "$beam_pins") > "$pins"; rm -f "$pins.main"
fi
magenta_pin="$(grep -E '^magenta==' "$repo/requirements.txt")"

# 1. current, mutually compatible pins (with their dependencies)
"${pip[@]}" install -r "$pins"
# 2. magenta itself, ignoring its obsolete pins
"${pip[@]}" install --no-deps "$magenta_pin"
# 3. BGMaker, editable; its console scripts replace magenta's music_vae_train,
#    music_vae_generate and convert_dir_to_note_sequences with wrappers that
#    register our configs first (bgmaker/magenta_apps.py).
"${pip[@]}" install --no-deps -e "$repo"

# Fail here, not later in a test, if pip left the environment inconsistent.
"$python" -c "import magenta, tensorflow, tf_keras, note_seq, bgmaker$([ "$beam" = 1 ] && echo ', apache_beam')" \
  || { echo "install.sh: the venv at $venv does not import BGMaker's dependencies" >&2; exit 1; }

maybe_install_fluidsynth
echo "$want" > "$stamp"
echo "install.sh: done in $(( $(date +%s) - start )) s; venv size $(du -sh "$venv" | cut -f1)" >&2
