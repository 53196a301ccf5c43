"""Compare two sets of feature values: KDE overlap area and KL divergence.

As in MGEval (Yang & Lerch 2018), each set of values is smoothed into a
density with a Gaussian kernel (scipy.stats.gaussian_kde, Scott's rule) and
the two densities are compared on one shared grid of points. Unlike MGEval
this compares the feature values themselves, not the distributions of
pairwise distances between them: the question is "do samples have the
syncopation of real drumming", read directly.
"""
import numpy as np
from scipy import stats
from scipy.integrate import trapezoid

GRID_POINTS = 1000
# Probability mass floor per grid point for KL: a KDE's tails underflow to 0
# far from its data, which would make KL infinite for sets that barely touch.
MASS_FLOOR = 1e-10


def kde_on_shared_grid(a, b, points=GRID_POINTS):
    """Densities of value sets `a` and `b` on one grid x: returns (x, p_a, p_b).

    Each density is a Gaussian KDE (scipy.stats.gaussian_kde) with Scott's
    bandwidth h = std x n^(-1/5), floored at two grid spacings,
    h >= 2 (max - min) / points over both sets pooled: a set with (almost)
    no spread — every window has the same snare density, or float noise
    around one value — would otherwise be a spike the grid cannot resolve.
    Two identical constant sets get h = 1 (any h gives them the same
    density). x spans [min - 3h, max + 3h] of both sets pooled, h the wider
    bandwidth; each density is renormalised so trapezoid(p, x) = 1.
    """
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if not a.size or not b.size:
        raise ValueError("both value sets must be non-empty")
    pooled = np.concatenate([a, b])
    span = np.ptp(pooled)
    floor = 2 * span / points if span > 0 else 1.0
    widths = [max(_scott(v), floor) for v in (a, b)]
    h = max(widths)
    x = np.linspace(pooled.min() - 3 * h, pooled.max() + 3 * h, points)
    densities = []
    for values, width in zip((a, b), widths):
        p = _kde(values, width, x)
        densities.append(p / trapezoid(p, x))
    return x, densities[0], densities[1]


def _scott(values):
    return values.std(ddof=1) * values.size ** (-1 / 5) if values.size > 1 else 0.0


def _kde(values, width, x):
    """gaussian_kde of `values` with bandwidth `width` (as an absolute standard deviation) at x."""
    std = values.std(ddof=1) if values.size > 1 else 0.0
    if std > 0:
        return stats.gaussian_kde(values, bw_method=width / std)(x)
    return stats.norm.pdf(x, loc=values[0], scale=width)


def overlap_and_kl(reference, other, points=GRID_POINTS):
    """Overlapping area and KL divergence of two value sets' KDEs.

    With p = KDE(reference), q = KDE(other) on the shared grid x
    (kde_on_shared_grid):
      overlap = integral of min(p, q) dx  (trapezoid rule; 1 = same
                distribution, 0 = disjoint);
      KL(p || q) = sum_i P_i log(P_i / Q_i) in nats, with P_i, Q_i the
                probability masses p(x_i) dx, q(x_i) dx floored at
                MASS_FLOOR and renormalised (scipy.stats.entropy);
                0 = same distribution. Reference first: how badly `other`
                covers what the real drumming does.
    """
    x, p, q = kde_on_shared_grid(reference, other, points)
    overlap = float(trapezoid(np.minimum(p, q), x))
    dx = x[1] - x[0]
    kl = float(stats.entropy(np.maximum(p * dx, MASS_FLOOR), np.maximum(q * dx, MASS_FLOOR)))
    return dict(overlap=min(overlap, 1.0), kl=max(kl, 0.0))  # clip float rounding (KL >= 0)


def shuffle_steps(grids, rng):
    """The shuffle baseline: each grid's steps (rows) in a random order.

    out[n, s] = grids[n, perm_n[s]] with an independent permutation per grid
    (rng: numpy Generator). Every step keeps its chord and every drum its
    hit count, so density features and active instruments are unchanged,
    while syncopation and bar-to-bar consistency lose their structure: real
    drumming with its time order destroyed, a floor a model must beat on the
    temporal features.
    """
    grids = np.asarray(grids, bool)
    n, steps = grids.shape[0], grids.shape[1]
    order = rng.permuted(np.tile(np.arange(steps), (n, 1)), axis=1)
    return grids[np.arange(n)[:, None], order]
