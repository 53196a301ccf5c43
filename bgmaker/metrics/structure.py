"""What a drummer hears first in a 4-bar beat: does it repeat, does it land on one, how much cymbal.

Plain functions of drum grids ([64, 9] bool, or a stack [..., 64, 9]); each
returns one number per grid. Real 4-bar windows of a groove mostly repeat a
one- or two-bar pattern and put the kick on the downbeat; a model that
samples busy, drifting bars scores low on both, whatever its feature overlap.
"""
import numpy as np

from bgmaker.drums import DRUM_NAMES, STEPS_PER_BAR

KICK = DRUM_NAMES.index("kick")
CYMBALS = tuple(DRUM_NAMES.index(name) for name in ("crash", "ride"))


def _bars(grid):
    grid = np.asarray(grid, bool)
    return grid.reshape(grid.shape[:-2] + (grid.shape[-2] // STEPS_PER_BAR, STEPS_PER_BAR, grid.shape[-1]))


def bar_repetition(grid, first=0, second=2):
    """Jaccard similarity of the onsets of two bars (default bar 3 against bar 1).

    J = |A & B| / |A | B| over the (step, drum) hits A of bar `first` and B of
    bar `second`; 1 when both bars are silent. 1 = the bar repeats exactly.
    """
    bars = _bars(grid)
    a, b = bars[..., first, :, :], bars[..., second, :, :]
    union = (a | b).sum(axis=(-2, -1))
    both = (a & b).sum(axis=(-2, -1))
    return np.where(union > 0, both / np.maximum(union, 1), 1.0)


def kick_on_one(grid):
    """Fraction of bars whose first sixteenth (the downbeat) has a kick: (1/B) sum_b grid[b, 0, kick]."""
    return _bars(grid)[..., :, 0, KICK].mean(axis=-1)


def cymbal_density(grid):
    """Crash and ride hits per step: (1/S) sum_s (grid[s, crash] + grid[s, ride]), in [0, 2]."""
    grid = np.asarray(grid, bool)
    return grid[..., list(CYMBALS)].sum(axis=(-2, -1)) / grid.shape[-2]
