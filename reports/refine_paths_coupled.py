"""Can a path between two refined codes be as smooth as the encoder means' path if it is not straight? Validation.

  .venv/bin/python reports/refine_paths_coupled.py [--pairs 32] [--seed 0]
  .venv/bin/python reports/refine_paths_coupled.py --report-only

reports/refine_paths.py found the straight (slerp) path between two refined
codes 0.005-0.007 Hamming cells a step rougher than the path between the
encoder means, whatever the sampling keys, fades of the refinement offset
or posterior noise. This report tries paths whose inner points are chosen
by the decoder too, all with generate's ends (each input's refined code, so
the ends stay the inputs' reconstructions) and its sampling keys (the nearer
end's; refine_paths.path_keys "end keys"):

- `blended, each point alone`: the point at t refined on both inputs at
  once, (1 - t) * -log p(x_a | z) + t * -log p(x_b | z) + the prior term
  (Refiner.refine's `weights`), from the straight path, BLEND_STEPS steps:
  the code that best plays a t-weighted mix of the two beats;
- `blended, chained from each end`: the same objective, each point started
  from its neighbour nearer its end (a continuation from r_a and from r_b,
  meeting mid-way as the keys do), BLEND_STEPS steps a point: neighbours
  then stay in one basin of the decoder;
- `neighbours' beats`: a string relaxation: each round decodes the path
  near-greedily and refines every inner point STRING_STEPS steps on its two
  neighbours' beats (weights 1/2 each), STRING_ROUNDS rounds: the discrete
  Laplace smoothing of the path in the decoder's own terms;
- `informative dimensions only`: the ends refined only in the latent
  dimensions whose posterior sigma averages below INFORMATIVE_SIGMA over
  these windows (Refiner.refine's `free_dims`; the ~20 dimensions the
  encoder writes to), straight path: is the roughness the other ~490's?
- `anchor 0.3`: the ends refined with reports/refine_anchor.py's anchor
  (kappa 0.3), straight path, now with end keys;
- `inner points re-encoded`: the straight path's inner points decoded
  near-greedily and re-encoded to their encoder means (projected onto the
  codes the encoder makes).

Figures as reports/refine_paths.py's (its `figures`): smoothness (mean
Hamming step, lower smoother), detour, realism of the inner points (feature
overlap with the validation windows), span, end accuracy (the ends decoded
at temperature 0.5 against the real windows). `mean` and `refined` are the
two paths the gate compares. Each model on its own validation windows
(v2_rock_beat: rock; v1_all: all of GMD's), --pairs pairs from different
performances (the evaluation's choose_pairs). With 32 pairs a row moves by
about 0.003 a step between nearby settings, so read differences under that
as equal. Writes reports/refine_paths_coupled.md/.json; about 15 minutes a
model on 2 cores.
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

import refine_paths  # noqa: E402  (the path figures, keys and settings: one definition)

OUT = REPO / "reports"
MODELS = refine_paths.MODELS
BLEND_STEPS = 25
STRING_ROUNDS, STRING_STEPS = 6, 10
INFORMATIVE_SIGMA = 0.9
ANCHOR = 0.3
GREEDY = refine_paths.GREEDY
REFINE_BATCH = 64  # refiner rows a run (a code's rows are the same to the bit whatever the batch)


def decoded_targets(generator, beats):
    """(targets [beats, steps, depth], usable [beats]) of decoded beats: the windows the generator would encode
    from them (a silent decode has none: usable False, a zero target)."""
    from bgmaker.errors import UnusableMidiError
    targets, usable = [], []
    for beat in beats:
        try:
            targets.append(np.asarray(generator.window(beat)[1].outputs[0], np.float32))
            usable.append(True)
        except UnusableMidiError:
            targets.append(None)
            usable.append(False)
    shape = next(t.shape for t in targets if t is not None)
    return np.stack([t if t is not None else np.zeros(shape, np.float32) for t in targets]), np.array(usable)


def coupled_paths(generator, windows, pairs, seed, log=print):
    """{row name: latent paths [pairs, STEPS, z_size]}, every path but `mean` ending on generate's refined codes."""
    from bgmaker.generation.generator import interpolation_z
    steps = refine_paths.STEPS
    refiner = generator.refiner()
    rate, lam = generator.refine_learning_rate, generator.refine_prior_weight
    used = sorted({i for pair in pairs for i in pair})
    at = {u: n for n, u in enumerate(used)}
    mu, sigma, _, targets = generator.encoded([windows[i].sequence for i in used])
    mu, sigma, targets = np.asarray(mu), np.asarray(sigma), np.asarray(targets, np.float32)

    def straight(codes):
        return np.stack([interpolation_z(codes[at[i]], codes[at[j]], steps) for i, j in pairs])

    def refined_with(**options):
        started = time.time()
        codes = refiner.refine(targets, mu, generator.refine_steps, rate, lam, **options)[0]
        log(f"    refined {len(codes)} ends in {time.time() - started:.0f} s")
        return codes

    ts = np.linspace(0.0, 1.0, steps)
    refined = refined_with()
    out = {"mean": straight(mu), "refined": straight(refined)}
    both = np.stack([np.stack([targets[at[i]], targets[at[j]]]) for i, j in pairs])  # [pairs, 2, steps, depth]

    log("  blended, each point alone")
    path = out["refined"].copy()
    inner = [(p, k) for p in range(len(pairs)) for k in range(1, steps - 1)]
    z = refiner.refine(np.stack([both[p] for p, _ in inner]), np.stack([path[p, k] for p, k in inner]),
                       BLEND_STEPS, rate, lam, weights=[(1 - ts[k], ts[k]) for _, k in inner])[0]
    for (p, k), code in zip(inner, z):
        path[p, k] = code
    out["blended, each point alone"] = path

    log("  blended, chained from each end")
    path = out["refined"].copy()
    from_a = [k for k in range(1, steps - 1) if k < steps / 2]  # the points that take a's key (path_keys)
    from_b = [k for k in range(steps - 2, 0, -1) if k >= steps / 2]
    for stage in range(max(len(from_a), len(from_b))):
        todo = [(p, chain[stage], step) for p in range(len(pairs))
                for chain, step in ((from_a, -1), (from_b, +1)) if stage < len(chain)]
        z = refiner.refine(np.stack([both[p] for p, _, _ in todo]), np.stack([path[p, k + s] for p, k, s in todo]),
                           BLEND_STEPS, rate, lam, weights=[(1 - ts[k], ts[k]) for _, k, _ in todo])[0]
        for (p, k, _), code in zip(todo, z):
            path[p, k] = code
    out["blended, chained from each end"] = path

    log("  neighbours' beats")
    path = out["refined"].copy()
    for _ in range(STRING_ROUNDS):
        decoded = generator.decode(path.reshape(-1, generator.z_size), GREEDY, seed)
        beats, usable = decoded_targets(generator, decoded)
        beats, usable = beats.reshape(len(pairs), steps, *beats.shape[1:]), usable.reshape(len(pairs), steps)
        z = refiner.refine(np.stack([beats[p, [k - 1, k + 1]] for p, k in inner]),
                           np.stack([path[p, k] for p, k in inner]), STRING_STEPS, rate, lam,
                           weights=[0.5 * usable[p, [k - 1, k + 1]] for p, k in inner])[0]
        path = path.copy()
        for (p, k), code in zip(inner, z):
            path[p, k] = code
    out["neighbours' beats"] = path

    informative = (sigma.mean(axis=0) < INFORMATIVE_SIGMA).astype(np.float64)
    log(f"  informative dimensions only ({int(informative.sum())} of {generator.z_size})")
    out["informative dimensions only"] = straight(refined_with(free_dims=informative))
    log(f"  anchor {ANCHOR:g}")
    out[f"anchor {ANCHOR:g}"] = straight(refined_with(anchor_weight=ANCHOR))

    log("  inner points re-encoded")
    path = out["refined"].copy()
    beats = generator.decode(path[:, 1:-1].reshape(-1, generator.z_size), GREEDY, seed)
    _, usable = decoded_targets(generator, beats)
    inner_codes = path[:, 1:-1].reshape(-1, generator.z_size)  # a silent decode keeps its code
    inner_codes[usable] = generator.encode([b for b, ok in zip(beats, usable) if ok], refine_steps=0)
    path[:, 1:-1] = inner_codes.reshape(len(pairs), steps - 2, -1)
    out["inner points re-encoded"] = path
    return out, int(informative.sum())


def measure(args):
    from bgmaker import compat
    compat.apply()
    from bgmaker.data.windows import read_windows, to_grid
    from bgmaker.evaluation.decode import choose_pairs
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker_configs.runs import get_run
    results = []
    for model, data in MODELS:
        windows, _ = read_windows(get_run(data).examples_path("validation"))
        real = np.stack([w.grid for w in windows])
        pairs = choose_pairs(windows, args.pairs, np.random.default_rng(args.seed))
        print(f"{model}: {len(pairs)} pairs of {len(windows)} {data} validation windows", flush=True)
        generator = BeatGenerator.load(run=model, batch_size=256, refine_batch_size=REFINE_BATCH)
        checkpoint = Path(generator.checkpoint).name
        started = time.time()
        try:
            paths, informative = coupled_paths(generator, windows, pairs, args.seed)
            truth = np.stack([real[[i, j]] for i, j in pairs])
            rows = {}
            for name, path in paths.items():
                keys = np.concatenate([refine_paths.path_keys(p, "end keys") for p in path])
                beats = generator.decode(path.reshape(-1, generator.z_size), refine_paths.TEMPERATURE, args.seed, keys)
                grids = np.stack([to_grid(b) for b in beats]).reshape(len(pairs), refine_paths.STEPS, *real.shape[1:])
                rows[name] = refine_paths.figures(grids, real, truth)
                print(f"  {name:32s} " + "  ".join(f"{k} {v:.3f}" for k, v in rows[name].items()), flush=True)
        finally:
            generator.close()
        results.append(dict(model=model, checkpoint=checkpoint, data=f"{data} validation", windows=len(windows),
                            pairs=len(pairs), informative_dims=informative, seconds=round(time.time() - started),
                            rows=rows))
    return dict(command="python reports/refine_paths_coupled.py " + " ".join(sys.argv[1:]), seed=args.seed,
                steps=refine_paths.STEPS, temperature=refine_paths.TEMPERATURE, blend_steps=BLEND_STEPS,
                string=[STRING_ROUNDS, STRING_STEPS], informative_sigma=INFORMATIVE_SIGMA, anchor=ANCHOR,
                results=results)


def write(report):
    (OUT / "refine_paths_coupled.json").write_text(json.dumps(report, indent=1) + "\n")
    rounds, string_steps = report["string"]
    lines = ["# Paths between refined codes that are not straight (validation)", "",
             f"`{report['command']}`", "",
             f"Each path: {report['steps']} points, temperature {report['temperature']:g}, the nearer end's sampling "
             "key at each point between the ends (as generate decodes), seeded. `mean`: the slerp between the encoder "
             "means (what the gate compares with); every other row ends on the codes generate refines (100 steps, "
             "except where the row says), so its ends are the inputs' reconstructions. Blended rows: "
             f"{report['blend_steps']} steps a point on (1 - t) -log p(x_a | z) + t -log p(x_b | z) + the prior "
             f"term; neighbours' beats: {rounds} rounds of {string_steps} steps on the two neighbours' near-greedy "
             f"decodes; informative dimensions: posterior sigma averaging below {report['informative_sigma']:g}; "
             f"anchor: kappa {report['anchor']:g} |z - mu|^2 / 2 added. Smoothness = mean Hamming step (lower is "
             "smoother); detour = path length / distance between its own ends; realism = feature overlap of the "
             "inner points with the validation windows; end accuracy: the ends at the path's temperature against "
             "the real windows. With these pair counts nearby settings differ by about 0.003 a step by chance.", ""]
    for r in report["results"]:
        rows = r["rows"]
        lines += [f"## {r['model']}, {r['checkpoint']} ({r['data']}: {r['pairs']} pairs of {r['windows']} windows; "
                  f"{r['informative_dims']} informative dimensions; {r['seconds']} s)", "",
                  "| path | smoothness | vs mean | detour | realism | vs mean | end accuracy |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        base = rows["mean"]
        for name, row in rows.items():
            lines.append(f"| {name} | {row['smoothness']:.3f} | {row['smoothness'] - base['smoothness']:+.3f} | "
                         f"{row['detour']:.2f} | {row['realism']:.3f} | {row['realism'] - base['realism']:+.3f} | "
                         f"{row['end_accuracy']:.3f} |")
        smoothest = min((n for n in rows if n != "mean"), key=lambda n: rows[n]["smoothness"])
        lines += ["", f"Smoothest path with refined ends: {smoothest}, "
                  f"{rows[smoothest]['smoothness'] - base['smoothness']:+.3f} a step against the means' path "
                  f"({'as smooth or smoother' if rows[smoothest]['smoothness'] <= base['smoothness'] else 'rougher'}). "
                  "As smooth and as real as the means' path (the gate's two lines): "
                  + (", ".join(n for n in rows if n != "mean" and rows[n]["smoothness"] <= base["smoothness"]
                               and rows[n]["realism"] >= base["realism"]) or "none") + ".", ""]
    (OUT / "refine_paths_coupled.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    write(json.loads((OUT / "refine_paths_coupled.json").read_text()) if args.report_only else measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
