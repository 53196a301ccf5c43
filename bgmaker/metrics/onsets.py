"""Reconstruction metrics: is the right drum hit at the right step.

A drum grid row is one of Magenta's 512 drum classes (the set of the 9
reduced classes hit at that step), so comparing whole rows is comparing
classes: `step_accuracy` on grids equals the 512-class accuracy MusicVAE
reports (tf.metrics.accuracy of argmax prediction vs target).
"""
import numpy as np

from bgmaker.drums import DRUM_NAMES


def step_accuracy(predicted, target):
    """Fraction of steps whose whole row matches: mean_s [pred[s, :] == target[s, :]].

    Grids [..., steps, 9]; every step of every grid counts once (micro average,
    as tf.metrics.accuracy streams over all steps of all windows).
    """
    predicted, target = np.asarray(predicted, bool), np.asarray(target, bool)
    if predicted.shape != target.shape:
        raise ValueError(f"grid shapes differ: {predicted.shape} vs {target.shape}")
    return float(np.all(predicted == target, axis=-1).mean())


def onset_prf(predicted, target, names=DRUM_NAMES):
    """Onset precision, recall and F1 per drum class, pooled over all grids.

    For class c, counting cells over every step of every grid:
    TP = #(pred & target), FP = #(pred & ~target), FN = #(~pred & target);
    precision = TP / (TP + FP), recall = TP / (TP + FN),
    F1 = 2 TP / (2 TP + FP + FN) (the harmonic mean of P and R).
    A ratio whose denominator is 0 is NaN (undefined: e.g. precision of a
    class never predicted). "all" pools the counts of every class (micro).

    Returns {name: {"precision", "recall", "f1", "support"}} with support =
    TP + FN, the number of true onsets.
    """
    predicted, target = np.asarray(predicted, bool), np.asarray(target, bool)
    if predicted.shape != target.shape:
        raise ValueError(f"grid shapes differ: {predicted.shape} vs {target.shape}")
    axes = tuple(range(predicted.ndim - 1))  # every axis but the class axis
    tp = np.sum(predicted & target, axis=axes)
    fp = np.sum(predicted & ~target, axis=axes)
    fn = np.sum(~predicted & target, axis=axes)
    rows = list(zip(names, tp, fp, fn)) + [("all", tp.sum(), fp.sum(), fn.sum())]
    return {name: dict(precision=_ratio(t, t + p), recall=_ratio(t, t + n),
                       f1=_ratio(2 * t, 2 * t + p + n), support=int(t + n))
            for name, t, p, n in rows}


def _ratio(num, den):
    return float(num) / float(den) if den else float("nan")
