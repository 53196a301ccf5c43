"""Evaluate a trained run on GMD's held-out windows; compare evaluated runs in one table.

  bgmaker evaluate --run v2_rock_beat                      # latest checkpoint, test split
  bgmaker evaluate --run v2_rock_beat --split validation --checkpoint runs/v2_rock_beat/train/model.ckpt-1500
  bgmaker evaluate --run v2_rock_beat --max-windows 200 --samples 64   # a quick look
  bgmaker evaluate --compare v1_all v2_rock_beat runs/other/evaluation/test-model.ckpt-900

Writes evaluation.json, evaluation.md and plots into
<run dir>/evaluation/<split>-<checkpoint>/ (or --output-dir). With
--compare, prints a Markdown table with one row per model (the run just
evaluated first), from each one's latest evaluation on the split, and
writes it as comparison.md next to the new evaluation (or into --output-dir).
"""
import argparse
from pathlib import Path

from bgmaker.cli import UserError

DEFAULTS = dict(samples=256, interpolations=32, interpolation_steps=9, temperature=1.0,
                interpolation_temperature=0.5, batch_size=64, seed=0)


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines
    parser.add_argument("--run", help="named run (see `bgmaker runs`) or model config to evaluate")
    parser.add_argument("--checkpoint", help="checkpoint path or folder (default: the run's latest)")
    parser.add_argument("--split", default="test", choices=("test", "validation", "train"),
                        help="GMD split to evaluate on (default: test; use validation for model selection)")
    parser.add_argument("--examples", help="NoteSequence TFRecord to evaluate on (default: the run's split file)")
    parser.add_argument("--output-dir", help="where to write the report (default: <run dir>/evaluation/...)")
    parser.add_argument("--compare", nargs="+", metavar="RUN_OR_DIR",
                        help="also tabulate these evaluated runs / evaluation dirs / evaluation.json files")
    parser.add_argument("--max-windows", type=int, help="evaluate a random subset of at most this many windows")
    parser.add_argument("--samples", type=int, default=DEFAULTS["samples"],
                        help="prior samples for the feature comparison (default: %(default)s)")
    parser.add_argument("--interpolations", type=int, default=DEFAULTS["interpolations"],
                        help="pairs of windows to interpolate between (default: %(default)s)")
    parser.add_argument("--interpolation-steps", type=int, default=DEFAULTS["interpolation_steps"],
                        help="points per interpolation, ends included (default: %(default)s)")
    parser.add_argument("--temperature", type=float, default=DEFAULTS["temperature"],
                        help="sampling temperature of the prior samples (default: %(default)s)")
    parser.add_argument("--interpolation-temperature", type=float, default=DEFAULTS["interpolation_temperature"],
                        help="decoding temperature of interpolations (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="(default: %(default)s)")


def main(args):
    if not args.run and not args.compare:
        raise UserError("give --run NAME to evaluate, or --compare RUN_OR_DIR ... to tabulate evaluations")
    for name in ("max_windows", "samples", "interpolations", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < (1 if name in ("max_windows", "batch_size") else 0):
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if args.interpolation_steps < 2:
        raise UserError("--interpolation-steps must be at least 2")

    from bgmaker import evaluate  # numpy/matplotlib only; TensorFlow loads when a model is evaluated

    sources, out_dir = [], Path(args.output_dir) if args.output_dir else None
    if args.run:
        report = evaluate.evaluate(
            args.run, args.checkpoint, args.split, examples_path=args.examples, output_dir=args.output_dir,
            n_samples=args.samples, n_interpolations=args.interpolations,
            interpolation_steps=args.interpolation_steps, temperature=args.temperature,
            interpolation_temperature=args.interpolation_temperature, max_windows=args.max_windows,
            batch_size=args.batch_size, seed=args.seed, log=lambda m: print(m, flush=True))
        report_dir = Path(report["output_dir"])
        sources.append(report_dir / "evaluation.json")
        out_dir = out_dir or report_dir
        print()
        print(evaluate.comparison_table([report["summary"]]))
    if args.compare:
        table = evaluate.compare(sources + list(args.compare), split=args.split)
        print(table)
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "comparison.md").write_text(table)
            print(f"wrote {out_dir / 'comparison.md'}")
    return 0
