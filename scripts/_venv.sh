# Sourced by the scripts: make sure the venv exists (scripts/install.sh is a
# no-op when nothing changed) and put it first on PATH.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BGMAKER_VENV:-$repo/.venv}"
bash "$repo/scripts/install.sh" || { echo "$(basename "$0"): installing the venv failed (see above)" >&2; exit 1; }
export PATH="$venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"  # hide TensorFlow's CUDA/CPU-feature banners
