"""Can any decoding setting make the default prior beat N(0, I) by the issue's 0.05 margin? With the test's noise.

  .venv/bin/python reports/default_prior_margin.py [--runs v1_all v2_rock_beat] [--seeds 3]
  .venv/bin/python reports/default_prior_margin.py --report-only

The issue "Steer the beats" asks the default prior to beat N(0, I) sampling on
the classifier two-sample test by at least 0.05 (models/RUN/priors_evaluation.md
measures it once, at generate's temperature 0.5: v1_all 0.038 short of it on
test, v2_rock_beat 0.025). Two questions that report cannot answer:

1. How noisy is one measurement? Each row here is drawn `--seeds` times
   (the samples' seed and the classifier's folds both change), SAMPLES samples
   each, and shows the mean and the standard deviation over the draws.
2. Does another setting of the sampler move the margin? For the shipped
   default prior and `clusters` (the tied mixture; the default until the
   evaluation drew three times and found it copying): the decoder's
   temperature (reports/temperature.md chose 0.5 for N(0, I); a prior fitted to
   where the encoder puts real windows may want another), and the prior's
   spread scaled by 0.75 (a truncation: fewer codes far from the windows'
   codes), against N(0, I) at the same temperatures.

The floor: real train windows taken as the samples (what no sampler should
beat: a sampler scoring below it is near-copying the train windows). Settings
are compared on validation; test is reported beside. Writes
reports/default_prior_margin.json and .md; about 3 CPU-minutes per model.
"""
import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "reports"
TEMPERATURES = (0.5, 0.7, 1.0)
SCALES = (1.0, 0.75)
FLOOR = "real train windows (floor)"


def scaled(prior, scale):
    """The prior with its spread around its mean (or centres) times `scale`."""
    if scale == 1.0:
        return prior
    return dataclasses.replace(prior, components=prior.components * scale, noise=prior.noise * scale,
                               posterior_var=None if prior.posterior_var is None else prior.posterior_var * scale ** 2)


def measure_run(run_name, seeds):
    from bgmaker.data.windows import performance_of, read_windows
    from bgmaker.evaluation import priors as evaluation
    from bgmaker.generation import priors
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.metrics.structure import bar_repetition
    from bgmaker_configs.runs import get_run
    run = get_run(run_name)
    windows = {s: read_windows(run.examples_path(s))[0] for s in ("train", "validation", "test")}
    grids = {s: np.stack([w.grid for w in ws]) for s, ws in windows.items()}
    groups = {s: [performance_of(w.sequence) for w in ws] for s, ws in windows.items()}
    generator = BeatGenerator.load(run=run_name, batch_size=256)
    started = time.time()
    try:
        latent = priors.LatentMap.load(Path(generator.checkpoint).parent)
        default = latent.default_prior
        settings = [("normal", 1.0, t) for t in TEMPERATURES]
        swept = [default] + [p for p in (priors.CLUSTERS,) if p != default and p in latent.names()]
        settings += [(p, s, t) for p in swept for s in SCALES for t in TEMPERATURES]
        rows = {}
        for name, scale, temperature in settings + [(FLOOR, None, None)]:
            label = name if name == FLOOR else f"{name}, scale {scale:g}, temperature {temperature:g}"
            if name == FLOOR:
                draws = [grids["train"][np.random.default_rng(d).choice(len(grids["train"]), evaluation.SAMPLES,
                                                                         replace=False)] for d in range(seeds)]
            else:
                draws = [evaluation._grids(generator.decode(scaled(latent.prior(name), scale).sample(evaluation.SAMPLES, d),
                                                            temperature, d)) for d in range(seeds)]
            # the evaluation's figures of several draws (draw d: seed d, its own folds), kept per draw
            figures = {split: evaluation.mean_figures(draws, grids[split], groups[split], grids["train"], 0, split)
                       for split in ("validation", "test")}
            row = dict(prior=name, scale=scale, temperature=temperature,
                       **{split: f["classifier_draws"] for split, f in figures.items()})
            if name != FLOOR:  # of the samples alone: the same on either split
                row.update({k: figures["test"][k] for k in ("bar_repetition", "nearest_train_cells", "copies")})
            rows[label] = row
            print(f"  {run_name} {label}: validation {np.mean(row['validation']):.3f} ± "
                  f"{np.std(row['validation']):.3f}, test {np.mean(row['test']):.3f} ± {np.std(row['test']):.3f}",
                  flush=True)
        real_repetition = {s: float(bar_repetition(grids[s]).mean()) for s in ("validation", "test")}
        checkpoint = Path(generator.checkpoint).name
    finally:
        generator.close()
    return dict(run=run_name, checkpoint=checkpoint, default_prior=default, rows=rows,
                real_bar_repetition=real_repetition, seconds=round(time.time() - started, 1))


def summary(result):
    """(N(0, I) as generate samples it, the default as shipped, the setting of the swept priors the evaluation's
    rule picks from the means on validation (N(0, I) when every one copies), the lowest of those that copy nothing
    on validation, {split: margins of those three and of the floor below N(0, I)})."""
    from bgmaker.evaluation.priors import choose_default
    rows = result["rows"]
    mean = lambda label, split: float(np.mean(rows[label][split]))  # noqa: E731
    normal = "normal, scale 1, temperature 0.5"
    today = f"{result['default_prior']}, scale 1, temperature 0.5"
    own = {k: dict(classifier=mean(k, "validation"), copies=r["copies"], bar_repetition=r["bar_repetition"])
           for k, r in rows.items() if r["prior"] not in ("normal", FLOOR)}
    ruled = choose_default(own, result["real_bar_repetition"]["validation"])
    ruled = ruled if ruled in rows else normal  # choose_default's "normal": nothing fair
    lowest = min((k for k in own if own[k]["copies"] == 0), key=lambda k: own[k]["classifier"], default=today)
    return normal, today, ruled, lowest, {split: [mean(normal, split) - mean(k, split) for k in (today, ruled, lowest, FLOOR)]
                                          for split in ("validation", "test")}


def write(report):
    from bgmaker.evaluation.priors import TIE
    (OUT / "default_prior_margin.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# The default prior against N(0, I): the margin, its noise, and other decoding settings", "",
             f"Regenerate: `.venv/bin/python {report['command']}` (`--report-only` rewrites this file from the json).",
             "", f"Each row: {report['samples']} samples per draw, {report['seeds']} draws (the samples' seed and the "
             "classifier's folds change with the draw; scored by bgmaker.evaluation.priors.mean_figures, so the "
             "rows at scale 1 and temperature 0.5 are models/RUN/priors_evaluation.md's draws); the classifier "
             "two-sample accuracy against the split's real windows, mean ± standard deviation over the draws (0.5 = "
             "indistinguishable, lower is better). Scale: the prior's spread around its centres times it. Bar "
             "repetition and nearest train window (cells of 64 × 9): the draws' mean; copies: of all the draws' "
             "samples. The issue's gate: the default "
             "prior's accuracy at least 0.05 below N(0, I)'s (generate's temperature 0.5) with no copied train "
             "window. The floor: real train windows as the samples.", ""]
    for r in report["results"]:
        normal, today, ruled, lowest, margins = summary(r)
        lines += [f"## {r['run']} ({r['checkpoint']}; default prior `{r['default_prior']}`)", "",
                  "| sampler | validation | test | bar 3 = bar 1 | nearest train window | copies |",
                  "|---|---:|---:|---:|---:|---:|"]
        for label, row in r["rows"].items():
            cells = [f"{np.mean(row[s]):.3f} ± {np.std(row[s]):.3f}" for s in ("validation", "test")]
            extra = ([f"{row['bar_repetition']:.3f}", f"{row['nearest_train_cells']:.1f}", str(row["copies"])]
                     if "copies" in row else [f"{r['real_bar_repetition']['test']:.3f} (test)", "–", "–"])
            bold = "**" if label == ruled else ""
            lines.append(f"| {bold}{label}{bold} | " + " | ".join(cells + extra) + " |")
        lines += ["", f"- Margin over N(0, I) at temperature 0.5, as shipped ({today}): validation "
                  f"{margins['validation'][0]:+.3f}, test {margins['test'][0]:+.3f} (gate: ≥ +0.05).",
                  f"- The setting the evaluation's rule picks from these means (bgmaker.evaluation.priors."
                  f"choose_default: no copies, the lowest on validation, within {TIE} of it the bar repetition "
                  f"nearest the real windows'; bold): {ruled}: validation {margins['validation'][1]:+.3f}, test "
                  f"{margins['test'][1]:+.3f}.",
                  f"- The lowest on validation alone: {lowest}: validation {margins['validation'][2]:+.3f}, test "
                  f"{margins['test'][2]:+.3f}" + (f" (bar 3 = bar 1 {r['rows'][lowest]['bar_repetition']:.3f}, real validation "
                                                    f"windows {r['real_bar_repetition']['validation']:.3f})."
                                                    if lowest != ruled else "."),
                  f"- Room for any sampler: N(0, I) lies {margins['validation'][3]:+.3f} (validation) and "
                  f"{margins['test'][3]:+.3f} (test) above the floor.",
                  f"- Noise of one draw (the largest standard deviation in the table): "
                  f"{max(max(np.std(x['validation']), np.std(x['test'])) for x in r['rows'].values()):.3f}.", ""]
    (OUT / "default_prior_margin.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["v1_all", "v2_rock_beat"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.report_only:
        write(json.loads((OUT / "default_prior_margin.json").read_text()))
        return 0
    from bgmaker import compat
    compat.apply()
    from bgmaker.evaluation.priors import SAMPLES
    results = [measure_run(run, args.seeds) for run in args.runs]
    write(dict(command="reports/default_prior_margin.py " + " ".join(sys.argv[1:]), seeds=args.seeds,
               samples=SAMPLES, results=results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
