"""Interpolation metrics: does a path of grids move steadily from A to B.

A path is a stack of grids [K, 64, 9], path[0] near the start window A and
path[-1] near the end window B (a latent interpolation decodes K points on
the slerp between A's and B's encodings; the crossfade moves in data space).
"""
import numpy as np


def hamming(a, b):
    """Normalised Hamming distance: the fraction of cells (steps x classes) where a and b differ.

    H(a, b) = mean_{s,c} [a[s, c] != b[s, c]]; broadcasts over leading axes.
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return (a != b).mean(axis=(-2, -1))


def distance_curves(path, start, end):
    """(d_start[k], d_end[k]) = (H(path[k], start), H(path[k], end)) for k = 0..K-1.

    A good interpolation starts near A and ends near B: d_start rises from
    about 0 and d_end falls to about 0.
    """
    path = np.asarray(path, bool)
    return hamming(path, start[None]), hamming(path, end[None])


def monotonicity(d_start, d_end):
    """Fraction of path steps moving the right way: away from the start, towards the end.

    M = (1 / 2(K-1)) sum_{k<K-1} ([d_start[k+1] >= d_start[k]] + [d_end[k+1] <= d_end[k]]).
    1 = both curves monotone (ties count as monotone); a path that wanders
    back towards where it came from scores lower.
    """
    d_start, d_end = np.asarray(d_start, float), np.asarray(d_end, float)
    if d_start.size < 2:
        raise ValueError("a path needs at least 2 points")
    return float((np.mean(np.diff(d_start) >= 0) + np.mean(np.diff(d_end) <= 0)) / 2)


def smoothness(path):
    """Mean change between neighbouring points of a path: (1/(K-1)) sum_k H(path[k], path[k+1]).

    Lower is smoother. A path that moves straight from A to B in equal
    steps scores H(A, B)/(K-1); any detour or jitter adds to it.
    """
    path = np.asarray(path, bool)
    return float(hamming(path[1:], path[:-1]).mean())


def detour(path):
    """How far a path wanders beyond the straight way between its own ends: smoothness * (K-1) / H(path[0], path[-1]).

    1 = every step moves towards the other end (the least any path between
    those ends can travel); 2 = twice that. Unlike smoothness, it does not
    grow when a path's ends are further apart, so it compares paths whose
    ends differ (e.g. between refined codes, whose ends are nearer the real
    A and B, against between encoder means). NaN for a path whose ends are equal.
    """
    path = np.asarray(path, bool)
    span = float(hamming(path[0], path[-1]))
    return smoothness(path) * (len(path) - 1) / span if span else float("nan")


def crossfade(start, end, steps, rng):
    """The naive data-space interpolation baseline: a dissolve from grid A to grid B.

    Each cell gets one threshold u ~ U(0, 1) (rng: numpy Generator);
    point k (alpha_k = k/(K-1)) takes B's value where alpha_k > u and A's
    otherwise. Cells where A and B agree never change and each differing cell
    flips once, so E[H(point_k, A)] = alpha_k H(A, B): perfectly monotone and as
    smooth as a path can be, while the points in between are cell-wise
    mixtures of two grooves rather than drumming. A latent path should come
    close on monotonicity and beat it on realism.
    """
    start, end = np.asarray(start, bool), np.asarray(end, bool)
    alphas = np.linspace(0.0, 1.0, steps)
    u = rng.random(start.shape)
    take_end = alphas[:, None, None] > u[None]
    # alpha = 1 takes B everywhere (u < 1), alpha = 0 keeps A everywhere (u >= 0)
    return np.where(take_end, end[None], start[None])
