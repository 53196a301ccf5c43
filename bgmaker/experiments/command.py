"""Regenerate the naive reconstruction experiments table (issue #14): the project's first autoencoders, in Keras.

  python -m bgmaker.experiments          # the committed table: experiments/README.md, results.json, plots (~30 CPU-min)
  python -m bgmaker.experiments --quick  # smoke test into out/experiments-quick
  python -m bgmaker.experiments --only 02,03 --data drums

Trains each model (and its fixes) on Bach chorale piano rolls and v2_rock_beat drum grids, scores them on test
beside floors and MusicVAE's committed figures (bgmaker.experiments.table). These are the experiments' own flags
and entry point; `bgmaker experiments` parses the same flags and calls the same `main`.
"""
import os

from bgmaker.errors import UserError
from bgmaker.experiments.networks import EXPERIMENTS

PROG = "bgmaker experiments"  # the name its errors carry, however it was started
ACCEPTS_EXTRA_ARGS = False
QUIET = False  # the training prints its per-epoch progress
DEFAULT_OUTPUT = "experiments"
ROWS = tuple(EXPERIMENTS)  # the registry is plain data: naming its rows loads no Keras


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tiny subsets, 1 epoch each, written to out/experiments-quick by default")
    parser.add_argument("--only", help="comma-separated rows (default: all): " + ", ".join(ROWS))
    parser.add_argument("--data", default="piano,drums",
                        help="comma-separated datasets: piano (Bach chorales), drums (v2_rock_beat), or a folder "
                             "of your own MIDI files (default: piano,drums)")
    parser.add_argument("--output-dir", help=f"default: {DEFAULT_OUTPUT}/ (the committed table)")
    parser.add_argument("--seed", type=int, default=0)


def main(args):
    """Check the flags, then train, score and write the table; return the exit status."""
    only = args.only.split(",") if args.only else None
    unknown = [n for n in only or [] if n not in ROWS]
    if unknown:
        raise UserError(f"unknown row(s) {', '.join(unknown)}; known: {', '.join(ROWS)}")
    datasets = [d for d in args.data.split(",") if d]
    for d in datasets:
        if d not in ("piano", "drums") and not os.path.isdir(d):
            raise UserError(f"--data {d}: not 'piano', 'drums' or a folder")
    output = args.output_dir or ("out/experiments-quick" if args.quick else DEFAULT_OUTPUT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bgmaker.experiments.table import run
    run(output, datasets=datasets, only=only, quick=args.quick, seed=args.seed)
    return 0
