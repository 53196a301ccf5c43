"""MGEval-style features of drum grids (Yang & Lerch 2018, adapted to drums).

Each feature maps a grid [64, 9] (or a stack [..., 64, 9]) to one number per
grid (onset_density: one per drum class), so the feature's distribution over
a set of generated grids can be compared with its distribution over held-out
real windows (bgmaker.metrics.distributions).
"""
import numpy as np
from scipy.spatial.distance import pdist

from bgmaker.drums import DRUM_NAMES, STEPS_PER_BAR

# Longuet-Higgins & Lee (1984) metrical weights of the 16 sixteenths of a 4/4
# bar: downbeat 0, half bar -1, quarters -2, eighths -3, sixteenths -4.
LHL_WEIGHTS = np.array([0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4])


def onset_density(grid):
    """Per drum class, the fraction of steps it is hit: density[c] = (1/S) sum_s grid[s, c].

    Shape [..., 9]; values in [0, 1] (1/S per hit; S = 64 steps for 4 bars).
    """
    return np.asarray(grid, bool).mean(axis=-2)


def step_density(grid):
    """Fraction of steps with at least one hit: (1/S) sum_s any_c grid[s, c]."""
    return np.asarray(grid, bool).any(axis=-1).mean(axis=-1)


def active_instruments(grid):
    """Number of drum classes hit at least once: sum_c any_s grid[s, c] (0..9)."""
    return np.asarray(grid, bool).any(axis=-2).sum(axis=-1)


def syncopation(grid):
    """Longuet-Higgins–Lee syncopation of the kit's onsets, per bar.

    The kit is treated as one rhythm: o[s] = any_c grid[s, c]. For each pair
    of consecutive onsets at steps a < b with silence between them, the
    onset at a is syncopated when a step r in (a, b) has a stronger metrical
    weight: its strength is max(0, max_{a<r<b} W[r mod 16] - W[a mod 16]),
    W = LHL_WEIGHTS (0 downbeat, -1 half bar, -2 beat, -3 eighth, -4
    sixteenth). syncopation = sum of strengths / number of bars. The last
    onset of a window has no following onset inside it and is never counted
    (a window does not know what comes after it).

    Example: onsets at steps 0, 6 and 16 → (0, 6): strongest rest W[4] = -2
    < W[0] = 0, not syncopated; (6, 16): strongest rest W[8] = -1 vs
    W[6] = -3, strength 2; over 4 bars: 0.5.

    Known limit (of any monophonic syncopation measure applied to a kit):
    steady hi-hat eighths fill every rest at eighth level and above, so a
    kick on an off-beat under them is not counted.
    """
    grid = np.asarray(grid, bool)
    steps = grid.shape[-2]
    weights = LHL_WEIGHTS[np.arange(steps) % STEPS_PER_BAR]
    flat = grid.any(axis=-1).reshape(-1, steps)
    out = np.array([_lhl(np.flatnonzero(o), weights) for o in flat], dtype=float)
    return out.reshape(grid.shape[:-2]) / (steps / STEPS_PER_BAR)


def _lhl(onsets, weights):
    total = 0
    for a, b in zip(onsets[:-1], onsets[1:]):
        if b - a > 1:
            total += max(0, weights[a + 1:b].max() - weights[a])
    return total


def groove_consistency(grid):
    """Bar-to-bar groove consistency: mean Hamming similarity over all pairs of bars.

    GC = 1 - mean_{i<j} H(bar_i, bar_j), with H the fraction of the
    16 steps x 9 classes cells where the two bars differ (scipy's
    pdist(..., "hamming")). 1 = every bar the same pattern; a 4-bar window
    has 6 pairs. After Wu & Yang's grooving-pattern similarity (2020), on
    the full drum grid rather than the onset union, so a groove that keeps
    its rhythm but swaps instruments is not called consistent.
    """
    grid = np.asarray(grid, bool)
    steps, classes = grid.shape[-2:]
    bars = grid.reshape(-1, steps // STEPS_PER_BAR, STEPS_PER_BAR * classes)
    out = np.array([1.0 - pdist(b, "hamming").mean() for b in bars])
    return out.reshape(grid.shape[:-2])


# name -> function of a stack of grids [n, 64, 9] returning [n]: the features
# whose distributions are compared (onset density once per drum class).
FEATURES = {
    "step density": step_density,
    "active instruments": active_instruments,
    "syncopation": syncopation,
    "groove consistency": groove_consistency,
    **{f"{name} density": (lambda g, c=c: onset_density(g)[..., c]) for c, name in enumerate(DRUM_NAMES)},
}

# The features that depend on time order: shuffling a grid's steps (distributions.shuffle_steps) keeps every
# other feature exactly, so only these can tell a model from shuffled drumming.
RHYTHM_FEATURES = ("syncopation", "groove consistency")


def position_profile(grid):
    """Per drum, how often it is hit at each 16th position of the bar: P[p, c] = (1/B) sum_b grid[16 b + p, c].

    Shape [..., 16, 9]; B = 4 bars in a window. The grid's metrical "fingerprint"
    (backbeat snare on positions 4 and 12, hi-hat on the eighths...), for the
    classifier two-sample test: the scalar features above summarise a window,
    this says where in the bar each drum plays.
    """
    grid = np.asarray(grid, bool)
    steps, classes = grid.shape[-2:]
    bars = grid.reshape(grid.shape[:-2] + (steps // STEPS_PER_BAR, STEPS_PER_BAR, classes))
    return bars.mean(axis=-3)


def feature_table(grids):
    """Every feature in FEATURES for a stack of grids: {name: float array [n]}."""
    grids = np.asarray(grids, bool)
    return {name: np.asarray(f(grids), dtype=float) for name, f in FEATURES.items()}
