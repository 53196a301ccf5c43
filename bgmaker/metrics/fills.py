"""Fill-ness: how much a bar sounds like a fill, by a detector of GMD's own fill/beat labels.

GMD labels each recording a beat or a fill. Its fills are short (519 of its
train-split 4/4 recordings, 661 bars: most are one bar), so they give almost
no 4-bar windows (31 of v1_all's 15,641 train windows are fills), and a
fill vector built from windows' labels rests on those 31. Bars carry the
labels instead: the detector is an L2 logistic regression

    p(fill | bar) = sigmoid(w . features(bar) + b)

fitted on every non-silent bar of GMD's train-split 4/4 recordings, fills
against beats weighted equally in total, its penalty chosen on the
validation split's bars by the area under the ROC curve (the test split's
is reported: reports/fill_detector.md). A beat recording's bars include the
drummer's own fills, unlabelled, so the labels are noisy on the beat side.

A window's fill-ness is the probability of its most fill-like bar: a 4-bar
beat with a fill in its last bar is fill-like, as a drummer hears it.

The weights ship in fill_detector.json beside this module (fitted by
`.venv/bin/python reports/fill_detector.py`, which needs GMD); reading them
needs numpy only.
"""
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bgmaker.drums import STEPS_PER_BAR

DETECTOR_FILE = Path(__file__).with_name("fill_detector.json")
PENALTIES = (1e-4, 1e-3, 1e-2)  # L2 penalties tried on the validation bars


def bar_features(bars):
    """[n, 164] floats of bars [n, 16, 9]: the 144 cells (where each drum plays in the bar), hits per drum (9),
    hits per drum in the bar's second half (9: fills build toward the next downbeat), all hits (1) and steps
    with a hit (1)."""
    bars = np.asarray(bars, bool)
    x = bars.reshape(-1, STEPS_PER_BAR, bars.shape[-1]).astype(float)
    return np.column_stack([x.reshape(len(x), -1), x.sum(1), x[:, STEPS_PER_BAR // 2:].sum(1),
                            x.sum((1, 2))[:, None], x.any(2).sum(1)[:, None]])


@dataclass(frozen=True)
class FillDetector:
    weights: np.ndarray   # [164]
    bias: float

    def bar_probability(self, bars):
        """p(fill | bar) of each bar [n, 16, 9] -> [n]."""
        return 1.0 / (1.0 + np.exp(-(bar_features(bars) @ self.weights + self.bias)))

    def fillness(self, grids):
        """The fill-ness of grids [..., steps, 9] (steps a whole number of bars): the probability of each
        grid's most fill-like bar; a float for one grid."""
        grids = np.asarray(grids, bool)
        steps, drums = grids.shape[-2:]
        if steps % STEPS_PER_BAR:
            raise ValueError(f"fill-ness needs whole bars: {steps} steps is not a multiple of {STEPS_PER_BAR}")
        lead = grids.shape[:-2]
        p = self.bar_probability(grids.reshape(-1, STEPS_PER_BAR, drums))
        return p.reshape(*lead, steps // STEPS_PER_BAR).max(-1) if lead else float(p.max())


def auc(scores, labels):
    """The area under the ROC curve of scores for boolean labels (Mann–Whitney: the chance that a random
    positive scores above a random negative, ties counting half); NaN without both labels."""
    from scipy.stats import rankdata
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def fit_detector(bars, is_fill, penalty):
    """The FillDetector of bars [n, 16, 9] with labels is_fill [n] (fills and beats weighted equally in total;
    metrics.two_sample.fit_logistic: convex, deterministic)."""
    from bgmaker.metrics.two_sample import fit_logistic
    y = np.asarray(is_fill, float)
    if y.min() == y.max():
        raise ValueError("a fill detector needs both fill and beat bars")
    weights = np.where(y == 1, 0.5 / y.sum(), 0.5 / (len(y) - y.sum()))
    w, b = fit_logistic(bar_features(bars), y, weights, l2=penalty)
    return FillDetector(np.asarray(w, float), float(b))


def choose_detector(train, validation, penalties=PENALTIES):
    """(detector, penalty, {penalty: validation AUC}): train and validation are (bars, is_fill); each penalty's
    detector is fitted on train, and the one with the highest AUC on the validation bars is kept (on a tie,
    to 4 decimals, the largest penalty: the smoother detector)."""
    fitted = {p: fit_detector(*train, p) for p in penalties}
    scores = {p: auc(d.bar_probability(validation[0]), validation[1]) for p, d in fitted.items()}
    best = max(penalties, key=lambda p: (round(scores[p], 4), p))
    return fitted[best], best, scores


def save_detector(detector, info, path=DETECTOR_FILE):
    """Write the detector's weights and what it was fitted on (info: a dict) as JSON, atomically."""
    from bgmaker.paths import replaced_atomically
    record = dict(info, bias=round(detector.bias, 8), weights=[round(float(v), 8) for v in detector.weights])
    with replaced_atomically(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")
    load_detector.cache_clear()
    return Path(path)


@lru_cache(maxsize=4)
def load_detector(path=DETECTOR_FILE):
    """The shipped FillDetector (fill_detector.json), read once."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no fill detector at {path}; fit one with: .venv/bin/python reports/fill_detector.py")
    record = json.loads(path.read_text())
    return FillDetector(np.asarray(record["weights"], float), float(record["bias"]))


def fillness(grids):
    """The fill-ness of drum grids [..., steps, 9] by the shipped detector: the probability, in [0, 1], that the
    most fill-like bar of each grid is a fill (see the module doc)."""
    return load_detector().fillness(grids)
