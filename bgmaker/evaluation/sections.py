"""The sections of an evaluation report, each a plain function of drum grids (bgmaker.metrics), no TensorFlow.

reconstruction (accuracy, onsets and KL per decoding mode, per drum, per style, beside the shuffle floor),
features (each feature's distribution against the real windows', with the real-vs-real ceilings),
two_sample (a classifier telling each set from the real windows), structure (bar repetition, kick on
one), interpolation (distance curves, monotonicity, smoothness against the data-space crossfade) and
novelty (distance to the nearest train window). bgmaker.evaluation.evaluate feeds them the grids;
bgmaker.evaluation.summary reads the headline figures out of what they return.
"""
import numpy as np

from bgmaker import metrics
from bgmaker.evaluation.decode import RECONSTRUCTION_TEMPERATURE
from bgmaker.evaluation.inputs import performance


def summarize_reconstruction(recon, real, decoded, shuffled, styles=None, refined=None):
    """Accuracy, onset P/R/F1, loss and KL for each decoding mode, the decoded reconstructions, and the floor.

    recon: {mode: reconstruction.reconstruct output}; real: the windows'
    grids; decoded: their reconstructions from decode_with_generator (from the
    encoder's means) and refined (from the refined codes, "decoded_refined";
    None: left out); shuffled: each real window with its steps shuffled
    (metrics.shuffle_steps), scored against the original as "shuffle": a
    reconstruction that knows which drums play and how often, but not when.
    styles: each window's style; "by_style" then holds, per style (most
    windows first), its window count and the decoded, refined and shuffle
    step accuracies.
    """
    from bgmaker.data.windows import DRUM_NAMES
    out = {}
    for mode, r in recon.items():
        out[mode] = dict(
            accuracy=metrics.step_accuracy(r["predicted_grids"], r["target_grids"]),
            magenta_accuracy=r["magenta_accuracy"],
            onsets=metrics.onset_prf(r["predicted_grids"], r["target_grids"], names=DRUM_NAMES),
            r_loss=float(r["r_loss"].mean()),
        )
    out["decoded"] = dict(accuracy=metrics.step_accuracy(decoded, real),
                          onsets=metrics.onset_prf(decoded, real, names=DRUM_NAMES),
                          temperature=RECONSTRUCTION_TEMPERATURE)
    out["shuffle"] = dict(accuracy=metrics.step_accuracy(shuffled, real),
                          onsets=metrics.onset_prf(shuffled, real, names=DRUM_NAMES))
    decodings = dict(decoded=decoded, shuffle=shuffled)
    if refined is not None:
        out["decoded_refined"] = dict(accuracy=metrics.step_accuracy(refined, real),
                                      onsets=metrics.onset_prf(refined, real, names=DRUM_NAMES),
                                      temperature=RECONSTRUCTION_TEMPERATURE)
        decodings["decoded_refined"] = refined
    if styles is not None:
        names, counts = np.unique(np.asarray(styles), return_counts=True)
        out["by_style"] = {}
        for style in names[np.argsort(-counts, kind="stable")]:
            m = np.asarray(styles) == style
            out["by_style"][str(style)] = dict(windows=int(m.sum()), **{
                k: metrics.step_accuracy(grids[m], real[m]) for k, grids in decodings.items()})
    # KL depends only on the encoder: the same in both modes up to the posterior sample
    out["kl_bits"] = float(recon["teacher_forced"]["kl_bits"].mean())
    out["kl_bits_std"] = float(recon["teacher_forced"]["kl_bits"].std())
    return out


def compare_features(real, performances, sample_sets, shuffled, reference, path_sets, rng, other_sets=None):
    """Per feature: real mean/std, and for each comparison set its mean/std, KDE overlap and KL vs real.

    Sets: sample_sets ({name: prior samples}); "shuffle" (real windows,
    steps shuffled: a floor on temporal features); "real vs real" (the
    split's performances cut into two halves by metrics.group_halves, one
    half's windows against the other's: what drawing a finite set of real
    drumming costs, a ceiling; each half has half the windows, so KDE noise
    makes it a slightly low ceiling); "train vs real" (as many train windows
    as the split has, against the split: the ceiling at the samples' set
    size, when reference windows are given); and for each interpolation
    method in `path_sets` ({name: paths [pairs, K, 64, 9]}) the in-between
    points k = 1..K-2: are the beats on the way drumming? other_sets: any
    other {name: grids} to score the same way (the variations).
    """
    real_table = metrics.feature_table(real)
    sets = dict(sample_sets, **(other_sets or {}))
    sets["shuffle"] = shuffled
    out = {"real": _moments(real_table), "vs_real": {}}
    if len(set(performances)) >= 2:
        a, b = metrics.group_halves(performances, rng)
        out["vs_real"]["real vs real"] = _compare_tables(metrics.feature_table(real[a]),
                                                         metrics.feature_table(real[b]))
    if reference is not None:
        sets["train vs real"] = reference
    for name, paths in path_sets.items():
        if len(paths) and paths.shape[1] > 2:
            sets[name] = paths[:, 1:-1].reshape(-1, *real.shape[1:])
    for name, grids in sets.items():
        if len(grids):
            out["vs_real"][name] = _compare_tables(real_table, metrics.feature_table(grids))
    return out


def _moments(table):
    return {f: dict(mean=float(v.mean()), std=float(v.std())) for f, v in table.items()}


def _compare_tables(reference, other):
    return {f: dict(mean=float(other[f].mean()), std=float(other[f].std()),
                    **metrics.overlap_and_kl(reference[f], other[f]))
            for f in reference}


def summarize_novelty(sets, reference):
    """metrics.novelty of each set of grids against every reference window (the whole train split)."""
    pool = np.stack([w.grid for w in reference])
    return dict(reference_windows=len(pool), **{name: metrics.novelty(grids, pool) for name, grids in sets.items()})


def summarize_structure(sets):
    """What a drummer hears first, per set of grids: mean bar repetition and kick on the downbeat.

    bar_repetition: Jaccard of bar 3's onsets with bar 1's; kick_on_one: the
    share of bars with a kick on their first sixteenth (bgmaker.metrics.structure).
    Real windows of a groove repeat and land on one; steps shuffled (the
    floor) do neither; train windows are the ceiling from other performances.
    """
    from bgmaker.metrics.structure import bar_repetition, kick_on_one
    return {name: dict(bar_repetition=float(bar_repetition(grids).mean()), kick_on_one=float(kick_on_one(grids).mean()))
            for name, grids in sets.items() if grids is not None and len(grids)}


def two_sample_tests(real, performances, sample_sets, reference, rng):
    """metrics.classifier_two_sample_test of each sample set against the real windows, and the reference.

    {name: result}: "<samples> vs real" per sample set (each sample its own
    group, real windows grouped by performance), and "real vs train" (the
    split's windows against as many train windows; both grouped by
    performance) when reference windows are given: the accuracy that real
    drumming reaches against real drumming with this classifier.
    """
    out = {}
    for name, samples in sample_sets.items():
        out[f"{name} vs real"] = metrics.classifier_two_sample_test(
            samples, real, [f"sample {i}" for i in range(len(samples))], performances, rng)
    if reference:
        out["real vs train"] = metrics.classifier_two_sample_test(
            real, np.stack([w.grid for w in reference]), [f"real {p}" for p in performances],
            [f"train {performance(w)}" for w in reference], rng)
    return out


def crossfade_paths(real, pairs, steps, rng):
    """The data-space baseline path for every pair: metrics.crossfade(A, B) [pairs, steps, 64, 9]."""
    if not pairs:
        return np.zeros((0, steps) + real.shape[1:], bool)
    return np.stack([metrics.crossfade(real[i], real[j], steps, rng) for i, j in pairs])


def summarize_interpolation(real, pairs, path_sets):
    """Distance-to-endpoint curves, monotonicity and smoothness of each method's paths.

    For pair (A, B) and path points k = 0..K-1 (alpha = k/(K-1)):
    d_A[k] = H(path[k], A), d_B[k] = H(path[k], B) with A, B the real
    windows; reported as the mean (and std) curve over pairs, with the
    mean of metrics.monotonicity and metrics.smoothness per path, and the
    endpoint error (d_A[0] + d_B[K-1]) / 2: how far a path's ends are from
    the real windows it should start and end on (0 for the crossfade; the
    mean H(A, B), endpoint_distance, is what a path that ends at the wrong
    window would score).
    """
    if not pairs:
        return dict(pairs=0)
    steps = next(iter(path_sets.values())).shape[1]
    out = dict(pairs=len(pairs), alphas=np.linspace(0, 1, steps).tolist(),
               endpoint_distance=float(np.mean([metrics.hamming(real[i], real[j]) for i, j in pairs])))
    for name, paths in path_sets.items():
        curves = [metrics.distance_curves(p, real[i], real[j]) for p, (i, j) in zip(paths, pairs)]
        d_a = np.array([c[0] for c in curves])
        d_b = np.array([c[1] for c in curves])
        out[name] = dict(
            d_start=d_a.mean(0).tolist(), d_start_std=d_a.std(0).tolist(),
            d_end=d_b.mean(0).tolist(), d_end_std=d_b.std(0).tolist(),
            monotonicity=float(np.mean([metrics.monotonicity(a, b) for a, b in zip(d_a, d_b)])),
            smoothness=float(np.mean([metrics.smoothness(p) for p in paths])),
            detour=float(np.nanmean([metrics.detour(p) for p in paths])) if len(paths) else None,
            endpoint_error=float(np.mean((d_a[:, 0] + d_b[:, -1]) / 2)),
        )
    return out
