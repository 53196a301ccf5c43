"""Novelty: how far a generated grid lies from the nearest window a model was trained on.

A sample at distance 0 is a copy of a train window (memorised, not
generated). Real drumming gives the scale: the held-out test windows' own
distances to the train windows (other performances of the same drummers).
"""
import numpy as np


def nearest_hamming(grids, pool, chunk=4096, groups=None, pool_groups=None):
    """Each grid's Hamming distance (cells of the 64 x 9 grid that differ) to its nearest grid in `pool`.

    |a xor b| = |a| + |b| - 2 a.b on the flattened 0/1 grids, in chunks of
    `pool` so a whole train split fits in memory. With groups (one per grid)
    and pool_groups (one per pool grid), a grid's own group is left out of
    its pool: real windows' distance to the windows of *other* performances,
    the scale a generated window's distance is read against (inf where the
    pool holds no other group).
    """
    a = np.asarray(grids, np.float32).reshape(len(grids), -1)
    best = np.full(len(a), np.inf)
    if groups is not None:
        groups, pool_groups = np.asarray(groups, dtype=object), np.asarray(pool_groups, dtype=object)
    for begin in range(0, len(pool), chunk):
        b = np.asarray(pool[begin:begin + chunk], np.float32).reshape(-1, a.shape[1])
        distance = a.sum(1)[:, None] + b.sum(1)[None, :] - 2 * a @ b.T
        if groups is not None:
            distance[groups[:, None] == pool_groups[None, begin:begin + chunk]] = np.inf
        best = np.minimum(best, distance.min(1))
    return best


def novelty(grids, pool):
    """dict(nearest=mean distance to the nearest pool grid, copies=how many are at distance 0, n)."""
    nearest = nearest_hamming(grids, pool)
    return dict(nearest=float(nearest.mean()), copies=int((nearest == 0).sum()), n=len(nearest))
