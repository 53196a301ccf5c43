"""The naive reconstruction experiments (issue #14): the early models, reproduced in Keras, fixed, and set
beside MusicVAE in one table.

The folders are the data flow: `data` (piano rolls from music21's Bach chorales or a MIDI folder, drum
grids of v2_rock_beat) -> `models` (the registry EXPERIMENTS, parameter counts) -> `train` (one seeded
loop) -> `scores` (plain numpy metrics) -> `table` (run everything, floors, MusicVAE's committed figures)
-> `report` / `plots` (experiments/README.md and its pictures).

`main(argv)` is the command; importing this package imports no TensorFlow.
"""
import argparse
import os
import sys

DEFAULT_OUTPUT = "experiments"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bgmaker.experiments",
        description="Train the naive reconstruction models (and their fixes) on Bach chorale piano rolls and "
                    "v2_rock_beat drum grids, score them on test beside floors and MusicVAE, write the table.")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tiny subsets, 1 epoch each, written to out/experiments-quick by default")
    parser.add_argument("--only", help="comma-separated rows (default: all): " + ", ".join(_names()))
    parser.add_argument("--data", default="piano,drums",
                        help="comma-separated datasets: piano (Bach chorales), drums (v2_rock_beat), or a folder "
                             "of your own MIDI files (default: piano,drums)")
    parser.add_argument("--output-dir", help=f"default: {DEFAULT_OUTPUT}/ (the committed table)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    unknown = [n for n in only or [] if n not in _names()]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; known: {', '.join(_names())}")
    datasets = [d for d in args.data.split(",") if d]
    for d in datasets:
        if d not in ("piano", "drums") and not os.path.isdir(d):
            parser.error(f"--data {d}: not 'piano', 'drums' or a folder")
    output = args.output_dir or ("out/experiments-quick" if args.quick else DEFAULT_OUTPUT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bgmaker.experiments.table import run
    run(output, datasets=datasets, only=only, quick=args.quick, seed=args.seed)
    return 0


def _names():
    # the registry without TensorFlow: the names are fixed data
    return ["01", "02", "03", "04", "04.3", "05", "01-fix", "03-fix", "04.3-fix"]


if __name__ == "__main__":
    sys.exit(main())
