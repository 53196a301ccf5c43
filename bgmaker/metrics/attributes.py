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

KICK = DRUM_NAMES.index("kick")
HATS = tuple(DRUM_NAMES.index(n) for n in ("closed hi-hat", "open hi-hat"))
CYMBALS = tuple(DRUM_NAMES.index(n) for n in ("crash", "ride"))
TOMS = tuple(DRUM_NAMES.index(n) for n in ("low tom", "mid tom", "high tom"))


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


def toms(grid):
    """Tom hits per bar (low, mid, high): what a fill mostly adds."""
    grid = np.asarray(grid, bool)
    return grid[..., TOMS].sum(axis=(-2, -1)) / _bars(grid)


# name: (function, what it measures). "fill" is built from GMD's beat/fill labels rather than from a grid
# function (bgmaker.generation.priors), and is measured by its tom hits.
ATTRIBUTES = {
    "density": (density, "onsets per bar"),
    "cymbals": (cymbals, "ride + crash share of the time-keeping cymbals"),
    "syncopation": (syncopation, "syncopation per bar (Longuet-Higgins–Lee; bgmaker.metrics.features)"),
    "kick": (kick, "kick hits per bar"),
    "fill": (toms, "tom hits per bar (GMD's fills against its beats)"),
}


def measure(grids):
    """{attribute: values [n]} of a stack of grids [n, 64, 9], for every ATTRIBUTES entry."""
    grids = np.asarray(grids, bool)
    return {name: np.asarray(fn(grids), float) for name, (fn, _) in ATTRIBUTES.items()}
