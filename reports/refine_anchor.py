"""Can refinement keep the encoder means' smooth interpolations by staying near them? Measured on validation.

  .venv/bin/python reports/refine_anchor.py [--run v1_all] [--pairs 64] [--anchors 0.3,1] [--seed 0]

#24's gate asks refined codes for a decoded step accuracy 0.10 above the
encoder mean's *and* interpolations between them as smooth as between the
means; on test the paths between refined codes were less smooth
(reports/refine_gate.md). This tries the simplest fix: an anchor term
kappa * |z - mu|^2 / 2 added to the refinement's objective
(bgmaker.generation.refine.Refiner.refine's anchor_weight), which holds each
code near its encoder mean mu. For `--pairs` pairs of validation windows from
different performances (the evaluation's choose_pairs), each row refines the
pairs' windows 100 steps as generate does (kappa 0 is today's refinement) and
scores: decoded step accuracy of the ends (temperature 0.001, as the
evaluation's reconstructions), how far the codes moved (|z - mu|) and their
norm, and the slerp paths between them (9 points, temperature 0.5, each
point's own key as generate decodes, and one key shared by the points between
as reports/refine_paths.py's "one key"): smoothness (mean Hamming step),
detour, realism of the in-between points. It also says where the refinement
moves: the encoder's posterior sigma of nearly every latent dimension is
near 1 (the model spends ~51 bits on a window), and the share of |z - mu|^2
that lies in those dimensions. Writes reports/refine_anchor.md/.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "reports"))

import refine_paths  # noqa: E402  (the path figures and keys, one definition)

OUT = REPO / "reports"
INACTIVE_SIGMA = 0.5  # a dimension whose posterior sigma is above this carries little of the window


def measure(args):
    from bgmaker import compat
    compat.apply()
    from bgmaker.data.windows import read_windows, to_grid
    from bgmaker.evaluation.decode import RECONSTRUCTION_TEMPERATURE, choose_pairs
    from bgmaker.generation.generator import BeatGenerator, interpolation_z
    from bgmaker.metrics.onsets import step_accuracy
    from bgmaker_configs.runs import get_run
    windows, _ = read_windows(get_run(args.run).examples_path("validation"))
    real = np.stack([w.grid for w in windows])
    pairs = choose_pairs(windows, args.pairs, np.random.default_rng(args.seed))
    used = sorted({i for pair in pairs for i in pair})
    row = {w: k for k, w in enumerate(used)}
    generator = BeatGenerator.load(run=args.run, batch_size=len(used))  # one refinement batch: rows = windows
    print(f"{args.run}: {len(pairs)} pairs of {len(windows)} validation windows", flush=True)

    def grids(beats):
        return np.stack([to_grid(b.sequence if hasattr(b, "sequence") else b) for b in beats])

    try:
        mu, sigma, keys, targets = generator.encoded([windows[i].sequence for i in used])
        mu, sigma, targets = np.asarray(mu), np.asarray(sigma), np.asarray(targets)
        inactive = sigma > INACTIVE_SIGMA

        def score(z):
            ends = grids(generator.decode(z, RECONSTRUCTION_TEMPERATURE, args.seed, keys))
            figures = dict(accuracy=float(np.mean([step_accuracy(e, windows[i].grid) for e, i in zip(ends, used)])),
                           moved=float(np.linalg.norm(z - mu, axis=1).mean()),
                           norm=float(np.linalg.norm(z, axis=1).mean()),
                           moved_in_inactive=float(((z - mu) ** 2 * inactive).sum() / max(((z - mu) ** 2).sum(), 1e-12)))
            for label, scheme in (("", "per point"), (", one key", "one key")):
                zs = [interpolation_z(z[row[i]], z[row[j]], refine_paths.STEPS) for i, j in pairs]
                path_keys = np.concatenate([refine_paths.path_keys(p, scheme) for p in zs])
                decoded = grids(generator.decode(np.concatenate(zs), refine_paths.TEMPERATURE, args.seed, path_keys))
                paths = decoded.reshape(len(pairs), refine_paths.STEPS, *real.shape[1:])
                figures.update({k + label: v for k, v in refine_paths.figures(paths, real).items()})
            return figures

        rows = {"encoder mean": score(mu)}
        print(f"  encoder mean {rows['encoder mean']}", flush=True)
        refiner = generator.refiner()
        for kappa in [0.0] + args.anchors:
            started = time.time()
            z, _ = refiner.refine(targets, mu, anchor_weight=kappa)
            name = "refined (today)" if kappa == 0 else f"refined, anchor {kappa:g}"
            rows[name] = dict(score(z), seconds=round(time.time() - started, 1))
            print(f"  {name} {rows[name]}", flush=True)
    finally:
        generator.close()
    return dict(command="python reports/refine_anchor.py " + " ".join(sys.argv[1:]), run=args.run, seed=args.seed,
                pairs=len(pairs), windows=len(windows), inactive_share=float(inactive.mean()),
                inactive_sigma=INACTIVE_SIGMA, rows=rows)


def write(report):
    (OUT / "refine_anchor.json").write_text(json.dumps(report, indent=1) + "\n")
    mean = report["rows"]["encoder mean"]
    lines = ["# Refinement held near the encoder mean (validation)", "", f"`{report['command']}`", "",
             f"{report['run']}: {report['pairs']} pairs of {report['windows']} validation windows, seed "
             f"{report['seed']}. Accuracy: decoded step accuracy of the refined windows (temperature 0.001). "
             "Smoothness: mean Hamming step along the 9-point slerp between two windows' codes (lower is smoother), "
             "each point decoded with its own key as generate does, or with one key shared by the points between; "
             "realism: feature overlap of the in-between points with the validation windows. Moved: mean distance from the encoder mean.",
             "", "| codes | accuracy | gain | smoothness | smoothness, one key | detour, one key | realism | moved | "
             "norm of z | share moved in sigma > 0.5 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | {row['accuracy']:.3f} | {row['accuracy'] - mean['accuracy']:+.3f} | "
                     f"{row['smoothness']:.4f} | {row['smoothness, one key']:.4f} | {row['detour, one key']:.2f} | "
                     f"{row['realism']:.3f} | {row['moved']:.2f} | {row['norm']:.2f} | {row['moved_in_inactive']:.2f} |")
    lines += ["", f"{report['inactive_share']:.1%} of the latent dimensions of these windows have a posterior sigma "
              f"above {report['inactive_sigma']:g}.", ""]
    (OUT / "refine_anchor.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="v1_all")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--anchors", default="0.3,1", help="anchor weights kappa to try besides 0 (comma-separated)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.anchors = [float(a) for a in args.anchors.split(",") if a]
    write(measure(args))


if __name__ == "__main__":
    main()
