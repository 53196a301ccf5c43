"""Classifier two-sample test: can a simple classifier tell two sets of drum grids apart?

Feature overlaps (bgmaker.metrics.distributions) compare one feature at a
time; a classifier sees them together. After Lopez-Paz & Oquab (2017),
"Revisiting classifier two-sample tests": train a classifier to tell set A
(e.g. model samples) from set B (real windows) and read its held-out
accuracy. 0.5 = it cannot tell them apart; 1.0 = every grid gives away its
set. Run the same test on two real sets (the test split against the train
split) for the accuracy that real drumming itself reaches: a model is as
good as this test can see when it gets there.

Overlapping windows of one performance share three of their four bars, so
a classifier that saw one of them in training would recognise its
neighbours in the held-out fold. Folds are therefore grouped: every grid
carries a group (its performance; a model sample is its own group) and a
group is never on both sides of a fold.

The classifier is L2-regularised logistic regression on standardised
`grid_statistics`, fitted by Newton's method: deterministic, no tuning
loop, nothing to install.
"""
from dataclasses import dataclass

import numpy as np

from bgmaker.metrics.features import feature_table, position_profile

# Penalty of the logistic regression on standardised features, (L2 / 2) ||w||^2 added to the mean
# log-loss: about scikit-learn's default C = 1 at a few hundred grids, fixed so that every
# evaluation runs the same test.
L2 = 0.01
FOLDS = 5


def grid_statistics(grids):
    """The classifier's view of each grid: [n, 13 + 144] floats.

    The MGEval-style features (features.FEATURES: step density, active
    instruments, syncopation, groove consistency, 9 onset densities) and the
    flattened position_profile (how often each drum plays at each of the 16
    positions of a bar).
    """
    grids = np.asarray(grids, bool)
    table = feature_table(grids)
    profile = position_profile(grids).reshape(len(grids), -1)
    return np.column_stack([*table.values(), profile]).astype(float)


def grouped_folds(labels, groups, folds, rng):
    """A fold index per item: grouped (a group's items share a fold) and stratified by label.

    For each label separately, its groups in random order (rng), largest
    first, each go to the fold holding the fewest items of that label so far,
    so every fold gets about 1/folds of each set. A group holding both labels
    is an error: its items would be on both sides of the test.
    """
    labels, groups = np.asarray(labels), np.asarray(groups, dtype=object).astype(str)
    by_label = [set(groups[labels == label]) for label in np.unique(labels)]
    clash = set.intersection(*by_label) if len(by_label) > 1 else set()
    if clash:
        raise ValueError(f"group {str(sorted(clash)[0])!r} is in both sets; a group must belong to one set")
    fold = np.full(len(labels), -1)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        names, inverse, sizes = np.unique(groups[members], return_inverse=True, return_counts=True)
        order = rng.permutation(len(names))
        order = order[np.argsort(-sizes[order], kind="stable")]
        filled = np.zeros(folds, int)
        for g in order:
            f = int(np.argmin(filled))
            fold[members[inverse == g]] = f
            filled[f] += sizes[g]
    return fold


def fit_logistic(x, y, weights, l2=L2, iterations=100):
    """L2-regularised logistic regression by Newton's method: returns (w, b).

    Minimises sum_i v_i log(1 + exp(-s_i (w.x_i + b))) / sum_i v_i + (l2/2) ||w||^2
    with s_i = +1 for y_i = 1, -1 for y_i = 0 and sample weights v_i; the
    intercept b is not penalised. The objective is strictly convex, so
    Newton's method converges to its one minimum in a few steps.
    """
    x = np.column_stack([x, np.ones(len(x))])
    v = np.asarray(weights, float) / np.sum(weights)
    penalty = np.full(x.shape[1], float(l2))
    penalty[-1] = 1e-10  # keeps the Hessian invertible when the data are separable by b alone
    theta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        gradient = x.T @ (v * (p - y)) + penalty * theta
        hessian = (x * (v * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return theta[:-1], theta[-1]


@dataclass
class Softmax:
    """A multinomial logistic regression: standardised features, one weight column per class (fit_softmax).

    Plain arrays, so a fitted one can be saved beside a model (float16 is
    enough: bgmaker.generation.priors stores the latent style critic so).
    """

    names: np.ndarray   # [k] class names, sorted
    mean: np.ndarray    # [d] the features' mean over the fitting rows
    std: np.ndarray     # [d] their standard deviation (a constant feature: 1)
    theta: np.ndarray   # [d + 1, k] weights, the last row the intercepts

    def log_probs(self, x):
        """log p(class | x) [n, k]."""
        x = np.asarray(x, float)
        logits = np.column_stack([(x - self.mean) / self.std, np.ones(len(x))]) @ self.theta
        logits -= logits.max(1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(1, keepdims=True))

    def predict(self, x):
        return self.names[self.log_probs(x).argmax(1)]


def fit_softmax(x, labels, l2=L2, maxiter=500):
    """The Softmax of rows x [n, d] with labels [n]: mean log-loss, each class weighted equally in total (so the
    most frequent class is not predicted everywhere), plus (l2 / 2) ||W||^2 off the intercepts; L-BFGS (scipy).

    The objective is convex; it starts from zero weights, so the fit is
    deterministic.
    """
    from scipy.optimize import minimize
    x = np.asarray(x, float)
    mean, std = x.mean(0), x.std(0)
    std[std == 0] = 1.0
    design = np.column_stack([(x - mean) / std, np.ones(len(x))])
    labels = np.asarray(labels)
    names = np.array(sorted(set(labels.tolist())))
    y = np.searchsorted(names, labels)
    weights = 1.0 / np.bincount(y)[y]
    weights /= weights.sum()
    k, d = len(names), design.shape[1]
    rows = np.arange(len(y))

    def loss(flat):
        w = flat.reshape(d, k)
        logits = design @ w
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        nll = -(weights * np.log(p[rows, y] + 1e-12)).sum()
        p[rows, y] -= 1
        gradient = design.T @ (weights[:, None] * p) + l2 * np.vstack([w[:-1], np.zeros((1, k))])
        return nll + 0.5 * l2 * (w[:-1] ** 2).sum(), gradient.ravel()

    theta = minimize(loss, np.zeros(d * k), jac=True, method="L-BFGS-B", options=dict(maxiter=maxiter)).x
    return Softmax(names, mean, std, theta.reshape(d, k))


def classifier_two_sample_test(a, b, groups_a, groups_b, rng, folds=FOLDS, l2=L2, features=False):
    """Held-out accuracy of fit_logistic telling grid set `a` from grid set `b`.

    a, b: grid stacks [n, 64, 9] (their `grid_statistics` are the features),
    or with `features=True` feature rows [n, k] already (e.g. the playing of
    humanized windows, bgmaker.metrics.groove); groups_a, groups_b: a group name per grid
    (its performance; give model samples distinct names). Folds come from
    grouped_folds (k = min(folds, groups in the smaller set)). In each fold
    the classifier is fitted on the other folds, features standardised with
    their mean and std, the two sets weighted equally (weights 1/n_a, 1/n_b)
    so that neither is favoured for being larger, and predicts p(a) > 0.5 on
    the held-out grids. Reported over all held-out predictions:

      accuracy = (TPR_a + TPR_b) / 2 (balanced accuracy: the mean over the two
                 sets of the fraction of its grids classified into it;
                 0.5 = chance whatever the set sizes);

    with the per-fold accuracies and k. A set with fewer than 2 groups gives
    accuracy None: there is nothing to hold out.
    """
    a, b = (np.asarray(a, float), np.asarray(b, float)) if features else (np.asarray(a, bool), np.asarray(b, bool))
    if len(a) != len(groups_a) or len(b) != len(groups_b):
        raise ValueError("every grid needs exactly one group")
    n_groups = min(len(set(groups_a)), len(set(groups_b)))
    out = dict(n_a=len(a), n_b=len(b), groups_a=len(set(groups_a)), groups_b=len(set(groups_b)), l2=l2)
    k = min(folds, n_groups)
    if k < 2:
        return dict(out, accuracy=None, folds=0, fold_accuracies=[],
                    note="fewer than 2 groups in a set: no held-out fold")
    x = np.concatenate([a, b]) if features else np.concatenate([grid_statistics(a), grid_statistics(b)])
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    fold = grouped_folds(y, list(groups_a) + list(groups_b), k, rng)
    predicted = np.zeros(len(y))
    fold_accuracies = []
    for f in range(k):
        train, test = fold != f, fold == f
        mean, std = x[train].mean(0), x[train].std(0)
        std[std == 0] = 1.0
        weights = np.where(y[train] == 1, 1 / y[train].sum(), 1 / (1 - y[train]).sum())
        w, bias = fit_logistic((x[train] - mean) / std, y[train], weights, l2)
        predicted[test] = ((x[test] - mean) / std) @ w + bias > 0
        fold_accuracies.append(_balanced_accuracy(y[test], predicted[test]))
    return dict(out, accuracy=_balanced_accuracy(y, predicted), folds=k, fold_accuracies=fold_accuracies)


def _balanced_accuracy(y, predicted):
    rates = [np.mean(predicted[y == c] == c) for c in (0, 1) if np.any(y == c)]
    return float(np.mean(rates))


def group_halves(groups, rng):
    """Two index arrays splitting items into halves by group: no group on both sides.

    Groups in random order (rng), largest first, each to the half with
    fewer items so far: the halves are as even as whole groups allow. The
    real-vs-real ceiling compares one half's features with the other's; a
    random split of windows would put overlapping windows of one
    performance on both sides and flatter the ceiling.
    """
    groups = np.asarray(groups, dtype=object).astype(str)
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(len(names))
    order = order[np.argsort(-sizes[order], kind="stable")]
    side, filled = np.zeros(len(names), int), [0, 0]
    for g in order:
        s = int(filled[1] < filled[0])
        side[g] = s
        filled[s] += sizes[g]
    return np.flatnonzero(side[inverse] == 0), np.flatnonzero(side[inverse] == 1)
