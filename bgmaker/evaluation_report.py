"""Write an evaluation (bgmaker.evaluate) as evaluation.json, evaluation.md and plots.

Plots use matplotlib's object API (Figure, no pyplot), so writing a report
never needs a display nor changes a notebook's backend.
"""
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bgmaker import metrics


def write(report, output_dir, real, samples, shuffled, example_paths=None):
    """Write the report files into output_dir; return their paths.

    real, samples, shuffled: the grid stacks behind the feature histograms.
    example_paths: optional {method: path [K, 64, 9]} drawn as drum grids.
    """
    from bgmaker.evaluate import comparison_table  # the table format lives with compare()

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = [output_dir / "evaluation.json"]
    written[0].write_text(json.dumps(_jsonable(report), indent=1) + "\n")
    written.append(plot_features(report, real, samples, shuffled, output_dir / "features.png"))
    if report["interpolation"].get("pairs"):
        written.append(plot_interpolation(report["interpolation"], output_dir / "interpolation.png"))
    if example_paths:
        written.append(plot_example_paths(example_paths, output_dir / "interpolation_example.png"))
    md = output_dir / "evaluation.md"
    md.write_text(markdown(report, comparison_table, [p.name for p in written if p.suffix == ".png"]))
    written.append(md)
    return written


def _jsonable(value):
    """Plain JSON: numpy scalars to Python, NaN/inf to null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _f(value, fmt="{:.3f}"):
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else fmt.format(value)


def markdown(report, comparison_table, images):
    m, d, s = report["model"], report["data"], report["settings"]
    rec, feats, interp = report["reconstruction"], report["features"], report["interpolation"]
    out = [f"# Evaluation: {m['run']} (step {m['step']}) on GMD {d['split']} windows", ""]
    out += [f"- checkpoint: `{m['checkpoint']}` (config `{m['config']}`)",
            f"- data: `{d['examples_path']}`: {d['windows']} four-bar windows"
            + (f" (random subset, --max-windows {d['max_windows']})" if d.get("max_windows") else ""),
            f"- records without a usable window: {d['skipped'] or 'none'}",
            f"- {s['n_samples']} prior samples at temperature {s['temperature']}; {s['n_interpolations']} "
            f"interpolations of {s['interpolation_steps']} points at temperature {s['interpolation_temperature']}; "
            f"seed {s['seed']}; {report['seconds']} s",
            f"- reproduce: `{report['command']}`",
            "", "## Summary", "", comparison_table([report["summary"]]),
            "acc. = 512-class step accuracy; free = free-running (the decoder feeds back its own samples); "
            "decoded = encode to the posterior mean, decode near-greedily; "
            "overlap = KDE overlapping area with the real windows' feature distribution, mean over features "
            "(1 = same); rhythm overlap = the same over syncopation and groove consistency only, the features "
            "that shuffling the steps of real windows changes (shuffle = that floor); realism = mean overlap "
            "of the in-between points of interpolations.", ""]

    out += ["## 1. Reconstruction", "",
            "Every window encoded (posterior sample z, as Magenta's eval job) and decoded against its own steps; "
            "the prediction at a step is the argmax class. Teacher-forced: the decoder sees the true previous "
            "step; free-running: its own sample (hierdec: except at the start of each 8-step segment, as in "
            "Magenta's eval job). Decoded: the reconstruction a user gets, TrainedModel.encode's posterior mean "
            f"decoded fully free-running at temperature {rec['decoded']['temperature']:g}.", "",
            "| decoding | step accuracy | Magenta's accuracy op | onset P | onset R | onset F1 | recon. loss (nats/window) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for mode in ("teacher_forced", "free_running", "decoded"):
        r, o = rec[mode], rec[mode]["onsets"]["all"]
        out.append(f"| {mode.replace('_', '-')} | {_f(r['accuracy'])} | {_f(r.get('magenta_accuracy'))} | "
                   f"{_f(o['precision'])} | {_f(o['recall'])} | {_f(o['f1'])} | {_f(r.get('r_loss'), '{:.1f}')} |")
    out += ["", f"KL(q(z|x) ‖ N(0, I)): {rec['kl_bits']:.1f} ± {rec['kl_bits_std']:.1f} bits per window.", "",
            "| drum | true onsets | F1 teacher-forced | P free | R free | F1 free | F1 decoded |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, tf_row in rec["teacher_forced"]["onsets"].items():
        fr, dec = rec["free_running"]["onsets"][name], rec["decoded"]["onsets"][name]
        out.append(f"| {name} | {tf_row['support']} | {_f(tf_row['f1'])} | {_f(fr['precision'])} | "
                   f"{_f(fr['recall'])} | {_f(fr['f1'])} | {_f(dec['f1'])} |")

    sets = [k for k in ("samples", "shuffle", "real half", "interpolation", "crossfade") if k in feats["vs_real"]]
    out += ["", "## 2. Samples against real drumming", "",
            "Each feature's distribution over a set against the real windows': overlap / KL(real ‖ set) of "
            "Gaussian KDEs on a shared grid. shuffle = real windows with their steps shuffled (a floor on "
            "temporal features; densities are unchanged by construction); real half = one half of the real "
            "windows against the other (a ceiling); interpolation / crossfade = in-between points of the paths "
            "in section 3.", "",
            "| feature | real mean ± std | samples mean ± std | " + " | ".join(sets) + " |",
            "|---|---:|---:|" + "---:|" * len(sets)]
    for feat, moments in feats["real"].items():
        sample = feats["vs_real"].get("samples", {}).get(feat)
        cells = [f"{_f(feats['vs_real'][k][feat]['overlap'], '{:.2f}')} / {_f(feats['vs_real'][k][feat]['kl'], '{:.2f}')}"
                 for k in sets]
        out.append(f"| {feat} | {moments['mean']:.3f} ± {moments['std']:.3f} | "
                   + (f"{sample['mean']:.3f} ± {sample['std']:.3f}" if sample else "–")
                   + " | " + " | ".join(cells) + " |")
    out += ["", "Cells: overlap / KL (nats)."]
    if "features.png" in images:
        out += ["", "![feature histograms](features.png)"]

    out += ["", "## 3. Interpolation", ""]
    if interp.get("pairs"):
        out += [f"{interp['pairs']} pairs of real windows from different performances, mean normalised Hamming "
                f"distance between the two ends {interp['endpoint_distance']:.3f}. Latent: slerp between the "
                "posterior means, decoded; crossfade: a per-cell dissolve in data space (metrics.crossfade).", "",
                "| method | monotonicity | smoothness | endpoint error | in-between realism (mean overlap) |",
                "|---|---:|---:|---:|---:|"]
        names = {"model": "interpolation", "crossfade": "crossfade"}
        for method in ("model", "crossfade"):
            i = interp[method]
            realism = feats["vs_real"].get(names[method])
            realism = float(np.mean([v["overlap"] for v in realism.values()])) if realism else None
            out.append(f"| {'latent (model)' if method == 'model' else 'data-space crossfade'} | "
                       f"{_f(i['monotonicity'])} | {_f(i['smoothness'])} | {_f(i['endpoint_error'])} | {_f(realism)} |")
        out += ["", "| alpha | model d(start) | model d(end) | crossfade d(start) | crossfade d(end) |",
                "|---:|---:|---:|---:|---:|"]
        for k, alpha in enumerate(interp["alphas"]):
            out.append(f"| {alpha:.3f} | {interp['model']['d_start'][k]:.3f} | {interp['model']['d_end'][k]:.3f} | "
                       f"{interp['crossfade']['d_start'][k]:.3f} | {interp['crossfade']['d_end'][k]:.3f} |")
        for image in ("interpolation.png", "interpolation_example.png"):
            if image in images:
                out += ["", f"![{image[:-4]}]({image})"]
    else:
        out.append("No interpolation (fewer than two windows or --interpolations 0).")

    out += ["", "## Definitions", "",
            "Formulas are in the docstrings of bgmaker/metrics: step accuracy = fraction of steps whose 9-drum "
            "row (one of 512 classes) matches; onset P/R/F1 pooled over all cells of a drum; densities = hits / "
            "64 steps; active instruments = drums hit at least once; syncopation = Longuet-Higgins–Lee strength "
            "of the kit's onsets per bar; groove consistency = 1 − mean Hamming distance between all pairs of "
            "bars; monotonicity = share of path steps moving away from the start and towards the end; smoothness "
            "= mean Hamming distance between neighbouring path points (lower is smoother).", ""]
    return "\n".join(out)


def plot_features(report, real, samples, shuffled, path):
    """Histograms of every feature: real windows, samples, shuffle baseline; overlap in each title."""
    tables = {"real": metrics.feature_table(real), "samples": metrics.feature_table(samples) if len(samples) else None,
              "shuffle": metrics.feature_table(shuffled)}
    names = list(tables["real"])
    cols = 4
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(4 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        values = [v[name] for v in tables.values() if v is not None]
        lo, hi = min(v.min() for v in values), max(v.max() for v in values)
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 21)
        for (label, table), color in zip(tables.items(), ("black", "tab:orange", "tab:gray")):
            if table is not None:
                ax.hist(table[name], bins=bins, density=True, histtype="step", color=color, label=label,
                        linewidth=1.5 if label != "shuffle" else 1, linestyle="-" if label != "shuffle" else "--")
        overlap = report["features"]["vs_real"].get("samples", {}).get(name, {}).get("overlap")
        ax.set_title(f"{name}" + (f"  (overlap {overlap:.2f})" if overlap is not None else ""), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{report['model']['run']} step {report['model']['step']}: features of samples vs "
                 f"{report['data']['split']} windows")
    fig.savefig(path, dpi=90)
    return path


def plot_interpolation(interp, path):
    """Mean normalised Hamming distance to each end along the path, latent vs crossfade (±1 std bands)."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    alphas = np.array(interp["alphas"])
    for method, color in (("model", "tab:blue"), ("crossfade", "tab:gray")):
        for end, style in (("start", "-"), ("end", "--")):
            mean = np.array(interp[method][f"d_{end}"])
            std = np.array(interp[method][f"d_{end}_std"])
            ax.plot(alphas, mean, style, color=color, label=f"{method}: distance to {end}")
            ax.fill_between(alphas, mean - std, mean + std, color=color, alpha=0.12)
    ax.set_xlabel("alpha (position along the path)")
    ax.set_ylabel("normalised Hamming distance")
    ax.set_title(f"interpolation between {interp['pairs']} pairs of real windows")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=90)
    return path


def plot_example_paths(example_paths, path):
    """One interpolation per method, drawn as drum grids (rows: drums, columns: 16th steps)."""
    from bgmaker.metrics import DRUM_NAMES
    methods = list(example_paths)
    k = len(next(iter(example_paths.values())))
    fig = Figure(figsize=(2.2 * k, 1.6 * len(methods)), layout="constrained")
    axes = fig.subplots(len(methods), k, squeeze=False)
    for row, method in enumerate(methods):
        for col, grid in enumerate(example_paths[method]):
            ax = axes[row, col]
            ax.imshow(np.asarray(grid).T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest")
            ax.set_xticks(range(0, grid.shape[0] + 1, 16))
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
            if col == 0:
                ax.set_ylabel(method, fontsize=8)
                ax.set_yticks(range(len(DRUM_NAMES)), [n.split()[0] for n in DRUM_NAMES], fontsize=5)
    fig.suptitle("example interpolation (first column: start, last: end)", fontsize=9)
    fig.savefig(path, dpi=90)
    return path
