#!/usr/bin/env bash
# Generate 4-bar drum beats with BGMaker, or with Magenta's stock music_vae_generate.
#
# Usage:
#   scripts/generate.sh MODE [options]     bgmaker generate: MIDI + WAV + PNG per beat
#       MODE: sample | interpolate | reconstruct | variations | render
#       e.g. scripts/generate.sh sample --run v2_rock_beat --num 8 --bpm 100
#            scripts/generate.sh interpolate a.mid b.mid --run v2_rock_beat   (also a 32-bar file)
#       options: scripts/generate.sh MODE --help
#   scripts/generate.sh magenta [flags]    Magenta's music_vae_generate, every one of its flags
#   scripts/generate.sh --flag=value ...   the same (a first argument starting with -- is Magenta's)
#       e.g. scripts/generate.sh --config=hierdec-drum_4bar --checkpoint_file=runs/v2_rock_beat/train
#              --mode=sample --num_outputs=5 --output_dir=/tmp/out
#       (our configs are registered; the recorded hparams.txt is read, or pass --hparams=...)
#
# Creates or refreshes the venv first (scripts/install.sh, instant when nothing changed).
set -euo pipefail
case "${1:-}" in -h|--help|"") awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; [ -n "${1:-}" ]; exit $? ;; esac
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
case "$1" in
  magenta) shift; exec music_vae_generate "$@" ;;
  --*)     exec music_vae_generate "$@" ;;
  *)       exec bgmaker generate "$@" ;;
esac
