"""What a musician asks for more or less of: a beat's steerable attributes, one number per grid.

Each function takes drum grids ([64, 9] bool, or a stack [..., 64, 9]) and
returns one float per grid. bgmaker.generation.priors builds one attribute
vector per entry of ATTRIBUTES in a model's latent space (the mean code of
real windows high in the attribute minus the mean code of those low in it),
and the priors report measures how far adding that vector moves the
attribute, in units of the attribute's spread over real windows.
"""
import numpy as np

from bgmaker.drums import DRUM_NAMES, STEPS_PER_BAR
from bgmaker.metrics.features import syncopation
from bgmaker.metrics.fills import fillness

KICK = DRUM_NAMES.index("kick")
HATS = tuple(DRUM_NAMES.index(n) for n in ("closed hi-hat", "open hi-hat"))
CYMBALS = tuple(DRUM_NAMES.index(n) for n in ("crash", "ride"))


def _bars(grid):
    return np.asarray(grid, bool).shape[-2] / STEPS_PER_BAR


def density(grid):
    """Onsets per bar, all drums: sum over steps and drums / bars."""
    grid = np.asarray(grid, bool)
    return grid.sum(axis=(-2, -1)) / _bars(grid)


def kick(grid):
    """Kick hits per bar."""
    grid = np.asarray(grid, bool)
    return grid[..., KICK].sum(axis=-1) / _bars(grid)


def cymbals(grid):
    """Cymbal wash: crash + ride hits / (crash + ride + hi-hat hits), in [0, 1]; 0 with neither.

    1 = the time is kept on the ride (or crashes), 0 = on the hi-hat.
    """
    grid = np.asarray(grid, bool)
    wash = grid[..., CYMBALS].sum(axis=(-2, -1)).astype(float)
    hats = grid[..., HATS].sum(axis=(-2, -1))
    total = wash + hats
    return np.divide(wash, total, out=np.zeros_like(wash), where=total > 0)


# name: (function, what it measures). fill: fill-ness in [0, 1], the probability that the grid's most fill-like
# bar is a fill, by a detector of GMD's fill/beat labels fitted on its bars (bgmaker.metrics.fills states it).
ATTRIBUTES = {
    "density": (density, "onsets per bar"),
    "cymbals": (cymbals, "ride + crash share of the time-keeping cymbals"),
    "syncopation": (syncopation, "syncopation per bar (Longuet-Higgins–Lee; bgmaker.metrics.features)"),
    "kick": (kick, "kick hits per bar"),
    "fill": (fillness, "fill-ness: the most fill-like bar's probability of being a fill (GMD's labels, per bar)"),
}


def measure(grids):
    """{attribute: values [n]} of a stack of grids [n, 64, 9], for every ATTRIBUTES entry."""
    grids = np.asarray(grids, bool)
    return {name: np.asarray(fn(grids), float) for name, (fn, _) in ATTRIBUTES.items()}
