"""Reconstruction scores of rolls: plain numpy functions, each docstring stating its formula.

A roll is [n, steps, keys] (piano frames or drum onsets); a prediction is the same shape of real
values (probabilities, or an L2 model's raw output) or of bools (already thresholded).
"""
import math

import numpy as np

from bgmaker.metrics.onsets import onset_prf

# Candidate thresholds, chosen on validation: low ones too, so a model whose outputs are all small but
# rank the right cells first is not scored as silent just for its scale.
THRESHOLDS = np.r_[0.005, 0.01, 0.02, 0.03, np.linspace(0.05, 0.95, 19), 0.97, 0.99]


def l2(prediction, target):
    """Mean squared error per cell: mean (p - x)^2 (the original table's 'loss')."""
    return float(np.mean((np.asarray(prediction, np.float64) - target) ** 2))


def prf(predicted, target):
    """Cell precision, recall, F1 pooled over every cell: TP = #(p & x), F1 = 2 TP / (2 TP + FP + FN).

    The pooled ("all") figures of bgmaker.metrics.onset_prf, with one difference, the experiments'
    convention: a ratio with nothing to count (nothing predicted, nothing to find) is 0 here, where the
    metric says NaN. The tables score a model that predicts nothing (the silent floor, a collapsed row) as
    precision 0, as the original experiments did, and choose_threshold compares F1s, which NaN would break.
    """
    pooled = onset_prf(predicted, target, names=())["all"]
    return {k: 0.0 if math.isnan(pooled[k]) else pooled[k] for k in ("precision", "recall", "f1")}


def onsets(roll):
    """Onset cells of a frame roll: on at step t and off at t - 1 (step 0 counts as an onset when on)."""
    roll = np.asarray(roll, bool)
    previous = np.concatenate([np.zeros_like(roll[:, :1]), roll[:, :-1]], axis=1)
    return roll & ~previous


def choose_threshold(prediction, target, thresholds=THRESHOLDS):
    """The threshold in `thresholds` with the highest cell F1 of (prediction > t) against target (ties: lowest).

    Returns (threshold, f1). NaN predictions count as off.
    """
    prediction = np.nan_to_num(np.asarray(prediction, np.float64), nan=-np.inf)
    f1s = [prf(prediction > t, target)["f1"] for t in thresholds]
    best = int(np.argmax(f1s))
    return float(thresholds[best]), f1s[best]


def density(roll):
    """Fraction of cells on: mean over n, steps, keys of roll."""
    return float(np.mean(np.asarray(roll, bool)))


def notes_per_sounding_step(roll):
    """Polyphony: over steps with at least one note on, the mean number of notes on (1 = one note at a time)."""
    counts = np.asarray(roll, bool).sum(-1)
    return float(counts[counts > 0].mean()) if np.any(counts) else 0.0


def silent_windows(roll):
    """Fraction of windows with no note at all."""
    return float(np.mean(~np.asarray(roll, bool).any(axis=(1, 2))))


def reconstruction_scores(prediction, target, threshold, frames):
    """Every reconstruction figure of one model on one split at a given threshold.

    l2 of the raw prediction; cell P/R/F1 of prediction > threshold (and at 0.5: what reading the output
    as a probability gives); for frame rolls (frames=True, piano) also the onset F1 of the thresholded
    roll's onsets against the target's; densities and polyphony of output against input.
    """
    prediction = np.nan_to_num(np.asarray(prediction, np.float64), nan=-np.inf)
    on = prediction > threshold
    cells = prf(on, target)
    out = dict(l2=l2(np.where(np.isfinite(prediction), prediction, np.nan), target), threshold=threshold,
               precision=cells["precision"], recall=cells["recall"], f1=cells["f1"],
               f1_at_half=prf(prediction > 0.5, target)["f1"],
               onset_f1=prf(onsets(on), onsets(target))["f1"] if frames else cells["f1"],
               density_out=density(on), density_in=density(target),
               density_out_at_half=density(prediction > 0.5),
               polyphony_out=notes_per_sounding_step(on), polyphony_in=notes_per_sounding_step(target),
               silent_windows_out=silent_windows(on))
    return out
