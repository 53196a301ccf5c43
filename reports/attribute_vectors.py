"""Attribute vectors: the MusicVAE paper's difference of means against vectors that hold the other attributes fixed.

  .venv/bin/python reports/attribute_vectors.py [--runs v2_rock_beat v1_all] [--report-only]

For each shipped model with priors (`bgmaker priors --run RUN`), the encoder
means of the run's train windows are computed once, and the attribute vectors
are fitted both ways (bgmaker.generation.priors.attribute_vectors, method
"difference" and "partial"). Each vector is added at the evaluation's amounts
to the same ATTRIBUTE_SAMPLES samples of the model's default prior, and
every attribute is measured (bgmaker.evaluation.priors.attribute_curves, in
standard deviations of the attribute over real train windows). The gate
line of the issue "Steer the beats": monotonic over the amounts, and moving
itself more than any other attribute. Writes reports/attribute_vectors.json
and .md. About 3 CPU-minutes per model.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "reports"
METHODS = ("difference", "partial")


def measure(run_name):
    import numpy as np

    import bgmaker_configs
    from bgmaker.data.gmd import beat_type_of
    from bgmaker.data.windows import read_windows
    from bgmaker.evaluation.priors import attribute_curves, attribute_gate
    from bgmaker.generation import priors
    from bgmaker.generation.generator import BeatGenerator
    run = bgmaker_configs.get_run(run_name)
    generator = BeatGenerator.load(run=run_name, batch_size=64)
    try:
        latent = generator.latent_map()
        if latent is None:
            raise SystemExit(f"{run_name}: no priors; fit them first: bgmaker priors --run {run_name}")
        train, _ = read_windows(run.examples_path("train"))
        grids = np.stack([w.grid for w in train])
        codes = priors.encode_windows(generator, train, log=print)
        out = {}
        for method in METHODS:
            vectors = priors.attribute_vectors(codes, grids, [beat_type_of(w.sequence.filename) for w in train],
                                               method=method)
            steered = priors.LatentMap(latent.priors, {k: v for k, (v, _) in vectors.items()}, latent.info)
            curves, spread = attribute_curves(generator, steered, latent.default_prior, grids, seed=0)
            out[method] = dict(curves=curves)
            print(f"{run_name} {method}: " + ", ".join(f"{k} {'ok' if g['passed'] else 'no'}"
                                                       for k, g in attribute_gate(curves).items()), flush=True)
        return dict(prior=latent.default_prior, windows=len(train), methods=out)
    finally:
        generator.close()


def markdown(results):
    from bgmaker.evaluation.priors import attribute_gate  # the rule of the day, applied to the recorded curves
    for r in results.values():
        for m in r["methods"].values():
            m["gate"] = attribute_gate(m["curves"])
    lines = ["# Attribute vectors: difference of means vs the other attributes held fixed", "",
             "Regenerate: `.venv/bin/python reports/attribute_vectors.py`. Each vector added at −2…+2 to the "
             "same 64 samples of the model's default prior, decoded at temperature 0.5; change of the pushed "
             "attribute from −2 to +2 and the largest change of another attribute, in standard deviations over "
             "real train windows; ✓ = monotonic and moving itself more than any other (the gate).", "",
             "| model | vector | difference of means (MusicVAE) | others held fixed (shipped) |", "|---|---|---|---|"]
    for run, r in results.items():
        names = list(r["methods"]["partial"]["gate"])
        for name in names:
            cells = []
            for method in METHODS:
                g = r["methods"][method]["gate"].get(name)
                cells.append("–" if g is None else f"{g['own']:+.2f} vs {g['other']:.2f} "
                             f"{'✓' if g['passed'] else '✗ (' + ('not monotonic' if not g['monotonic'] else 'others move more') + ')'}")
            lines.append(f"| {run} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", default=["v2_rock_beat", "v1_all"])
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    path = OUT / "attribute_vectors.json"
    results = json.loads(path.read_text()) if args.report_only else {run: measure(run) for run in args.runs}
    path.write_text(json.dumps(results, indent=1) + "\n")
    (OUT / "attribute_vectors.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
