"""Fit a model's latent priors and attribute vectors beside its weights, or list them.

  bgmaker priors --run v1_all                 # the run's model (models/v1_all): fit on the run's train windows
  bgmaker priors --run v2_rock_beat --list    # the priors and attribute vectors a model has
  bgmaker priors --run v1_all --checkpoint runs/v1_all/train   # a training checkpoint: written beside it

What `generate sample --prior / --style` draws from and `--more` pushes along
(bgmaker.generation.priors): the encoder means of the run's train windows,
one Gaussian for all of them ("run"), one per GMD style with enough windows,
one for beats and one for fills, each with its covariance's rank chosen on
the validation windows; a tied mixture of 64 clusters of them all
("clusters"; the style priors' clusters are chosen on validation); and one
vector per attribute (density, cymbals, syncopation, kick, fill). Written
into the model's folder as priors.npz (float16, ~1 MB) and priors.json (window counts, data checksums, the
validation figures). Then evaluates them (bgmaker.evaluation.priors: style
control, the default prior chosen on validation, attribute response curves)
into priors_evaluation.md / .json / .png beside them; --no-evaluate skips it.
Needs the run's converted data: scripts/convert_gmd.sh.
"""
import time
from pathlib import Path

from bgmaker.errors import UserError

ACCEPTS_EXTRA_ARGS = False


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="named run whose model and data to use (bgmaker runs)")
    parser.add_argument("--checkpoint", help="checkpoint prefix or folder (default: the run's model, as generate "
                                             "picks it)")
    parser.add_argument("--list", action="store_true", help="show the model's priors and attributes; fit nothing")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite priors_evaluation.md/.png and its gate from priors_evaluation.json; fit nothing")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="fit only: no style control, default-prior choice or attribute curves (minutes)")
    parser.add_argument("--min-windows", type=int, default=None,
                        help="train windows a style needs for a prior of its own (default: 100)")
    parser.add_argument("--output-dir", help="where to write priors.npz / priors.json (default: the checkpoint's "
                                             "folder, e.g. models/RUN, the one place generate reads them from)")


def describe(latent):
    """Lines that show a LatentMap: its priors with their windows and ranks, its attributes, its default."""
    lines = [f"priors (default: {latent.default_prior}):", "  normal: N(0, I)"]
    for name, p in latent.priors.items():
        tied = f", a tied mixture of {p.clusters} clusters" if p.clusters > 1 else ""
        lines.append(f"  {name}: {p.windows} train windows, rank {p.rank}, residual std {p.noise:.3f}{tied}")
    parts = latent.mixture_parts()
    if parts:
        lines.append(f"  mixture: {', '.join(n for n, _ in parts)}, weighted by their train windows")
    few = latent.info.get("too_few_windows") or {}
    if few:
        lines.append("  too few windows for a prior: " + ", ".join(f"{k} ({v})" for k, v in few.items()))
    if latent.critic is not None:
        lines.append("styles steered by the latent style critic, best of N candidates per sample: "
                     + ", ".join(f"{n} {latent.draws_of(n)}" for n in latent.critic.names))
    lines.append("attributes (--more NAME=AMOUNT): " + (", ".join(latent.attributes) or "none"))
    return lines


def main(args):
    from bgmaker import paths
    from bgmaker.generation import priors

    if args.min_windows is not None and args.min_windows < 2:
        raise UserError(f"--min-windows must be at least 2, got {args.min_windows}")
    import bgmaker_configs
    run = bgmaker_configs.get_run(args.run)  # UnknownNameError lists the runs
    if args.report_only:
        from bgmaker import models
        from bgmaker.evaluation import priors as evaluation
        folder = Path(args.output_dir or Path(models.locate(args.run, args.checkpoint).checkpoint).parent)
        if not (folder / f"{evaluation.REPORT}.json").is_file():
            raise UserError(f"{paths.as_typed(folder)} has no {evaluation.REPORT}.json; run: bgmaker priors --run {args.run}")
        for g in evaluation.rewrite(folder)["gate"]:
            print(f"  {'PASS' if g['passed'] else 'FAIL'}: {g['line']}")
        return 0
    if args.list:
        from bgmaker import models
        folder = Path(args.output_dir or Path(models.locate(args.run, args.checkpoint).checkpoint).parent)
        latent = priors.LatentMap.load(folder)
        if latent is None:
            raise UserError(f"{paths.as_typed(folder)} has no priors; fit them with: bgmaker priors --run {args.run}")
        print("\n".join(describe(latent)))
        return 0
    from bgmaker.evaluation import priors as evaluation
    started = time.perf_counter()
    try:
        latent, report, written = evaluation.fit_and_evaluate(
            run, args.checkpoint, args.output_dir, args.evaluate, args.min_windows, log=lambda m: print(m, flush=True))
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    for g in (report or {}).get("gate", []):
        print(f"  {'PASS' if g['passed'] else 'FAIL'}: {g['line']}")
    print("\n".join(describe(latent)))
    print(f"wrote {', '.join(paths.as_typed(p) for p in written)} in {time.perf_counter() - started:.0f} s")
    return 0
