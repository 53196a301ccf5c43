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
    Each style prior is refitted as a tied mixture of K clusters for K in
    STYLE_CLUSTERS (bgmaker.generation.priors: K = 1 is one Gaussian), and its
    samples are the best of D candidates by the latent style critic for D in
    STYLE_DRAWS; (K, D) is chosen per style on the validation windows
    (choose_style_settings: the most heard as the style among the settings
    whose samples stay at least NOVELTY_SHARE as far from the train windows
    as the style's real windows are from other performances' windows). Both
    are saved with the priors; the test table shows the prior alone (D = 1)
    beside the chosen setting. The critic judges
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
NOVELTY_SHARE = 0.5   # a style prior's samples: at least this share of real drumming's distance to the train set
NOVELTY_WINDOWS = 256  # real train windows per style whose distance to other performances scales novelty
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


def real_novelty(grids, styles, groups, offered, seed, n=NOVELTY_WINDOWS):
    """{style: mean cells from up to n of its real train windows (seeded) to the nearest train window of another
    performance}: how near new real drumming of the style comes to the recorded ones, the scale for its samples'
    nearest train window (a sample nearer than this is nearer the train windows than a new performance is)."""
    rng = np.random.default_rng(seed)
    out = {}
    for style in offered:
        members = np.flatnonzero(styles == style)
        members = np.sort(rng.choice(members, min(n, len(members)), replace=False))
        nearest = metrics.nearest_hamming(grids[members], grids, groups=np.asarray(groups, dtype=object)[members],
                                          pool_groups=groups)
        nearest = nearest[np.isfinite(nearest)]
        out[style] = float(nearest.mean()) if len(nearest) else None
    return out


def choose_style_settings(sweep, real_nearest, share=NOVELTY_SHARE):
    """{style: (clusters, candidates)}: per style, among the settings (keys of sweep: {(clusters per prior,
    candidates per sample): style_shares on validation}) whose samples come, on average, no nearer the train
    windows than `share` of the distance from the style's real windows to the nearest window of another
    performance (real_nearest: real_novelty), the one whose samples the classifier hears as the style most
    often (to 2 decimals; then the fewest clusters, then the fewest candidates). The smallest setting when none
    stays that far, or when the style has no such distance.

    Both knobs make a style's samples more the style's (more clusters: nearer its own grooves; more
    candidates: the critic's pick) and bring them nearer its train windows, so each style gets as much of
    them as keeps its beats new; a style of few or repetitive windows (country: 116) nears copying first.
    Per style, and with no ceiling needed: a style with few validation windows (hiphop: 12) is chosen for as
    well as any. The copies these samples hold are not counted: sample's copy guard draws every copy again.
    """
    keys = sorted(sweep, key=lambda kd: tuple(-1 if v is None else v for v in kd))
    out = {}
    for style in next(iter(sweep.values()), {}):
        reference = real_nearest.get(style)
        kept = [kd for kd in keys if reference is not None
                and sweep[kd][style]["nearest_train_cells"] >= share * reference]
        out[style] = max(kept, key=lambda kd: round(sweep[kd][style]["samples_as_style"], 2)) if kept else keys[0]
    return out


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

    # The style priors' settings come first: MIXTURE, a default-prior candidate below, is made of them.
    offered = [s for s in latent.priors if s in set(styles["train"]) and s not in ("run",)]
    style_rows, settings_sweep, predict = {}, {}, None
    if len(offered) >= 2:
        m = np.isin(styles["train"], offered)
        predict = style_classifier(grids["train"][m], styles["train"][m])
        style_novelty = real_novelty(grids["train"], styles["train"], groups["train"], offered, seed)
        clusters = STYLE_CLUSTERS if latent.refit_styles is not None else (None,)  # None: the map's own
        draws = STYLE_DRAWS if latent.critic is not None else (1,)
        maps = {k: latent if k is None else latent.with_style_clusters(k) for k in clusters}
        log(f"style priors: clusters {', '.join(map(str, clusters))} x candidates {', '.join(map(str, draws))}, "
            "on the validation windows")
        # each setting's samples, decoded once, read against both splits' ceilings: the test table below takes
        # the chosen setting's and its one-draw setting's rows from here
        decoded = {(k, d): style_shares(generator, maps[k], offered, predict, grids, styles, seed, d)
                   for k in clusters for d in draws}
        settings_sweep = {kd: rows["validation"] for kd, rows in decoded.items()}
        chosen = choose_style_settings(settings_sweep, style_novelty)
        latent.priors.update({style: maps[k].priors[style] for style, (k, _) in chosen.items()})
        if latent.refit_styles is not None:
            latent.info["style_clusters"] = {style: int(k) for style, (k, _) in chosen.items()}
        latent.info["style_draws"] = {style: int(d) for style, (_, d) in chosen.items()}
        latent.info["style_settings_chosen_on"] = (
            "validation, per style: among the clusters x candidates whose samples stay, on average, at least "
            f"{NOVELTY_SHARE:.0%} as far from the nearest train window as the style's real train windows are from "
            "the nearest window of another performance, the one whose samples are heard as the style most often "
            "(then the fewest clusters, then the fewest candidates); one Gaussian, one draw when none stays")
        log("  chosen: " + ", ".join(f"{s} {k}x{d}" for s, (k, d) in chosen.items()))

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
        log(f"style control on the test windows: {len(offered)} styles")
        normal_heard = predict(sample_grids(generator, latent, "normal", STYLE_SAMPLES, seed))
        for style in offered:
            k, d = chosen[style]
            row = dict(decoded[(k, d)]["test"][style], normal_as_style=float((normal_heard == style).mean()),
                       prior_alone_as_style=decoded[(k, 1)]["test"][style]["samples_as_style"], draws=d,
                       clusters=latent.prior(style).clusters,
                       real_nearest_other_performance=style_novelty[style])
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
        styles=style_rows, style_settings=dict(novelty_share=NOVELTY_SHARE, chosen={
            style: [k, d] for style, (k, d) in chosen.items()} if settings_sweep else {}, validation={
            f"{k}x{d}": rows for (k, d), rows in settings_sweep.items()}),
        attributes=dict(curves=curves, spread=spread, gate=attribute_gate(curves)),
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
        out += style_control_markdown(report)
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


def style_control_markdown(report):
    """The "Style control" section: the test table, then the validation sweep the settings were chosen on
    (per style since 2026-12-07's third session; one number for every style in older reports)."""
    settings = report.get("style_settings")
    draws = (report.get("style_draws") or {}).get("chosen", 1)
    per_style = settings is not None
    how = ("A style's samples are drawn from its prior (a tied mixture of K clusters), D candidates each, keeping "
           "the one the latent style critic rates most that style's (bgmaker.generation.priors); K × D chosen per "
           "style on validation (below); beside them, one draw each (the prior alone). " if per_style else
           f"A style's samples are drawn from its prior, {draws} candidates each, keeping the one the latent style "
           "critic rates most that style's (bgmaker.generation.priors; the number chosen on validation, below); "
           "beside them, one draw each (the prior alone). " if draws > 1 else
           "A style's samples are drawn from its prior, one draw each. ")
    out = ["", "## Style control", "",
           "Share of samples a style classifier (trained on real train windows) hears as the style asked for; "
           "ceiling: the style's real test windows heard as themselves; floor: N(0, I) samples heard as it. "
           f"A style with fewer than {MIN_HELD_OUT} test windows has no ceiling to gate against (–, or in "
           "parentheses). " + how + "Nearest train window and copies: of the samples as drawn, before sample's "
           "copy guard draws a copy again; beside them, real train windows of the style to the nearest window of "
           "another performance (how near new real drumming comes).", ""]
    rows = []
    for style, r in report["styles"].items():
        ceiling = _f(r["real_as_style"], "{:.2f}")
        ceiling = f"({ceiling})" if r["passed"] is None and r["real_as_style"] is not None else ceiling
        mark = "" if r["passed"] is None else (" ✓" if r["passed"] else " ✗")
        alone = r.get("prior_alone_as_style", r["samples_as_style"])
        setting = [f"{r.get('clusters', 1)} × {r['draws']}"] if per_style else []
        rows.append([style, r["test_windows"], *setting, f"{r['samples_as_style']:.2f}{mark}", f"{alone:.2f}",
                     ceiling, f"{r['normal_as_style']:.2f}", _f(r.get("nearest_train_cells"), "{:.1f}"),
                     _f(r.get("real_nearest_other_performance"), "{:.1f}"), r.get("copies", "–")])
    out += table(["style", "test windows", *(["K × D"] if per_style else []),
                  "samples" + ("" if per_style else f" (best of {draws})"), "samples (prior alone)",
                  "real test windows (ceiling)", "N(0, I) (floor)", "nearest train window",
                  "real: nearest other performance", "copies"], rows, "lr" + "r" * (7 + per_style))
    if per_style and settings.get("validation"):
        out += ["", "Settings per style, on the validation windows: share of samples heard as the style / their "
                "nearest train window (cells), for K clusters (rows) and D candidates (columns). Chosen (bold): the "
                "most heard as the style among the settings whose samples stay at least "
                f"{settings.get('novelty_share', NOVELTY_SHARE):.0%} as far from the nearest train window as the "
                "style's real windows are from another performance's (choose_style_settings; the share does not "
                "depend on the split, so no ceiling is needed).", ""]
        out += settings_table(settings, {s: r.get("real_nearest_other_performance") for s, r in report["styles"].items()})
        return out
    clusters = report.get("style_clusters") or {}
    if clusters.get("validation"):  # reports before 2026-12-07's third session: one number for every style
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
    return out


def settings_table(settings, real_nearest):
    """Markdown rows of the per-style validation sweep (report["style_settings"]): a row per style and K, a
    column per D; cells "share / nearest", the chosen one in bold."""
    sweep = {tuple(int(v) if v != "None" else None for v in key.split("x")): rows
             for key, rows in settings["validation"].items()}
    ks = sorted({k for k, _ in sweep}, key=lambda k: -1 if k is None else k)
    ds = sorted({d for _, d in sweep})
    rows = []
    for style in next(iter(sweep.values())):
        chosen = tuple(settings["chosen"].get(style, ()))
        first = sweep[(ks[0], ds[0])][style]
        for i, k in enumerate(ks):
            cells = []
            for d in ds:
                r = sweep[(k, d)][style]
                cell = f"{r['samples_as_style']:.2f} / {r['nearest_train_cells']:.1f}"
                picked = len(chosen) == 2 and (k is None or k == chosen[0]) and d == chosen[1]
                cells.append(f"**{cell}**" if picked else cell)
            head = [style, first["validation_windows"], _f(first["real_as_style"], "{:.2f}"),
                    _f(real_nearest.get(style), "{:.1f}")] if i == 0 else ["", "", "", ""]
            rows.append([*head, "own" if k is None else k, *cells])
    return table(["style", "validation windows", "ceiling", "real: nearest other performance", "K",
                  *(f"D = {d}" for d in ds)], rows, "lrrrr" + "r" * len(ds))


def sweep_table(sweep, heading):
    """Markdown rows of a validation sweep of an older report ({setting: style_shares rows}): a column per
    setting."""
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
