"""Do the latent priors and attribute vectors steer? Style control, the default prior, attribute responses.

`evaluate(generator, run)` scores a model's LatentMap (bgmaker.generation.priors)
and writes priors_evaluation.json / .md / .png beside it:

(a) Style control. A style classifier (a multinomial L2 logistic regression on
    bgmaker.metrics.two_sample.grid_statistics, styles weighted equally) is
    trained on the run's real train windows of the offered styles. For each
    style: the share of STYLE_SAMPLES samples from its prior the classifier
    hears as that style, beside the share of the style's real test windows
    heard as itself (the ceiling: what real drumming of that style scores)
    and the share of samples from N(0, I) heard as that style (the floor).
    Each style prior is first refitted as a tied mixture of K clusters for K
    in STYLE_CLUSTERS (bgmaker.generation.priors: K = 1 is one Gaussian), one
    draw per sample, and K is chosen on the validation windows
    (choose_setting); then a style's samples are the best of `draws`
    candidates by the latent style critic: that number is chosen the same
    way from STYLE_DRAWS. Both are saved with the priors; the test table
    shows the prior alone beside the chosen draws. The critic judges
    latent codes and never sees a grid; the classifier here judges decoded
    grids and never sees a code: two models of style fitted on the same train
    windows, one steering and one listening.
(b) The default prior. On the validation windows, SAMPLES samples from each
    candidate (CANDIDATES), drawn PRIOR_DRAWS times (each draw its own samples
    and classifier folds; the figures are the draws' mean, copies their sum),
    are scored: the classifier two-sample test
    against the real windows (0.5 = indistinguishable), feature overlap, bar
    repetition, and novelty (each sample's nearest train window, in cells of
    the 64 x 9 grid; copies = distance 0). The default is the candidate with
    the lowest two-sample accuracy among those that copy no train window;
    the same figures are then reported on the test windows.
(c) Attribute responses. ATTRIBUTE_SAMPLES samples from the default prior are
    pushed by each attribute vector at AMOUNTS, decoded, and every attribute
    (bgmaker.metrics.attributes) is measured: the change from amount 0, in
    units of the attribute's standard deviation over real train windows,
    for the attribute pushed and beside it for the others.

Everything is decoded at generate's temperature with seeded sampling, so the
report repeats. Gate lines (the issue "Steer the beats"): every offered style
heard as itself at least STYLE_SHARE of its real windows' rate; the default
prior ahead of N(0, I) on the two-sample test by at least PRIOR_MARGIN with no
copies; each attribute monotonic over AMOUNTS and moving itself more than any
other attribute.
"""
import json
import time
from pathlib import Path

import numpy as np

from bgmaker import metrics
from bgmaker.evaluation.markdown import table
from bgmaker.generation.generator import DEFAULT_TEMPERATURE
from bgmaker.generation.priors import STYLE_CLUSTERS, STYLE_DRAWS

# Sample counts: at 256 samples and 128 per style, re-fits differing only in float rounding moved the default
# prior candidates' two-sample accuracies by up to 0.06 and a style's share by up to 0.16 (best-of-N samples
# cluster, so they count for fewer), which flipped the default prior's choice; four times as many halve that.
SAMPLES = 1024
STYLE_SAMPLES = 512
ATTRIBUTE_SAMPLES = 64
AMOUNTS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
CANDIDATES = ("normal", "run", "beat", "mixture", "clusters")
STYLE_SHARE = 0.8     # gate: a style's samples heard as it, against its real windows' rate
PRIOR_MARGIN = 0.05   # gate: the default prior's two-sample accuracy below N(0, I)'s by this much
MIN_HELD_OUT = 20     # a style's real test windows needed to measure its ceiling (fewer: reported, not gated)
# A step of a response curve may dip by this much (std units) and still count as monotonic: the mean of
# ATTRIBUTE_SAMPLES samples moves by about 1/sqrt(64) = 0.12 std between two draws of the same amount.
DIP = 0.1
TIE = 0.02            # two-sample accuracies this close count as equal (one draw's noise at SAMPLES samples: ~0.015)
# The default prior's figures are the mean of this many draws (the samples' seed and the classifier's folds both
# change): one draw moved a candidate's accuracy by up to 0.022 (reports/default_prior_margin.md), as much as TIE
# and half the gate's margin, and overstated v1_all's margin over N(0, I) (0.038 one draw, 0.023 three).
PRIOR_DRAWS = 3
REPORT = "priors_evaluation"


def style_classifier(grids, styles, l2=metrics.two_sample.L2):
    """predict(grids) -> style names: a multinomial logistic regression on grid_statistics, fitted on real windows
    (metrics.fit_softmax: each style's windows weighted equally in total, so the most recorded style is not
    heard everywhere)."""
    classifier = metrics.fit_softmax(metrics.grid_statistics(grids), styles, l2)
    return lambda new: classifier.predict(metrics.grid_statistics(new))


def style_shares(generator, latent, offered, predict, grids, styles, seed, draws, splits=("validation", "test")):
    """{split: {style: share of its samples (drawn with `draws` candidates each) heard as it, its real `split`
    windows' share (the ceiling; measured from MIN_HELD_OUT windows), whether it passes, its samples' novelty}}.
    The samples do not depend on the split: decoded once, read against each split's ceiling."""
    rows = {split: {} for split in splits}
    for style in offered:
        samples = _grids(generator.decode(latent.prior(style, draws).sample(STYLE_SAMPLES, seed),
                                          DEFAULT_TEMPERATURE, seed))
        share = float((predict(samples) == style).mean())
        nearest = metrics.nearest_hamming(samples, grids["train"])
        for split in splits:
            real = grids[split][styles[split] == style]
            ceiling = float((predict(real) == style).mean()) if len(real) else None
            measured = ceiling is not None and len(real) >= MIN_HELD_OUT
            rows[split][style] = {f"{split}_windows": int(len(real)), "samples_as_style": share,
                                  "real_as_style": ceiling,
                                  "passed": share >= STYLE_SHARE * ceiling if measured else None,
                                  "nearest_train_cells": float(nearest.mean()), "copies": int((nearest == 0).sum())}
    return rows


def choose_setting(sweep):
    """A setting of the style priors (a key of sweep: {candidates per sample, or clusters per prior: style_shares
    on validation}): among those whose samples copy no more train windows than the smallest setting's do (the
    prior's own draws; one Gaussian), the most styles passing; then the highest share of its ceiling for the
    weakest measured style; then the smallest (the least tilt away from the style's prior, the fewest
    clusters)."""
    copies = {k: sum(r["copies"] for r in sweep[k].values()) for k in sweep}
    def key(k):
        rows = [r for r in sweep[k].values() if r["passed"] is not None]
        weakest = min((r["samples_as_style"] / max(r["real_as_style"], 1e-9) for r in rows), default=0.0)
        return (sum(r["passed"] for r in rows), round(weakest, 3), -k)
    return max((k for k in sweep if copies[k] <= copies[min(sweep)]), key=key)


def _grids(beats):
    from bgmaker.data.windows import to_grid
    return np.stack([to_grid(ns) for ns in beats])


def sample_grids(generator, latent, prior, n, seed, more=None):
    """n samples from `latent`'s prior, pushed by `more`, decoded as BeatGenerator.sample decodes them, without
    its copy guard: the copies counted here are the prior's own (how near it draws to the train windows), which
    the choices above are made on; the guard then keeps those few from reaching a user."""
    return _grids(generator.decode(latent.steer(latent.prior(prior).sample(n, seed), more), DEFAULT_TEMPERATURE, seed))


def prior_draws(generator, latent, candidates, seed, draws=PRIOR_DRAWS):
    """{candidate: [grids of draw d]}: draw d is SAMPLES samples with seed + d (draw 0: what one draw gave)."""
    return {c: [sample_grids(generator, latent, c, SAMPLES, seed + d) for d in range(draws)] for c in candidates}


def mean_figures(draws, real, performances, train_grids, seed, purpose):
    """prior_figures of each draw's samples, draw d's classifier folds split by [seed + d, purpose]; the mean of
    each figure, copies summed over the draws, the draws' accuracies kept (classifier_draws)."""
    figures = [prior_figures(samples, real, performances, train_grids,
                             np.random.default_rng([seed + d, sum(map(ord, purpose))]))
               for d, samples in enumerate(draws)]
    accuracies = [f["classifier"] for f in figures]
    out = {k: float(np.mean([f[k] for f in figures])) for k in ("overlap", "bar_repetition", "nearest_train_cells")}
    return dict(out, classifier=None if None in accuracies else float(np.mean(accuracies)),
                classifier_draws=accuracies, copies=int(sum(f["copies"] for f in figures)))


def prior_figures(samples, real, performances, train_grids, rng):
    """Two-sample accuracy, feature overlap, bar repetition and novelty of samples against real windows."""
    from bgmaker.metrics.structure import bar_repetition
    test = metrics.classifier_two_sample_test(samples, real, [f"sample {i}" for i in range(len(samples))],
                                              performances, rng)
    real_table, sample_table = metrics.feature_table(real), metrics.feature_table(samples)
    overlap = float(np.mean([metrics.overlap_and_kl(real_table[f], sample_table[f])["overlap"] for f in real_table]))
    nearest = metrics.nearest_hamming(samples, train_grids)
    return dict(classifier=test["accuracy"], overlap=overlap, bar_repetition=float(bar_repetition(samples).mean()),
                nearest_train_cells=float(nearest.mean()), copies=int((nearest == 0).sum()))


def choose_default(figures, real_bar_repetition, tie=TIE):
    """The candidate that copies no train window with the lowest two-sample accuracy; among those within `tie`
    of the lowest, the one whose bar repetition is nearest the real windows'."""
    fair = {k: f for k, f in figures.items() if f["copies"] == 0 and f["classifier"] is not None}
    if not fair:
        return "normal"
    best = min(f["classifier"] for f in fair.values())
    near = [k for k, f in fair.items() if f["classifier"] <= best + tie]
    return min(near, key=lambda k: abs(fair[k]["bar_repetition"] - real_bar_repetition))


def attribute_curves(generator, latent, prior, real_grids, seed):
    """{vector: {attribute: [change at each AMOUNT, in std units of real windows]}}."""
    from bgmaker.metrics.attributes import measure
    real = measure(real_grids)
    spread = {k: float(v.std()) or 1.0 for k, v in real.items()}
    out = {}
    for name in latent.attributes:
        means = []
        for amount in AMOUNTS:
            values = measure(sample_grids(generator, latent, prior, ATTRIBUTE_SAMPLES, seed,
                                          {name: amount} if amount else None))
            means.append({k: float(v.mean()) for k, v in values.items()})
        zero = means[AMOUNTS.index(0.0)]
        out[name] = {k: [(m[k] - zero[k]) / spread[k] for m in means] for k in real}
    return out, spread


def attribute_gate(curves):
    """{vector: (monotonic, own range, largest other range, passed)} over AMOUNTS (ranges in std units);
    monotonic allows a dip of at most DIP between neighbouring amounts (sampling noise)."""
    out = {}
    for name, responses in curves.items():
        own = np.asarray(responses[name])
        monotonic = bool(np.all(np.diff(own) >= -DIP))
        others = max(abs(r[-1] - r[0]) for k, r in responses.items() if k != name)
        out[name] = dict(monotonic=monotonic, own=float(own[-1] - own[0]), other=float(others),
                         passed=bool(monotonic and own[-1] - own[0] > others))
    return out


def evaluate(generator, latent, run, output_dir, seed=0, log=print):
    """Score `latent` (a LatentMap of the generator's model) on the run's validation and test windows, set its
    default prior (info['default_prior']: save it after), write the report into output_dir; return it."""
    from bgmaker.data.gmd import style_of
    from bgmaker.data.windows import performance_of, read_windows
    from bgmaker.paths import portable
    started = time.time()
    folder = Path(output_dir)
    split_windows = {split: read_windows(run.examples_path(split))[0] for split in ("train", "validation", "test")}
    grids = {split: np.stack([w.grid for w in ws]) for split, ws in split_windows.items()}
    groups = {split: [performance_of(w.sequence) for w in ws] for split, ws in split_windows.items()}
    styles = {split: np.array([style_of(w.sequence.filename) or "other" for w in ws])
              for split, ws in split_windows.items()}

    # The style priors' clusters come first: MIXTURE, a default-prior candidate below, is made of them.
    offered = [s for s in latent.priors if s in set(styles["train"]) and s not in ("run",)]
    style_rows, draws_sweep, clusters_sweep, predict = {}, {}, {}, None
    if len(offered) >= 2:
        m = np.isin(styles["train"], offered)
        predict = style_classifier(grids["train"][m], styles["train"][m])
        if latent.refit_styles is not None:
            log(f"style priors: clusters each, on the validation windows: {', '.join(map(str, STYLE_CLUSTERS))}")
            refits = {k: latent.with_style_clusters(k) for k in STYLE_CLUSTERS}
            clusters_sweep = {k: style_shares(generator, refit, offered, predict, grids, styles, seed, 1,
                                              ("validation",))["validation"] for k, refit in refits.items()}
            chosen_clusters = choose_setting(clusters_sweep)
            latent.priors.update(refits[chosen_clusters].priors)
            latent.info["style_clusters"] = chosen_clusters
            latent.info["style_clusters_chosen_on"] = ("validation, one draw each: no more copied train windows "
                                                       "than one Gaussian per style makes, then the most styles "
                                                       f"heard as themselves at least {STYLE_SHARE:.0%} as often "
                                                       "as their real windows, then the weakest style's share of "
                                                       "its ceiling highest, then the fewest clusters")
            log(f"  chosen: {chosen_clusters}")

    log(f"default prior: candidates on the validation windows ({PRIOR_DRAWS} draws each)")
    candidates = [c for c in CANDIDATES if c in latent.names()]
    drawn = prior_draws(generator, latent, candidates, seed)
    validation = {c: mean_figures(drawn[c], grids["validation"], groups["validation"], grids["train"], seed,
                                  "validation") for c in candidates}
    from bgmaker.metrics.structure import bar_repetition
    real_repetition = {split: float(bar_repetition(g).mean()) for split, g in grids.items()}
    default = choose_default(validation, real_repetition["validation"])
    latent.info["default_prior"] = default
    latent.info["default_prior_chosen_on"] = (f"validation: no copied train window, lowest two-sample accuracy "
                                              f"(within {TIE}: bar repetition nearest the real windows')")
    log(f"  chosen: {default}; on the test windows:")
    test = {c: mean_figures(drawn[c], grids["test"], groups["test"], grids["train"], seed, "test") for c in candidates}
    real_nearest = metrics.nearest_hamming(grids["test"], grids["train"])
    reference = dict(nearest_train_cells=float(real_nearest.mean()), copies=int((real_nearest == 0).sum()))

    if predict is not None:
        log(f"style control: {len(offered)} styles")
        shares = {}  # {draws: {split: rows}}
        if latent.critic is not None:
            log(f"  candidates per sample, on the validation windows: {', '.join(map(str, STYLE_DRAWS))}")
            shares = {k: style_shares(generator, latent, offered, predict, grids, styles, seed, k)
                      for k in STYLE_DRAWS}
            draws_sweep = {k: s["validation"] for k, s in shares.items()}
            latent.info["style_draws"] = choose_setting(draws_sweep)
            latent.info["style_draws_chosen_on"] = ("validation: no more copied train windows than one draw "
                                                    "makes, then the most styles "
                                                    f"heard as themselves at least {STYLE_SHARE:.0%} as often as "
                                                    "their real windows, then the weakest style's share of its "
                                                    "ceiling highest, then the fewest candidates")
            log(f"  chosen: {latent.style_draws}")
        for k in {1, latent.style_draws} - set(shares):
            shares[k] = style_shares(generator, latent, offered, predict, grids, styles, seed, k, ("test",))
        plain, chosen = shares[1]["test"], shares[latent.style_draws]["test"]
        normal_heard = predict(sample_grids(generator, latent, "normal", STYLE_SAMPLES, seed))
        for style in offered:
            row = dict(chosen[style], normal_as_style=float((normal_heard == style).mean()),
                       prior_alone_as_style=plain[style]["samples_as_style"], draws=latent.style_draws)
            style_rows[style] = row
    log("attribute responses")
    curves, spread = attribute_curves(generator, latent, default, grids["train"], seed)
    report = dict(
        model=dict(run=run.name, checkpoint=portable(generator.checkpoint)),
        settings=dict(samples=SAMPLES, prior_draws=PRIOR_DRAWS, style_samples=STYLE_SAMPLES,
                      attribute_samples=ATTRIBUTE_SAMPLES,
                      amounts=list(AMOUNTS), temperature=DEFAULT_TEMPERATURE, seed=seed),
        windows={split: len(ws) for split, ws in split_windows.items()},
        default_prior=dict(chosen=default, validation=validation, test=test, real_test_windows=reference,
                           real_bar_repetition=real_repetition),
        styles=style_rows, style_draws=dict(chosen=latent.style_draws, validation={
            str(k): v for k, v in draws_sweep.items()}),
        style_clusters=dict(chosen=int(latent.info.get("style_clusters", 1)), validation={
            str(k): v for k, v in clusters_sweep.items()}), attributes=dict(curves=curves, spread=spread, gate=attribute_gate(curves)),
        command=f"bgmaker priors --run {run.name}", seconds=round(time.time() - started, 1))
    report["gate"] = gate_lines(report)
    write(report, folder)
    return report


def gate_lines(report):
    """[(text, passed)] of the issue's gate on this report."""
    lines = []
    rows = {s: r for s, r in report["styles"].items() if r["passed"] is not None}
    if rows:
        worst = min(rows, key=lambda s: rows[s]["samples_as_style"] / max(rows[s]["real_as_style"], 1e-9))
        lines.append((f"every offered style heard as itself at least {STYLE_SHARE:.0%} as often as its real test "
                      f"windows (weakest: {worst}, {rows[worst]['samples_as_style']:.2f} vs "
                      f"{rows[worst]['real_as_style']:.2f})", all(r["passed"] for r in rows.values())))
    test = report["default_prior"]["test"]
    chosen = report["default_prior"]["chosen"]
    a, b = test[chosen]["classifier"], test["normal"]["classifier"]
    if a is None or b is None:
        lines.append((f"default prior '{chosen}': no two-sample accuracy (too few performances to hold out)", False))
    else:
        lines.append((f"default prior '{chosen}' two-sample accuracy {a:.3f} vs N(0, I) {b:.3f} (needs ≤ "
                      f"{b - PRIOR_MARGIN:.3f}), {test[chosen]['copies']} copied train windows",
                      a <= b - PRIOR_MARGIN and test[chosen]["copies"] == 0))
    for name, g in report["attributes"]["gate"].items():
        lines.append((f"attribute '{name}': {'monotonic' if g['monotonic'] else 'not monotonic'}, moves itself "
                      f"{g['own']:+.2f} std over {AMOUNTS[0]:+g}…{AMOUNTS[-1]:+g}, others at most {g['other']:.2f}",
                      g["passed"]))
    return [dict(line=t, passed=bool(p)) for t, p in lines]


def _accuracy(figures):
    """A two-sample accuracy cell: the mean, with the draws' spread when there were several."""
    draws = [a for a in figures.get("classifier_draws") or [] if a is not None]
    if len(draws) > 1:
        return f"{figures['classifier']:.3f} ± {np.std(draws):.3f}"
    return _f(figures["classifier"])


def markdown(report):
    d = report["default_prior"]
    draws = report["settings"].get("prior_draws", 1)
    out = [f"# Latent priors and attribute vectors: {report['model']['run']}", "",
           f"- model: `{report['model']['checkpoint']}`; windows: " + ", ".join(
               f"{k} {v}" for k, v in report["windows"].items()),
           f"- samples decoded at temperature {report['settings']['temperature']:g}, seed {report['settings']['seed']}; "
           f"{report['seconds']} s", f"- reproduce: `{report['command']}`", "", "## Gate", ""]
    out += [f"- {'PASS' if g['passed'] else 'FAIL'}: {g['line']}" for g in report["gate"]]
    out += ["", "## Default prior", "",
            f"Chosen on validation: **{d['chosen']}** (among the candidates that copy no train window, the lowest "
            f"two-sample accuracy; within {TIE} of it, the bar repetition nearest the real windows': "
            f"validation {d['real_bar_repetition']['validation']:.3f}, test {d['real_bar_repetition']['test']:.3f}). "
            "Classifier: 0.5 = indistinguishable from real windows; nearest train window in cells "
            "of the 64 × 9 grid (real test windows: "
            f"{d['real_test_windows']['nearest_train_cells']:.1f}, {d['real_test_windows']['copies']} identical)."
            + (f" Each figure: the mean of {draws} draws of {report['settings']['samples']} samples (classifier: "
               f"± the draws' standard deviation); copies: of all {draws * report['settings']['samples']}."
               if draws > 1 else ""), ""]
    out += table(["split", "prior", "classifier", "feature overlap", "bar 3 = bar 1", "nearest train window", "copies"],
                 [[split, name, _accuracy(f), _f(f["overlap"]), _f(f["bar_repetition"]),
                   f"{f['nearest_train_cells']:.1f}", f["copies"]]
                  for split in ("validation", "test") for name, f in d[split].items()],
                 "llrrrrr")
    if report["styles"]:
        draws = (report.get("style_draws") or {}).get("chosen", 1)
        out += ["", "## Style control", "",
                "Share of samples a style classifier (trained on real train windows) hears as the style asked for; "
                "ceiling: the style's real test windows heard as themselves; floor: N(0, I) samples heard as it. "
                f"A style with fewer than {MIN_HELD_OUT} test windows has no ceiling to gate against (–, or "
                "in parentheses). "
                + (f"A style's samples are drawn from its prior, {draws} candidates each, keeping the one the "
                   "latent style critic rates most that style's (bgmaker.generation.priors; the number chosen on "
                   "validation, below); beside them, one draw each (the prior alone). " if draws > 1 else
                   "A style's samples are drawn from its prior, one draw each. ")
                + "Nearest train window and copies: of the samples as offered.", ""]
        rows = []
        for style, r in report["styles"].items():
            ceiling = _f(r["real_as_style"], "{:.2f}")
            ceiling = f"({ceiling})" if r["passed"] is None and r["real_as_style"] is not None else ceiling
            mark = "" if r["passed"] is None else (" ✓" if r["passed"] else " ✗")
            alone = r.get("prior_alone_as_style", r["samples_as_style"])
            rows.append([style, r["test_windows"], f"{r['samples_as_style']:.2f}{mark}", f"{alone:.2f}", ceiling,
                         f"{r['normal_as_style']:.2f}", _f(r.get("nearest_train_cells"), "{:.1f}"),
                         r.get("copies", "–")])
        out += table(["style", "test windows", f"samples (best of {draws})", "samples (prior alone)",
                      "real test windows (ceiling)", "N(0, I) (floor)", "nearest train window", "copies"],
                     rows, "lrrrrrrr")
        clusters = report.get("style_clusters") or {}
        if clusters.get("validation"):
            out += ["", f"Clusters per style prior, one draw each, on the validation windows (chosen: "
                    f"**{clusters['chosen']}**; 1 = one Gaussian; ceiling: the style's real validation windows; ✓/✗ "
                    f"against it where there are {MIN_HELD_OUT} or more):", ""]
            out += sweep_table(clusters["validation"], "{} clusters")
        sweep = (report.get("style_draws") or {}).get("validation") or {}
        if sweep:
            out += ["", f"Candidates per sample, on the validation windows (chosen: **{draws}**; "
                    "ceiling: the style's real validation windows; ✓/✗ against it where there are "
                    f"{MIN_HELD_OUT} or more):", ""]
            out += sweep_table(sweep, "best of {}")
    curves = report["attributes"]["curves"]
    out += ["", "## Attribute vectors", "",
            "Change of each attribute (columns) when a vector (rows) is added at −2 and +2, in standard "
            "deviations of the attribute over real train windows (bgmaker.metrics.attributes); the pushed "
            "attribute in bold.", ""]
    attributes = list(next(iter(curves.values()), {}))
    rows = []
    for name, responses in curves.items():
        cells = [f"{r[0]:+.2f} … {r[-1]:+.2f}" for r in responses.values()]
        rows.append([name, *(f"**{c}**" if k == name else c for k, c in zip(responses, cells))])
    out += table(["vector", *attributes], rows, "l" + "r" * len(attributes))
    out += ["", f"![attribute responses]({REPORT}.png)", ""]
    return "\n".join(out)


def sweep_table(sweep, heading):
    """Markdown rows of a validation sweep ({setting: style_shares rows}): a column per setting."""
    ks = list(sweep)
    styles = list(next(iter(sweep.values())))
    rows = []
    for style in styles:
        first = sweep[ks[0]][style]
        cells = []
        for k in ks:
            r = sweep[k][style]
            mark = "" if r["passed"] is None else (" ✓" if r["passed"] else " ✗")
            cells.append(f"{r['samples_as_style']:.2f}{mark}")
        rows.append([style, first["validation_windows"], _f(first["real_as_style"], "{:.2f}"), *cells])
    rows.append(["copies of train windows", "", "", *(sum(r["copies"] for r in sweep[k].values()) for k in ks)])
    return table(["style", "validation windows", "ceiling", *(heading.format(k) for k in ks)], rows,
                 "lrr" + "r" * len(ks))


def _f(value, fmt="{:.3f}"):
    return "–" if value is None else fmt.format(value)


def plot(report, path):
    from matplotlib.figure import Figure
    curves = report["attributes"]["curves"]
    fig = Figure(figsize=(3.2 * max(len(curves), 1), 3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(curves), 1)))
    for ax, (name, responses) in zip(axes, curves.items()):
        for k, r in responses.items():
            ax.plot(AMOUNTS, r, linewidth=2.5 if k == name else 1, label=k, alpha=1 if k == name else 0.6)
        ax.set_title(f"+ {name} vector", fontsize=9)
        ax.set_xlabel("amount", fontsize=8)
        ax.axhline(0, color="gray", linewidth=0.5)
    axes[0].set_ylabel("change (std of real windows)", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=90)
    return path


def rewrite(folder):
    """Rewrite a report's gate, markdown and plot from its evaluation json (after a change of the gate's rule)."""
    folder = Path(folder)
    report = json.loads((folder / f"{REPORT}.json").read_text())
    report["attributes"]["gate"] = attribute_gate(report["attributes"]["curves"])
    report["gate"] = gate_lines(report)
    write(report, folder)
    return report


def write(report, folder):
    from bgmaker.evaluation.report import jsonable
    folder = Path(folder)
    (folder / f"{REPORT}.json").write_text(json.dumps(jsonable(report), indent=1) + "\n")
    plot(report, folder / f"{REPORT}.png")
    (folder / f"{REPORT}.md").write_text(markdown(report))


def fit_and_evaluate(run, checkpoint=None, output_dir=None, evaluate_too=True, min_windows=None, log=print):
    """Fit a model's latent priors and attribute vectors on its run's windows, evaluate them, save them beside it.

    The one pipeline behind `bgmaker priors` and the campaign's ship (a model
    shipped anew gets priors of its own latent space, never its
    predecessor's). Returns (latent map, report or None, paths written).
    FileNotFoundError names a split that is not converted.
    """
    from bgmaker.generation import priors
    from bgmaker.generation.generator import BeatGenerator
    splits = {split: run.examples_path(split) for split in ("train", "validation") + (("test",) if evaluate_too else ())}
    missing = [str(p) for p in splits.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no converted data for run {run.name} ({', '.join(missing)}); "
                                f"make it with: scripts/convert_gmd.sh --run {run.name}")
    generator = BeatGenerator.load(run=run.name, checkpoint=checkpoint, batch_size=256)
    log(f"model: {generator.choice.why}")
    out = Path(output_dir or Path(generator.checkpoint).parent)
    report = None
    try:
        latent = priors.fit_model(generator, splits["train"], splits["validation"],
                                  min_windows=min_windows or priors.MIN_WINDOWS, log=log)
        written = latent.save(out)
        if evaluate_too:
            report = evaluate(generator, latent, run, out, log=log)
            latent.save(out)  # with the default prior the evaluation chose
            written += [out / f"{REPORT}.{ext}" for ext in ("md", "json", "png")]
    finally:
        generator.close()
    return latent, report, written
