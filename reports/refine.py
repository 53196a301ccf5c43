"""Latent refinement settings swept on validation windows, for both shipped models; accuracy against steps and time.

  .venv/bin/python reports/refine.py [--windows 32] [--max-steps 200]

For each shipped model (v1_all, v2_rock_beat) and each set of validation
windows (all GMD styles: v1_all's validation split; rock beats: v2_rock_beat's),
a seeded subset of `--windows` windows is encoded (the encoder's mean) and
refined (bgmaker.generation.refine, the generator's own Refiner) with every
learning rate x prior weight of the grid, reading the codes a refinement of
each length in STEP_POINTS would give. Each code is decoded as `generate`
decodes (temperature 0.5, the window's own sampling key, seed 0) and scored
by step accuracy against the input window (bgmaker.metrics.onsets) and onset
F1; |z| and the seconds per refinement step (batch of `--windows`, and one
window alone) are recorded. Writes reports/refine.json, refine.md and
refine.png. The setting chosen for bgmaker.generation.refine's defaults is the
best mean accuracy over the four (model, window set) rows within the page's
time budget for one beat (BUDGET_S), read off the table.

Data: the runs' validation windows in $BGMAKER_STATE_DIR/data (converted there if missing).
Not part of the test suite: tens of CPU-minutes.
"""
import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bgmaker import paths  # noqa: E402

MODELS = ("v1_all", "v2_rock_beat")
WINDOW_SETS = {"all styles": "v1_all", "rock": "v2_rock_beat"}  # validation split of this run
LEARNING_RATES = (0.05, 0.2)
PRIOR_WEIGHTS = (0.1, 1.0)
STEP_POINTS = (0, 10, 25, 50, 100, 200)  # 200: twice the default, to show the knee
BUDGET_S = 1.5  # the page's Reconstruct should answer one beat within this, warm
TEMPERATURE = 0.5
OUT = REPO / "reports"


def windows_of(run, n, seed):
    from bgmaker.data.convert import converted
    from bgmaker.evaluation.evaluate import read_windows
    import numpy as np
    folder = converted(run, paths.state_dir() / "data")
    found, _ = read_windows(folder / "validation.tfrecord", n, np.random.default_rng(seed))
    return [w.sequence for w in found]


def sweep(args):
    import numpy as np

    from bgmaker.generation.generator import BeatGenerator
    from bgmaker.data.windows import to_grid
    from bgmaker.metrics.onsets import onset_prf, step_accuracy
    rows, timing = [], {}
    sets = {name: windows_of(run, args.windows, args.seed) for name, run in WINDOW_SETS.items()}
    for model in MODELS:
        generator = BeatGenerator.load(run=model, batch_size=args.windows, refine_steps=0)
        refiner = generator.refiner()
        for set_name, sequences in sets.items():
            keys = [generator.window(ns)[2] for ns in sequences]
            targets = np.stack([generator.window(ns)[1].outputs[0] for ns in sequences])
            truth = np.stack([to_grid(ns) for ns in sequences])
            mu = generator.encode(sequences, refine_steps=0)
            for lr in LEARNING_RATES:
                for lam in PRIOR_WEIGHTS:
                    t = time.perf_counter()
                    points = [p for p in STEP_POINTS if p <= args.max_steps]
                    _, history = refiner.refine(targets, mu, max(points), lr, lam, snapshots=points)
                    per_step = (time.perf_counter() - t) / max(points)
                    for steps, z in sorted(history["snapshots"].items()):
                        grids = np.stack([to_grid(b) for b in generator.decode(z, TEMPERATURE, args.seed, keys)])
                        rows.append(dict(model=model, windows=set_name, learning_rate=lr, prior_weight=lam,
                                         steps=steps, accuracy=step_accuracy(grids, truth),
                                         onset_f1=onset_prf(grids, truth)["all"]["f1"],
                                         z_norm=float(np.linalg.norm(z, axis=1).mean()),
                                         batch_step_s=per_step))
                    print(f"{model} on {set_name}, lr {lr}, lambda {lam}: accuracy "
                          + ", ".join(f"{r['steps']}:{r['accuracy']:.3f}" for r in rows[-len(points):])
                          + f" ({per_step * 1000:.0f} ms/step at batch {len(sequences)})", flush=True)
        one = BeatGenerator.load(run=model, batch_size=1, refine_steps=0)
        single = one.refiner()
        target, z0 = targets[:1], mu[:1]
        single.refine(target, z0, 3)  # warm
        t = time.perf_counter()
        single.refine(target, z0, 50)
        timing[model] = dict(one_window_step_s=(time.perf_counter() - t) / 50)
        one.close()
        generator.close()
    return rows, timing


def report(args, rows, timing):
    import numpy as np
    (OUT / "refine.json").write_text(json.dumps(dict(windows=args.windows, seed=args.seed, rows=rows,
                                                     timing=timing, budget_s=BUDGET_S), indent=1) + "\n")
    settings = sorted({(r["learning_rate"], r["prior_weight"], r["steps"]) for r in rows})
    combos = sorted({(r["model"], r["windows"]) for r in rows})
    step_s = max(t["one_window_step_s"] for t in timing.values())
    lines = ["# Latent refinement on validation windows", "",
             f"{args.windows} validation windows per set (seed {args.seed}); each code decoded at temperature "
             f"{TEMPERATURE} as `generate` decodes; step accuracy against the input window (steps 0 = the encoder's "
             "mean). Regenerate: `.venv/bin/python reports/refine.py`.", "",
             "| lr | lambda | steps | one beat (s) | " + " | ".join(f"{m} on {w}" for m, w in combos)
             + " | mean | |z| |", "|---|---|---|---|" + "---|" * (len(combos) + 2)]
    best = None
    for lr, lam, steps in settings:
        picked = [next(r for r in rows if (r["model"], r["windows"], r["learning_rate"], r["prior_weight"],
                                           r["steps"]) == (m, w, lr, lam, steps)) for m, w in combos]
        mean = float(np.mean([r["accuracy"] for r in picked]))
        seconds = steps * step_s
        lines.append(f"| {lr:g} | {lam:g} | {steps} | {seconds:.2f} | "
                     + " | ".join(f"{r['accuracy']:.3f}" for r in picked)
                     + f" | {mean:.3f} | {np.mean([r['z_norm'] for r in picked]):.1f} |")
        if seconds <= BUDGET_S and (best is None or mean > best[0]):
            best = (mean, lr, lam, steps)
    lines += ["", "Seconds per refinement step: " + ", ".join(
        f"{m}: {t['one_window_step_s'] * 1000:.0f} ms for one window alone" for m, t in timing.items())
        + "; batch of the set: " + ", ".join(sorted({f"{r['batch_step_s'] * 1000:.0f} ms" for r in rows
                                                     if r['steps'] == 0})) + "."]
    if best:
        lines += ["", f"Best mean accuracy within {BUDGET_S:g} s for one beat: lr {best[1]:g}, lambda {best[2]:g}, "
                      f"{best[3]} steps ({best[0]:.3f})."]
    from bgmaker.generation import refine
    default = [r for r in rows if (r["learning_rate"], r["prior_weight"], r["steps"]) ==
               (refine.DEFAULT_LEARNING_RATE, refine.DEFAULT_PRIOR_WEIGHT, refine.DEFAULT_STEPS)]
    if default:
        mean = float(np.mean([r["accuracy"] for r in default]))

        def mean_at(steps):
            at = [r["accuracy"] for r in rows if (r["learning_rate"], r["prior_weight"], r["steps"]) ==
                  (refine.DEFAULT_LEARNING_RATE, refine.DEFAULT_PRIOR_WEIGHT, steps)]
            return float(np.mean(at)) if at else None
        doubled, page = mean_at(2 * refine.DEFAULT_STEPS), refine.INTERACTIVE_STEPS * step_s
        lines += ["", f"The defaults (bgmaker.generation.refine): lr {refine.DEFAULT_LEARNING_RATE:g}, lambda "
                      f"{refine.DEFAULT_PRIOR_WEIGHT:g}, {refine.DEFAULT_STEPS} steps: mean {mean:.3f}"
                      + (f"; twice the steps: {doubled:.3f} ({doubled - mean:+.3f})" if doubled is not None else "")
                      + f". The page (bgmaker serve) refines {refine.INTERACTIVE_STEPS} steps by default: "
                      f"{page:.1f} s for one beat at this report's pace, "
                      + ("within" if page <= BUDGET_S else "over") + f" its {BUDGET_S:g} s aim."]
    (OUT / "refine.md").write_text("\n".join(lines) + "\n")
    plot(rows, timing)
    print((OUT / "refine.md").read_text())


def plot(rows, timing):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    combos = sorted({(r["model"], r["windows"]) for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for (m, w) in combos:
        for lr in LEARNING_RATES:
            for lam in PRIOR_WEIGHTS:
                pts = sorted((r["steps"], r["accuracy"]) for r in rows if (r["model"], r["windows"], r["learning_rate"],
                                                                          r["prior_weight"]) == (m, w, lr, lam))
                label = f"{m} on {w}, lr {lr:g}, λ {lam:g}"
                axes[0].plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
                ms = timing[m]["one_window_step_s"] * 1000
                axes[1].plot([p[0] * ms for p in pts], [p[1] for p in pts], marker="o", label=label)
    axes[0].set(xlabel="refinement steps", ylabel="decoded step accuracy", title="accuracy against steps")
    axes[1].set(xlabel="ms for one beat (one window alone)", ylabel="decoded step accuracy",
                title="accuracy against time")
    axes[1].axvline(BUDGET_S * 1000, color="grey", ls="--")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(OUT / "refine.png", dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=max(STEP_POINTS), help="longest refinement read")
    parser.add_argument("--report-only", action="store_true", help="rewrite refine.md/.png from refine.json")
    args = parser.parse_args(argv)
    if args.report_only:
        recorded = json.loads((OUT / "refine.json").read_text())
        args.windows, args.seed = recorded["windows"], recorded["seed"]
        report(args, recorded["rows"], recorded["timing"])
        return 0
    rows, timing = sweep(args)
    report(args, rows, timing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
