"""Which path between two refined codes keeps the encoder-mean path's smoothness? Chosen on validation.

  .venv/bin/python reports/refine_paths.py [--pairs 64] [--seed 0]
  .venv/bin/python reports/refine_paths.py --report-only

Refinement (bgmaker.generation.refine) moves each input's code from the
encoder's mean mu to a refined code r = mu + d that the decoder plays back
more faithfully. An interpolation must end exactly on the refined ends, but
the straight slerp from r_a to r_b was measured on test (reports/refine_gate.md)
to be less smooth than the slerp between the means. The candidates, each
with ends exactly r_a and r_b (t = 0 and 1):

- `mean`: slerp(mu_a, mu_b, t), the encoder means' path (its ends are the
  means, not the refined codes: the reference the gate compares with);
- `refined`: slerp(r_a, r_b, t), today's path;
- `fade-p` (p = 2, 4, 8): slerp(mu_a, mu_b, t) + (1 - t)^p d_a + t^p d_b: the
  means' path, with each end's refinement offset fading out as the path
  leaves it (p = 1 would be the straight path between the refined codes, up
  to slerp's curvature);
- `..., one key` and `..., end keys`: the same path, its in-between points
  decoded with one shared sampling key, or each with the nearer end's key
  (the ends keep their own, so they stay the inputs' reconstructions): at
  temperature 0.5 the decoder samples, and a key per point (the rows
  without a suffix) adds sampling jitter between neighbours that the latent
  path does not cause.

- `refined 25 steps, lr ...`: the straight path between codes refined as the
  page refines them (refine.INTERACTIVE_STEPS), at the default learning rate
  and at 4x it (reports/refine.md: more accurate at 25 steps), with end keys.
- `refined, posterior noise s`: codes refined with each step's gradient
  taken at z + s * sigma * e (sigma: the encoder's; Refiner.refine's
  `noise`), the loss expected over a posterior around the code, so that the
  code settles where the decoder is flat: does the path from it jitter less?
- `..., temperature 0.001`: the means' and the refined paths decoded near
  greedily, with end keys: how much of the jitter is the decoder's sampling
  rather than the latent path.

End accuracy: step accuracy of each path's two ends (decoded at the row's
temperature, with their own keys) against the real windows: what the row's
refinement buys in faithfulness.

For each model (v2_rock_beat on its rock validation windows, v1_all on all of
GMD's) it draws `--pairs` pairs of validation windows from different
performances, refines their codes as generate does, decodes each path (9
points, temperature 0.5, seeded) and scores: smoothness (mean Hamming step),
detour (path length over the distance between its own ends), and realism of
the in-between points (feature overlap with the validation windows, as the
evaluation's interpolation realism). Writes reports/refine_paths.md/.json;
the path generate takes (bgmaker.generation.generator.interpolation_z and
the keys of BeatGenerator.interpolate_z) is chosen from this table, then
checked on test by reports/refine_gate.py.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "reports"
MODELS = (("v2_rock_beat", "v2_rock_beat"), ("v1_all", "v1_all"))  # (model, the run whose validation windows)
FADES = (2, 4, 8)
# The page's refinement (refine.INTERACTIVE_STEPS) at its learning rate and at the 4x one that reports/refine.md
# found to gain more at 25 steps: measured here on the paths before the page takes it.
PAGE = ((25, 0.05), (25, 0.2))
STEPS = 9
TEMPERATURE = 0.5
NOISE = (0.5, 1.0)        # posterior noise scales (Refiner.refine's noise = scale * the encoder's sigma)
GREEDY = 0.001            # the near-greedy decoding rows' temperature


def faded(mu_a, mu_b, r_a, r_b, p):
    """slerp(mu_a, mu_b, t) + (1 - t)^p (r_a - mu_a) + t^p (r_b - mu_b): ends exactly r_a and r_b."""
    from bgmaker.generation.generator import interpolation_z
    ts = np.linspace(0.0, 1.0, STEPS)[:, None]
    z = interpolation_z(mu_a, mu_b, STEPS) + (1 - ts) ** p * (r_a - mu_a) + ts ** p * (r_b - mu_b)
    z[0], z[-1] = r_a, r_b
    return z


KEYS = ("per point", "one key", "end keys")


def path_keys(path, keys):
    """The sampling keys of a path's points; the ends keep their own (exact reconstructions) and the points
    between get: one key each ("per point", what generate did first), one shared key ("one key") or the key of
    the nearer end ("end keys": a step next to an end differs from it by the path alone)."""
    from bgmaker.generation import generator
    from bgmaker.generation.seeded_sampling import row_keys
    a, b = (int(k) for k in row_keys(path[[0, -1]]))
    n = len(path)
    if keys == "one key":
        return [a] + [generator.item_key("between", a, b)] * (n - 2) + [b]
    if keys == "end keys":  # generate's scheme since this report: its one home
        return generator.path_keys(a, b, n)
    return [a] + [generator.item_key("between", a, b, i) for i in range(1, n - 1)] + [b]


def page_row(steps, rate):
    return f"refined {steps} steps, lr {rate:g}"


def paths_for(generator, windows, pairs, seed):
    from bgmaker.data.windows import to_grid
    from bgmaker.generation.generator import interpolation_z
    sequences = [w.sequence for w in windows]
    used = sorted({i for pair in pairs for i in pair})
    mu = dict(zip(used, generator.encode([sequences[i] for i in used], refine_steps=0)))
    started = time.time()
    refined = dict(zip(used, generator.encode([sequences[i] for i in used])))
    seconds = time.time() - started
    mu_all, sigma, _, targets = generator.encoded([sequences[i] for i in used])
    noisy = {s: dict(zip(used, generator.refiner().refine(
        np.asarray(targets), np.asarray(mu_all), generator.refine_steps, generator.refine_learning_rate,
        generator.refine_prior_weight, noise=s * np.asarray(sigma))[0])) for s in NOISE}
    page = {}
    default_rate = generator.refine_learning_rate
    try:
        for steps, rate in PAGE:
            generator.refine_learning_rate = rate
            page[steps, rate] = dict(zip(used, generator.encode([sequences[i] for i in used], refine_steps=steps)))
    finally:
        generator.refine_learning_rate = default_rate
    variants = {"mean": lambda i, j: interpolation_z(mu[i], mu[j], STEPS),
                "refined": lambda i, j: interpolation_z(refined[i], refined[j], STEPS)}
    for (steps, rate), codes in page.items():
        variants[page_row(steps, rate)] = (lambda c: lambda i, j: interpolation_z(c[i], c[j], STEPS))(codes)
    for s in NOISE:
        variants[f"refined, posterior noise {s:g}"] = (lambda c: lambda i, j: interpolation_z(c[i], c[j], STEPS))(noisy[s])
    for p in FADES:
        variants[f"fade-{p}"] = (lambda p: lambda i, j: faded(mu[i], mu[j], refined[i], refined[j], p))(p)
    for name in ("mean", "refined", "fade-4"):
        for keys in KEYS[1:]:
            variants[f"{name}, {keys}"] = (name, (lambda keys: lambda path: path_keys(path, keys))(keys))
    end_keys = lambda path: path_keys(path, "end keys")  # noqa: E731
    for steps, rate in PAGE:
        variants[f"{page_row(steps, rate)}, end keys"] = (page_row(steps, rate), end_keys)
    for s in NOISE:
        variants[f"refined, posterior noise {s:g}, end keys"] = (f"refined, posterior noise {s:g}", end_keys)
    for name in ("mean", "refined"):
        variants[f"{name}, end keys, temperature {GREEDY:g}"] = (name, end_keys, GREEDY)
    out = {}
    for name, make in variants.items():
        keyed, temperature = None, TEMPERATURE
        if isinstance(make, tuple):
            make, keyed, temperature = variants[make[0]], make[1], (make[2:] or (TEMPERATURE,))[0]
        zs = [make(i, j) for i, j in pairs]
        z = np.concatenate(zs)
        keys = np.concatenate([keyed(p) for p in zs]) if keyed else None
        beats = generator.decode(z, temperature, seed, keys)
        out[name] = np.stack([to_grid(b.sequence if hasattr(b, "sequence") else b) for b in beats]).reshape(
            len(pairs), STEPS, 64, -1)
    return out, seconds


def figures(paths, real, truth=None):
    """truth [pairs, 2, 64, 9]: the real windows at each path's ends (for the end accuracy)."""
    from bgmaker import metrics
    real_table = metrics.feature_table(real)
    inner = paths[:, 1:-1].reshape(-1, *real.shape[1:])
    table = metrics.feature_table(inner)
    detours = [metrics.detour(p) for p in paths]
    return dict(smoothness=float(np.mean([metrics.smoothness(p) for p in paths])),
                detour=float(np.nanmean(detours)),
                realism=float(np.mean([metrics.overlap_and_kl(real_table[f], table[f])["overlap"] for f in real_table])),
                span=float(np.mean([metrics.hamming(p[0], p[-1]) for p in paths])),
                **({} if truth is None else dict(end_accuracy=metrics.step_accuracy(paths[:, [0, -1]], truth))))


def measure(args):
    from bgmaker.data.windows import performance_of, read_windows
    from bgmaker.evaluation.decode import choose_pairs
    from bgmaker.generation.generator import BeatGenerator
    from bgmaker_configs.runs import get_run
    results = []
    for model, data in MODELS:
        windows, _ = read_windows(get_run(data).examples_path("validation"))
        real = np.stack([w.grid for w in windows])
        pairs = choose_pairs(windows, args.pairs, np.random.default_rng(args.seed))
        print(f"{model}: {len(pairs)} pairs of {len(windows)} {data} validation windows "
              f"({len({performance_of(w.sequence) for w in windows})} performances)", flush=True)
        generator = BeatGenerator.load(run=model, batch_size=256)
        checkpoint = Path(generator.checkpoint).name
        try:
            paths, seconds = paths_for(generator, windows, pairs, args.seed)
        finally:
            generator.close()
        truth = np.stack([real[[i, j]] for i, j in pairs])
        rows = {name: figures(p, real, truth) for name, p in paths.items()}
        results.append(dict(model=model, checkpoint=checkpoint, data=f"{data} validation", windows=len(windows), pairs=len(pairs),
                            refine_seconds=round(seconds, 1), rows=rows))
        for name, row in rows.items():
            print(f"  {name:8s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return dict(command="python reports/refine_paths.py " + " ".join(sys.argv[1:]), seed=args.seed,
                steps=STEPS, temperature=TEMPERATURE, fades=FADES, page=[list(p) for p in PAGE], noise=list(NOISE),
                greedy=GREEDY, results=results)


def write(report):
    (OUT / "refine_paths.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# Paths between refined codes (validation)", "", f"`{report['command']}`", "",
             "Each path: 9 points, temperature 0.5, seeded; smoothness = mean Hamming step (lower is smoother); "
             "detour = path length / distance between its own ends (1 = straight); realism = feature overlap of "
             "the in-between points with the validation windows (higher is better); span = Hamming distance "
             "between the path's ends (share of the 64 x 9 cells). `mean` ends on the encoder means, every other path on the refined codes. "
             "Each model as it stood when this ran (its checkpoint below).",
             ""]
    for r in report["results"]:
        lines += [f"## {r['model']}, {r.get('checkpoint', '?')} ({r['data']}: {r['pairs']} pairs of {r['windows']} windows)", "",
                  "| path | smoothness | detour | realism | span | end accuracy |", "|---|---:|---:|---:|---:|---:|"]
        for name, row in r["rows"].items():
            accuracy = f"{row['end_accuracy']:.3f}" if "end_accuracy" in row else "–"
            lines.append(f"| {name} | {row['smoothness']:.3f} | {row['detour']:.2f} | {row['realism']:.3f} | "
                         f"{row['span']:.3f} | {accuracy} |")
        rows = r["rows"]
        suffixes = {"per point": "", "one key": ", one key", "end keys": ", end keys"}
        lines += ["", "Refined against mean, by keys (" + ", ".join(suffixes) + "): smoothness "
                  + " / ".join(f"{rows['refined' + k]['smoothness'] - rows['mean' + k]['smoothness']:+.3f}"
                               for k in suffixes.values())
                  + ", realism " + " / ".join(f"{rows['refined' + k]['realism'] - rows['mean' + k]['realism']:+.3f}"
                                               for k in suffixes.values())
                  + "; refined, end keys (generate's since this report) against a key per point: smoothness "
                  f"{rows['refined, end keys']['smoothness'] - rows['refined']['smoothness']:+.3f}, realism "
                  f"{rows['refined, end keys']['realism'] - rows['refined']['realism']:+.3f}; against one key: "
                  f"smoothness {rows['refined, end keys']['smoothness'] - rows['refined, one key']['smoothness']:+.3f}, "
                  f"realism {rows['refined, end keys']['realism'] - rows['refined, one key']['realism']:+.3f}."]
        page = [(steps, rate) for steps, rate in report.get("page", []) if f"{page_row(steps, rate)}, end keys" in rows]
        if page:
            base = rows["mean, end keys"]
            lines += ["", "The page's refinement (end keys), against the means' path (end keys): " + "; ".join(
                f"{page_row(s, r)} smoothness {rows[page_row(s, r) + ', end keys']['smoothness'] - base['smoothness']:+.3f}, "
                f"realism {rows[page_row(s, r) + ', end keys']['realism'] - base['realism']:+.3f}" for s, r in page) + "."]
        noise = [n for n in report.get("noise", []) if f"refined, posterior noise {n:g}, end keys" in rows]
        if noise:
            base = rows["refined, end keys"]
            lines += ["", "Refined under posterior noise (end keys), against plain refinement (end keys): " + "; ".join(
                f"noise {n:g} smoothness {rows[f'refined, posterior noise {n:g}, end keys']['smoothness'] - base['smoothness']:+.3f}, "
                f"end accuracy {rows[f'refined, posterior noise {n:g}, end keys']['end_accuracy'] - base['end_accuracy']:+.3f}"
                for n in noise) + f" (the means' path: smoothness {rows['mean, end keys']['smoothness'] - base['smoothness']:+.3f})."]
        greedy = report.get("greedy")
        if greedy is not None and f"refined, end keys, temperature {greedy:g}" in rows:
            g_ref, g_mean = (rows[f"{n}, end keys, temperature {greedy:g}"] for n in ("refined", "mean"))
            lines += ["", f"Decoded near-greedily (temperature {greedy:g}, end keys), refined against mean: smoothness "
                      f"{g_ref['smoothness'] - g_mean['smoothness']:+.3f} (at temperature {report['temperature']:g}: "
                      f"{rows['refined, end keys']['smoothness'] - rows['mean, end keys']['smoothness']:+.3f}): the gap "
                      "is the latent path's, not the decoder's sampling."]
        lines.append("")
    (OUT / "refine_paths.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    write(json.loads((OUT / "refine_paths.json").read_text()) if args.report_only else measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
