"""Write an evaluation (bgmaker.evaluation.evaluate) as evaluation.json, evaluation.md and plots.

summary_table is the evaluation's headline (evaluation.md's Summary and
docs/evaluation.md, "How good is it"): every figure in one row with its floor and its
ceiling (bgmaker.evaluation.summary.HEADLINES), so none is read alone.

Plots use matplotlib's object API (Figure, no pyplot), so writing a report
never needs a display nor changes a notebook's backend.
"""
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bgmaker import metrics
from bgmaker.evaluation.markdown import table
from bgmaker.evaluation.summary import FORMATS, HEADLINES


def summary_table(summary):
    """One evaluation's summary as a Markdown table: figure | model | floor / baseline | ceiling / reference.

    The figure's title names what its columns hold, so no number stands
    without what it should be read against. Ends with the free-running onset
    F1 per drum beside its shuffle floor.
    """
    def cells(keys):
        return " / ".join(_f(summary.get(k), FORMATS[k]) for k in keys) or " "

    names = dict(t=f"{summary['sample_temperature']:g}", split=summary["split"],
                 refine=summary.get("refine_steps") or 0,
                 noise=_f(summary.get("variation_noise"), FORMATS["variation_noise"]))
    rows = [[title.format(**names), cells(model), cells(floor), cells(ceiling)]
            for title, model, floor, ceiling in HEADLINES
            # a figure this report predates (e.g. novelty) is left out
            if not (all(summary.get(k) is None for k in model) and not any(k in summary for k in model))]
    lines = table(["figure", "model", "floor / baseline", "ceiling / reference"], rows, "lrrr")
    drums = summary.get("onset_f1_free_running_by_drum") or {}
    floors = summary.get("onset_f1_shuffle_floor_by_drum") or {}
    if drums:
        lines += [""] + table(
            ["onset F1 (free-running)", *drums],
            [["model", *(_f(v, FORMATS["onset_f1_free_running_by_drum"]) for v in drums.values())],
             ["floor: steps shuffled", *(_f(floors.get(d), FORMATS["onset_f1_shuffle_floor_by_drum"]) for d in drums)]],
            "l" + "r" * len(drums))
    return "\n".join(lines) + "\n"


def write(report, output_dir, real, samples, shuffled, example_paths=None, plots=True):
    """Write the report files into output_dir; return their paths.

    real, samples, shuffled: the grid stacks behind the feature histograms
    (samples: at the user's temperature). example_paths: optional
    {method: path [K, 64, 9]} drawn as drum grids. plots=False writes only
    evaluation.json and evaluation.md (the validation mode; reports
    committed beside a model).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = [output_dir / "evaluation.json"]
    written[0].write_text(json.dumps(jsonable(report), indent=1) + "\n")
    if plots:
        written.append(plot_features(report, real, samples, shuffled, output_dir / "features.png"))
        if report["interpolation"].get("pairs"):
            written.append(plot_interpolation(report["interpolation"], output_dir / "interpolation.png"))
        if example_paths:
            written.append(plot_example_paths(example_paths, output_dir / "interpolation_example.png"))
    md = output_dir / "evaluation.md"
    md.write_text(markdown(report, [p.name for p in written if p.suffix == ".png"]))
    written.append(md)
    return written


def jsonable(value):
    """Plain JSON: numpy scalars to Python, NaN/inf to null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _f(value, fmt="{:.3f}"):
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else fmt.format(value)


def markdown(report, images):
    """evaluation.md: what was evaluated, the summary, one section per question, the definitions.

    images: the names of the plots written beside it (each is linked where its section is).
    """
    return "\n".join(header_section(report) + summary_section(report)
                     + reconstruction_section(report["reconstruction"])
                     + samples_section(report["features"], images)
                     + two_sample_section(report["two_sample"])
                     + interpolation_section(report["interpolation"], report["features"]["vs_real"], images)
                     + DEFINITIONS)


def header_section(report):
    """The title and what was evaluated: checkpoint, data, reference windows, settings, how to repeat it."""
    m, d, s = report["model"], report["data"], report["settings"]
    return [f"# Evaluation: {m['run']} (step {m['step']}) on GMD's {d['split']} split (unseen performances)", "",
            f"- checkpoint: `{m['checkpoint']}` (config `{m['config']}`)",
            f"- data: `{d['examples_path']}`: {d['windows']} four-bar windows of {d['performances']} performances"
            + (f" (random subset, --max-windows {d['max_windows']})" if d.get("max_windows") else ""),
            f"- records without a usable window: {d['skipped'] or 'none'}",
            "- reference real windows: " + (f"{d['reference_windows']} windows of {d['reference_performances']} "
                                             f"performances from `{d['reference_path']}`"
                                             if d.get("reference_path") else "none (no train split found)"),
            f"- {s['n_samples']} prior samples at temperature {' and '.join(f'{t:g}' for t in s['temperatures'])} "
            f"(the same z); {s['n_interpolations']} interpolations of {s['interpolation_steps']} points at "
            f"temperature {s['interpolation_temperature']:g}; seed {s['seed']}; decoded by {s['decoder']}; "
            f"{report['seconds']} s",
            f"- reproduce: `{report['command']}`"]


def summary_section(report):
    """The summary table and how to read its floors and ceilings."""
    return ["", "## Summary", "", summary_table(report["summary"]),
            "Each figure beside what it should be read against. Floors: the real windows with their steps "
            "shuffled (same drums, same counts, no time order; a floor for accuracy, onsets and the rhythm "
            "features, not for overlap over all features, where it keeps every density exactly). "
            "Ceilings: real drumming against real drumming "
            "(real vs real = the split's performances in two halves; train vs "
            f"{report['data']['split']} = as many train windows). Overlap = KDE overlapping area with the real "
            "windows' feature distribution, mean over features (1 = same); rhythm = syncopation and groove "
            "consistency only, the features that shuffling changes. Classifier accuracy: held-out accuracy of a "
            "logistic regression telling the two sets apart, folds grouped by performance (0.5 = "
            "indistinguishable). Realism = mean overlap of the in-between points of interpolations.", ""]


def reconstruction_section(rec):
    """Section 1 of evaluation.md: every decoding mode overall, per drum and per GMD style."""
    refined = "decoded_refined" in rec
    out = ["## 1. Reconstruction", "",
           "Every window encoded (posterior sample z, as Magenta's eval job) and decoded against its own steps; "
           "the prediction at a step is the argmax class. Teacher-forced: the decoder sees the true previous "
           "step; free-running: its own sample (hierdec: except at the start of each 8-step segment, as in "
           "Magenta's eval job). Decoded: the posterior mean decoded by BeatGenerator fully free-running at "
           f"temperature {rec['decoded']['temperature']:g}; decoded-refined: the code refined against the decoder "
           "from that mean (bgmaker.generation.refine), decoded the same way: the reconstruction a user of "
           "`generate` gets. Shuffle: the window's own steps in random order, the floor.", ""]
    modes = [m for m in ("teacher_forced", "free_running", "decoded", "decoded_refined", "shuffle") if m in rec]
    out += table(["decoding", "step accuracy", "Magenta's accuracy op", "onset P", "onset R", "onset F1",
                  "recon. loss (nats/window)"],
                 [[mode.replace("_", "-"), _f(rec[mode]["accuracy"]), _f(rec[mode].get("magenta_accuracy")),
                   *(_f(rec[mode]["onsets"]["all"][k]) for k in ("precision", "recall", "f1")),
                   _f(rec[mode].get("r_loss"), "{:.1f}")] for mode in modes],
                 "lrrrrrr")
    out += ["", f"KL(q(z|x) ‖ N(0, I)): {rec['kl_bits']:.1f} ± {rec['kl_bits_std']:.1f} bits per window.", ""]
    rows = []
    for name, tf_row in rec["teacher_forced"]["onsets"].items():
        fr, dec = rec["free_running"]["onsets"][name], rec["decoded"]["onsets"][name]
        sh = rec["shuffle"]["onsets"][name]
        rows.append([name, tf_row["support"], _f(tf_row["f1"]), _f(fr["precision"]), _f(fr["recall"]), _f(fr["f1"]),
                     _f(dec["f1"]), *([_f(rec["decoded_refined"]["onsets"][name]["f1"])] if refined else []),
                     _f(sh["f1"])])
    out += table(["drum", "true onsets", "F1 teacher-forced", "P free", "R free", "F1 free", "F1 decoded",
                  *(["F1 decoded-refined"] if refined else []), "F1 shuffle"], rows,
                 "lrrrrrr" + ("r" if refined else "") + "r")
    if rec.get("by_style"):
        out += ["", "Decoded step accuracy per GMD style (the style of the file a window was cut from):", ""]
        out += table(["style", "windows", "decoded", *(["decoded-refined", "gain"] if refined else []), "shuffle"],
                     [[style, row["windows"], _f(row["decoded"]),
                       *([_f(row["decoded_refined"]), f"{row['decoded_refined'] - row['decoded']:+.3f}"]
                         if refined else []), _f(row["shuffle"])]
                      for style, row in rec["by_style"].items()],
                     "lrr" + ("rr" if refined else "") + "r")
    return out


def samples_section(feats, images):
    """Section 2: each feature's distribution over every set against the real windows'."""
    vs_real = feats["vs_real"]
    order = [k for k in vs_real if k.startswith("samples")]
    order += [k for k in ("shuffle", "real vs real", "train vs real", "interpolation", "interpolation refined",
                          "crossfade", "variations", "variations refined") if k in vs_real]
    means = [k for k in order if k.startswith("samples")]
    out = ["", "## 2. Samples against real drumming", "",
           "Each feature's distribution over a set against the real windows': overlap / KL(real ‖ set) of "
           "Gaussian KDEs on a shared grid. shuffle = real windows with their steps shuffled (a floor on "
           "temporal features; densities are unchanged by construction); real vs real = one half of the split's "
           "performances against the other half (a ceiling; each half has half the windows, so it is a slightly "
           "low one); train vs real = as many train windows as the split has, against the split (a ceiling at "
           "the samples' set size); interpolation / crossfade = in-between points of the paths in section 4 "
           "(refined: between refined codes); variations = one variation of each of a subset of the windows, "
           "from its encoder mean or its refined code.", ""]
    rows = [[feat, f"{moments['mean']:.3f} ± {moments['std']:.3f}",
             *(f"{vs_real[k][feat]['mean']:.3f} ± {vs_real[k][feat]['std']:.3f}" for k in means),
             *(f"{_f(vs_real[k][feat]['overlap'], '{:.2f}')} / {_f(vs_real[k][feat]['kl'], '{:.2f}')}" for k in order)]
            for feat, moments in feats["real"].items()]
    out += table(["feature", "real mean ± std", *(f"{k} mean ± std" for k in means), *order], rows,
                 "lr" + "r" * (len(means) + len(order)))
    out += ["", "Cells after the means: overlap / KL (nats)."]
    if "features.png" in images:
        out += ["", "![feature histograms](features.png)"]
    return out


def two_sample_section(two):
    """Section 3: the classifier two-sample tests, each with its folds."""
    out = ["", "## 3. Classifier two-sample test", "",
           "L2-regularised logistic regression (bgmaker.metrics.two_sample) on each beat's MGEval-style features "
           "and its per-drum hit rate at each 16th of the bar, telling one set from the other; balanced accuracy "
           "over held-out folds grouped by performance (overlapping windows of one performance never straddle "
           "folds; each model sample is its own group). 0.5 = indistinguishable. The real-vs-train row is what "
           "real drumming reaches against real drumming from other performances.", ""]
    rows = [[name, _f(t["accuracy"]), t["folds"], ", ".join(f"{a:.2f}" for a in t["fold_accuracies"]) or "–",
             f"{t['n_a']} ({t['groups_a']}) vs {t['n_b']} ({t['groups_b']})"] for name, t in two.items()]
    return out + table(["sets", "accuracy", "folds", "per fold", "grids (groups)"], rows, "lrrll")


def interpolation_section(interp, vs_real, images):
    """Section 4: each interpolation method's path figures and realism, and the mean distance curves."""
    out = ["", "## 4. Interpolation", ""]
    if not interp.get("pairs"):
        return out + ["No interpolation (fewer than two windows or --interpolations 0)."]
    out += [f"{interp['pairs']} pairs of real windows from different performances, mean normalised Hamming "
            f"distance between the two ends {interp['endpoint_distance']:.3f}. Latent: slerp between the "
            "posterior means, decoded by BeatGenerator; crossfade: a per-cell dissolve in data space "
            "(metrics.crossfade).", ""]
    names = {"model": ("interpolation", "latent, between encoder means"),
             "refined": ("interpolation refined", "latent, between refined codes"),
             "crossfade": ("crossfade", "data-space crossfade")}
    rows = []
    for method in [m for m in names if m in interp]:
        i, (set_name, label) = interp[method], names[method]
        realism = vs_real.get(set_name)
        realism = float(np.mean([v["overlap"] for v in realism.values()])) if realism else None
        rows.append([label, _f(i["monotonicity"]), _f(i["smoothness"]), _f(i["endpoint_error"]), _f(realism)])
    out += table(["method", "monotonicity", "smoothness", "endpoint error", "in-between realism (mean overlap)"],
                 rows, "lrrrr")
    out += [""] + table(
        ["alpha", "model d(start)", "model d(end)", "crossfade d(start)", "crossfade d(end)"],
        [[f"{alpha:.3f}", *(f"{interp[method][curve][k]:.3f}" for method in ("model", "crossfade")
                             for curve in ("d_start", "d_end"))]
         for k, alpha in enumerate(interp["alphas"])],
        "rrrrr")
    for image in ("interpolation.png", "interpolation_example.png"):
        if image in images:
            out += ["", f"![{image[:-4]}]({image})"]
    return out


DEFINITIONS = [
    "", "## Definitions", "",
    "Formulas are in the docstrings of bgmaker/metrics: step accuracy = fraction of steps whose 9-drum "
    "row (one of 512 classes) matches; onset P/R/F1 pooled over all cells of a drum; densities = hits / "
    "64 steps; active instruments = drums hit at least once; syncopation = Longuet-Higgins–Lee strength "
    "of the kit's onsets per bar; groove consistency = 1 − mean Hamming distance between all pairs of "
    "bars; two-sample accuracy = mean over the two sets of the share of held-out grids classified into "
    "their own set; monotonicity = share of path steps moving away from the start and towards the end; "
    "smoothness = mean Hamming distance between neighbouring path points (lower is smoother); endpoint "
    "error = mean Hamming distance of a path's ends from the windows it joins.", ""]


def plot_features(report, real, samples, shuffled, path):
    """Histograms of every feature: real windows, samples, shuffle baseline; overlap in each title."""
    tables = {"real": metrics.feature_table(real), "samples": metrics.feature_table(samples),
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
        for (label, of_set), color in zip(tables.items(), ("black", "tab:orange", "tab:gray")):
            if of_set is not None:
                ax.hist(of_set[name], bins=bins, density=True, histtype="step", color=color, label=label,
                        linewidth=1.5 if label != "shuffle" else 1, linestyle="-" if label != "shuffle" else "--")
        user_set = report["settings"]["user_sample_set"]
        overlap = report["features"]["vs_real"].get(user_set, {}).get(name, {}).get("overlap")
        ax.set_title(f"{name}" + (f"  (overlap {overlap:.2f})" if overlap is not None else ""), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{report['model']['run']} step {report['model']['step']}: features of samples "
                 f"(T={report['settings']['user_temperature']:g}) vs "
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
