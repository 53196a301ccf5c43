"""Save a run's checkpoint as a small, weights-only model folder to ship or share (models/<run>).

The export itself is bgmaker.models.export; this module parses arguments and prints.
"""
from pathlib import Path

from bgmaker.models.export import WEIGHTS, export

ACCEPTS_EXTRA_ARGS = False


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="named run whose checkpoint to export")
    parser.add_argument("--checkpoint", default=None, help="checkpoint prefix or folder (default: latest of the run)")
    parser.add_argument("--output", default=None,
                        help="output folder (default: $BGMAKER_MODELS_DIR/<run>, i.e. models/<run>); an existing "
                             "folder is replaced only if it holds an exported model")
    parser.add_argument("--weights", choices=WEIGHTS, default="fp32",
                        help="fp16: round every weight to float16 precision, still stored as float32 so any "
                             "Magenta loader reads it; git packs it ~37%% smaller and nearly every beat stays the same "
                             "(reports/fp16.md). Default: fp32, exactly as trained")


def main(args):
    from bgmaker.models import records
    from bgmaker_configs import get_run
    run = get_run(args.run)
    out = Path(args.output) if args.output else run.shipped_dir  # $BGMAKER_MODELS_DIR/<run>
    prefix = export(run.name, args.checkpoint or str(records.train_dir(run.run_dir)), out, run_dir=run.run_dir,
                    weights=args.weights)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"exported {prefix} ({size:.1f} MB, weights only, {args.weights})")
    return 0
