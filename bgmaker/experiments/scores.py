"""Reconstruction scores of rolls: plain numpy functions, each docstring stating its formula.

A roll is [n, steps, keys] (piano frames or drum onsets); a prediction is the same shape of real
values (probabilities, or an L2 model's raw output) or of bools (already thresholded).
"""
import numpy as np

# Candidate thresholds, chosen on validation: low ones too, so a model whose outputs are all small but
# rank the right cells first is not scored as silent just for its scale.
THRESHOLDS = np.r_[0.005, 0.01, 0.02, 0.03, np.linspace(0.05, 0.95, 19), 0.97, 0.99]


def l2(prediction, target):
    """Mean squared error per cell: mean (p - x)^2 (the original table's 'loss')."""
    return float(np.mean((np.asarray(prediction, np.float64) - target) ** 2))


def prf(predicted, target):
    """Cell precision, recall, F1 pooled over every cell: TP = #(p & x), F1 = 2 TP / (2 TP + FP + FN).

    Undefined ratios (nothing predicted / nothing to find) are 0.
    """
    p, x = np.asarray(predicted, bool), np.asarray(target, bool)
    tp = float(np.sum(p & x))
    fp, fn = float(np.sum(p & ~x)), float(np.sum(~p & x))
    return dict(precision=tp / (tp + fp) if tp + fp else 0.0, recall=tp / (tp + fn) if tp + fn else 0.0,
                f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)


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
