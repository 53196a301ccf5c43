"""Evaluate a trained run on GMD's unseen performances; compare evaluated runs in one table.

  bgmaker evaluate --run v2_rock_beat                      # the run's model (as generate picks it), test split
  bgmaker evaluate --run v2_rock_beat --quick --checkpoint runs/v2_rock_beat/train/model.ckpt-1500
                                                           # validation mode: choose a checkpoint, minutes
  bgmaker evaluate --run v2_rock_beat --checkpoint models/v2_rock_beat --output-dir models/v2_rock_beat \\
      --no-plots                                           # the shipped model's committed report
  bgmaker evaluate --compare v1_all v2_rock_beat runs/other/evaluation/test-model.ckpt-900
  bgmaker evaluate --check models/v2_rock_beat             # does this install reproduce the shipped figures?

Writes evaluation.json, evaluation.md and plots into
<run dir>/evaluation/<split>-<checkpoint>/ (for a shipped model:
runs/<run>/evaluation/<split>-shipped-<checkpoint>/; or --output-dir). Every figure
comes with its floor and ceiling; the same --seed gives the same report.
--quick is the validation mode (bgmaker.evaluation.evaluate.validate): the validation
split unless --split says otherwise, a subset of windows, fewer samples, no
plots. With --compare, prints a Markdown table with one row per model (the
run just evaluated first), from each one's latest evaluation on the split,
and writes it as comparison.md next to the new evaluation (or into --output-dir).
"""
import argparse
from pathlib import Path

from bgmaker.errors import UserError
from bgmaker.generation.generator import DEFAULT_TEMPERATURE  # numpy only: --help stays instant
from bgmaker.generation.refine import DEFAULT_STEPS as REFINE_STEPS

DEFAULTS = dict(samples=256, interpolations=32, interpolation_steps=9, temperature=DEFAULT_TEMPERATURE,
                interpolation_temperature=DEFAULT_TEMPERATURE, batch_size=64, seed=0, refine_steps=REFINE_STEPS,
                lstm_precision="fp32")
QUICK_FLAGS = ("max_windows", "samples", "interpolations", "refine_steps")  # what --quick sets (bgmaker.evaluation.evaluate.QUICK)


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines
    parser.add_argument("--run", help="named run (see `bgmaker runs`) or model config to evaluate")
    parser.add_argument("--checkpoint", help="checkpoint path or folder (default: the run's latest)")
    parser.add_argument("--split", choices=("test", "validation", "train"),
                        help="GMD split to evaluate on (default: test; with --quick: validation)")
    parser.add_argument("--quick", action="store_true",
                        help="validation mode, to choose a checkpoint: a subset of windows, fewer samples and "
                             "interpolations, no plots (a few minutes)")
    parser.add_argument("--examples", help="NoteSequence TFRecord to evaluate on (default: the run's split file)")
    parser.add_argument("--reference", help="real windows of other performances for the real-vs-real "
                                            "references (default: the run's train split; none: leave them out)")
    parser.add_argument("--lstm-precision", choices=("auto", "fp32", "fp32-matmul", "bf16"),
                        default=DEFAULTS["lstm_precision"],
                        help="how the LSTM matmuls run (default: %(default)s on every CPU, so that a report is the "
                             "same on any machine up to rounding; auto: bf16 on CPUs with hardware bf16)")
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="write no PNG plots")
    parser.add_argument("--no-novelty", dest="novelty", action="store_false",
                        help="leave out the samples' distance to their nearest train window (reads the whole "
                             "train split)")
    parser.add_argument("--output-dir", help="where to write the report (default: <run dir>/evaluation/...)")
    parser.add_argument("--compare", nargs="+", metavar="RUN_OR_DIR",
                        help="also tabulate these evaluated runs / evaluation dirs / evaluation.json files")
    parser.add_argument("--check", metavar="MODEL_DIR",
                        help="re-run a shipped model's small seeded evaluation (bgmaker.evaluation.check) and "
                             "compare it with the figures recorded in MODEL_DIR/check.json; exit 1 if off")
    parser.add_argument("--record", action="store_true", help="with --check: (re)write MODEL_DIR/check.json")
    parser.add_argument("--max-windows", type=int, help="evaluate a random subset of at most this many windows")
    parser.add_argument("--samples", type=int, default=DEFAULTS["samples"],
                        help="prior samples for the feature comparison (default: %(default)s)")
    parser.add_argument("--interpolations", type=int, default=DEFAULTS["interpolations"],
                        help="pairs of windows to interpolate between (default: %(default)s)")
    parser.add_argument("--interpolation-steps", type=int, default=DEFAULTS["interpolation_steps"],
                        help="points per interpolation, ends included (default: %(default)s)")
    parser.add_argument("--temperature", type=float, default=DEFAULTS["temperature"],
                        help="sampling temperature of the prior samples, `bgmaker generate`'s default; they are "
                             "scored at 1.0 too (default: %(default)s)")
    parser.add_argument("--interpolation-temperature", type=float, default=DEFAULTS["interpolation_temperature"],
                        help="decoding temperature of interpolations (default: %(default)s)")
    parser.add_argument("--refine-steps", type=int, default=DEFAULTS["refine_steps"],
                        help="refinement steps of the refined reconstructions, interpolations and variations, "
                             "as generate refines a user's beat (default: %(default)s; 0: encoder means only)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="(default: %(default)s)")


def main(args):
    if args.check:
        if args.run or args.compare:
            raise UserError("--check MODEL_DIR evaluates that model alone; leave out --run and --compare")
        return check(args.check, args.record)
    if args.record:
        raise UserError("--record goes with --check MODEL_DIR")
    if not args.run and not args.compare:
        raise UserError("give --run NAME to evaluate, or --compare RUN_OR_DIR ... to tabulate evaluations")
    if args.max_windows is not None and args.max_windows < 2:
        raise UserError(f"--max-windows must be at least 2, got {args.max_windows}")
    if args.samples < 2:
        raise UserError(f"--samples must be at least 2, got {args.samples}")
    if args.interpolations < 0:
        raise UserError(f"--interpolations must be 0 or more, got {args.interpolations}")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {args.batch_size}")
    if args.interpolation_steps < 2:
        raise UserError("--interpolation-steps must be at least 2")
    if args.refine_steps < 0:
        raise UserError(f"--refine-steps must be 0 or more, got {args.refine_steps}")
    if args.quick:
        changed = [f for f in QUICK_FLAGS if getattr(args, f) != DEFAULTS.get(f)]
        if changed:
            raise UserError(f"--quick sets --{changed[0].replace('_', '-')} itself; leave it out, "
                            "or leave out --quick")
    split = args.split or ("validation" if args.quick else "test")
    if args.run and not args.compare:
        import bgmaker_configs
        if args.run in bgmaker_configs.RUNS and bgmaker_configs.get_run(args.run).humanizes:
            return evaluate_humanizer(args, split)

    from bgmaker.evaluation import comparison, evaluate  # numpy/scipy only; TensorFlow loads when a model is evaluated

    sources, out_dir = [], Path(args.output_dir) if args.output_dir else None
    if args.run:
        log = lambda m: print(m, flush=True)  # noqa: E731
        settings = dict(examples_path=args.examples, reference_path=args.reference,
                        interpolation_steps=args.interpolation_steps, temperature=args.temperature,
                        interpolation_temperature=args.interpolation_temperature, batch_size=args.batch_size,
                        seed=args.seed, lstm_precision=args.lstm_precision, log=log)
        if args.quick:
            checkpoint = evaluate.find_checkpoint(evaluate.resolve_run(args.run), args.checkpoint)
            report_dir = Path(args.output_dir or evaluate.default_output_dir(checkpoint, f"{split}-quick"))
            summary = evaluate.validate(args.run, checkpoint, split=split, output_dir=report_dir, **settings)
        else:
            report = evaluate.evaluate(args.run, args.checkpoint, split, output_dir=args.output_dir,
                                       n_samples=args.samples, n_interpolations=args.interpolations,
                                       max_windows=args.max_windows, plots=args.plots, novelty=args.novelty,
                                       refine_steps=args.refine_steps, **settings)
            summary, report_dir = report["summary"], evaluate.report_dir(report)
        sources.append(report_dir / "evaluation.json")
        out_dir = out_dir or report_dir
        print()
        print(comparison.comparison_table([summary]))
    if args.compare:
        table = comparison.compare(sources + list(args.compare), split=split)
        print(table)
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "comparison.md").write_text(table)
            print(f"wrote {out_dir / 'comparison.md'}")
    return 0


def evaluate_humanizer(args, split):
    """--run humanize: the GrooVAE, the template and the floor on the split (bgmaker.humanize.evaluate)."""
    from bgmaker import humanize, models
    from bgmaker.humanize import evaluate
    from bgmaker.models import records
    choice = models.locate(args.run, args.checkpoint)
    print(f"model: {choice.why}", flush=True)
    out = Path(args.output_dir) if args.output_dir else Path(choice.checkpoint).parent / "evaluation" / split
    if Path(choice.checkpoint).parent.resolve() == humanize.shipped_dir().resolve() and not args.output_dir:
        out = records.run_dir(args.run) / "evaluation" / f"{split}-shipped"
    report = evaluate.evaluate(choice.checkpoint, humanize.load("template"), split, seed=args.seed, output_dir=out,
                               log=lambda m: print(m, flush=True))
    print((out / "evaluation.md").read_text())
    print(f"wrote {out / 'evaluation.json'} and evaluation.md")
    return 0 if report else 1


def check(model_dir, record):
    """--check: the shipped model's fingerprint (bgmaker.evaluation.check), recorded or compared."""
    from bgmaker.evaluation import check as fingerprint
    from bgmaker.models import records
    if not records.has_record(model_dir):
        raise UserError(f"--check {model_dir}: not a shipped model folder (no {records.RUN_RECORD})")
    if record:
        try:
            figures = fingerprint.record(model_dir)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        print(f"wrote {Path(model_dir) / fingerprint.CHECK_FILE}: "
              + ", ".join(f"{k} {v:.4f}" for k, v in figures.items() if v is not None))
        return 0
    try:
        off = fingerprint.differences(model_dir)
    except (FileNotFoundError, fingerprint.CheckFileError) as e:
        raise UserError(str(e)) from None
    if off:
        for key, want, got in off:
            print(f"{key}: recorded {want}, measured {got}")
        print(f"{model_dir}: {len(off)} figure(s) differ from {fingerprint.CHECK_FILE} by more than "
              f"{fingerprint.TOLERANCE}")
        return 1
    print(f"{model_dir}: the small seeded evaluation matches {fingerprint.CHECK_FILE} "
          f"(within {fingerprint.TOLERANCE})")
    return 0
