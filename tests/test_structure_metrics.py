"""bgmaker.metrics.structure on hand-built grids with known answers."""
import numpy as np

from bgmaker.drums import DRUM_NAMES
from bgmaker.metrics.structure import bar_repetition, cymbal_density, kick_on_one

KICK, SNARE, CRASH, RIDE = (DRUM_NAMES.index(n) for n in ("kick", "snare", "crash", "ride"))


def grid_with(hits):
    g = np.zeros((64, 9), bool)
    for step, drum in hits:
        g[step, drum] = True
    return g


def test_bar_repetition_is_the_jaccard_of_bar_3_and_bar_1():
    bar = [(0, KICK), (4, SNARE), (8, KICK), (12, SNARE)]
    same = grid_with([(s + 16 * b, d) for b in range(4) for s, d in bar])
    assert bar_repetition(same) == 1.0
    half = grid_with(bar + [(32 + 0, KICK), (32 + 4, SNARE), (32 + 6, KICK), (32 + 10, SNARE)])
    assert np.isclose(bar_repetition(half), 2 / 6)  # 2 shared hits of 6 distinct
    assert bar_repetition(np.zeros((64, 9), bool)) == 1.0  # two silent bars repeat
    assert bar_repetition(np.stack([same, half])).shape == (2,)


def test_kick_on_one_counts_bars_that_land_on_the_downbeat():
    assert kick_on_one(grid_with([(0, KICK), (16, KICK), (33, KICK), (48, SNARE)])) == 0.5
    assert kick_on_one(np.zeros((3, 64, 9), bool)).tolist() == [0, 0, 0]


def test_cymbal_density_counts_crash_and_ride_per_step():
    g = grid_with([(0, CRASH), (0, RIDE), (8, RIDE), (9, SNARE)])
    assert np.isclose(cymbal_density(g), 3 / 64)
