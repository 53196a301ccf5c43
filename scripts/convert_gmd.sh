#!/usr/bin/env bash
# Convert the Groove MIDI Dataset (a folder or its zip) into NoteSequence
# TFRecords for BGMaker's named runs, one per official split, plus a data
# report (data/<run>/report.md).
#
# Usage: scripts/convert_gmd.sh [--run NAME]... [--gmd DIR|ZIP] [selection...] [--output-dir DIR]
#   no arguments           convert every named run (v1_all, v2_rock_beat) from $BGMAKER_GMD_DIR
#                          (default ../shared/data/groove beside the checkout)
#   --run NAME             only this run (repeatable)
#   --gmd DIR|ZIP          the GMD folder or groove-v1.0.0-midionly.zip, or any folder of MIDI
#   --style S --beat-type B --time-signature 4-4 --bpm 90-130 --drummer D --session S --split S
#                          select performances (with --run: replaces the run's own value;
#                          without --run: a custom selection, needs --output-dir)
#   --whole-files          store whole performances (Magenta's stock 5-random-slice converter)
#                          instead of every distinct 4-bar window
# Plain folder -> one TFRecord with Magenta's own tool, all flags intact:
#   convert_dir_to_note_sequences --input_dir=DIR --output_file=FILE --recursive
set -euo pipefail
case "${1:-}" in -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;; esac
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec bgmaker convert "$@"
