#!/usr/bin/env bash
# Train a named BGMaker run with Magenta's music_vae_train.
#
# Usage: scripts/train.sh --run NAME [--mode train|eval] [--recipe R] [--config MODEL] [--precision P]
#                         [--init-from MODEL] [--midi DIR]
#                         [--cpu-hours H] [--milestone-every MIN] [music_vae_train flags...]
#   --run NAME     a named run: v1_all, v2_rock_beat (list them: .venv/bin/bgmaker runs)
#   --mode eval    Magenta's eval job on the validation split (TensorBoard summaries in runs/NAME/eval)
#   --recipe R     how to train (bgmaker_configs/recipes.py: stock, windows-b64, windows-b512, ...)
#   --config MODEL train the run's data with another model, e.g. cat-drums_4bar (the flat baseline)
#   --precision P  LSTM matmul precision: auto (default: bf16 only on AMX/AVX512-BF16 CPUs), fp32, bf16
#   --init-from M  start a new run from model M's weights (models/NAME, a run name or a checkpoint)
#   --midi DIR     train run NAME on your own MIDI folder (windowed like GMD), e.g. to fine-tune:
#                  scripts/train.sh --run mine --midi ~/grooves --init-from models/v2_rock_beat --cpu-hours 2
#   --cpu-hours H  stop once the run has used H CPU-hours in all (restarts included)
#   --milestone-every MIN   keep the weights every MIN CPU-minutes in runs/NAME/milestones (default 60)
#   other flags    go to music_vae_train, e.g. --num_steps=2000 --hparams=batch_size=64
# Needs the run's data first: scripts/convert_gmd.sh --run NAME
# Checkpoints and summaries: runs/NAME/train (tensorboard --logdir runs/NAME).
# Restarting resumes from the last checkpoint; a NaN/Inf loss stops with exit code 3.
set -euo pipefail
case "${1:-}" in -h|--help|"") awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; [ -n "${1:-}" ]; exit $? ;; esac
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec bgmaker train "$@"
