"""Beats as pictures: a drum grid (9 instruments x 16th-note steps) per 4-bar panel.

One panel per beat, stacked top to bottom, so an interpolation reads as one
image from its first beat to its last. Rows run cymbals at the top to kick at
the bottom, as in a DAW's drum editor; darker cells are louder hits; lines
mark beats (thin) and bars (thick). The image size depends only on the number
of panels (PANEL_SIZE each), so tools and tests can rely on it.
"""
import numpy as np

from bgmaker.drums import DEFAULT_BPM, STEPS_PER_QUARTER, steps_per_bar
from bgmaker.render import kit

PANEL_SIZE = (1280, 260)  # pixels (width, height) per beat
DPI = 100
ROW_ORDER = (7, 8, 3, 2, 6, 5, 4, 1, 0)  # crash, ride, open hh, closed hh, toms high-low, snare, kick


def velocity_grid(ns, steps=None):
    """Float [9, steps]: the loudest velocity (0-1) of each drum class at each 16th step."""
    qpm = ns.tempos[0].qpm if ns.tempos else DEFAULT_BPM
    step_seconds = 60.0 / qpm / STEPS_PER_QUARTER
    if steps is None:
        steps = max(1, round(ns.total_time / step_seconds))
    grid = np.zeros((len(kit.DRUM_NAMES), steps), np.float32)
    for n in ns.notes:
        c, s = kit.drum_class(n), round(n.start_time / step_seconds)
        if c is not None and 0 <= s < steps:
            grid[c, s] = max(grid[c, s], n.velocity / 127.0)
    return grid


def plot_grid(beats, path, titles=None, first_bars=None):
    """Draw each beat as a panel of one PNG at `path`; returns the path.

    Bar lines and bar numbers follow each beat's own meter (a 3/4 beat gets
    bars of 12 steps); `first_bars[i]` is the number of panel i's first bar
    (default 1), so the panels of a long file read bar 1-4, bar 5-8, ...
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if titles is None or isinstance(titles, str):
        titles = [titles] * len(beats)
    width, height = PANEL_SIZE
    fig = Figure(figsize=(width / DPI, height * len(beats) / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.09, right=0.99, top=1 - 0.12 / len(beats), bottom=0.1 / len(beats),
                        hspace=0.45)
    axes = fig.subplots(len(beats), 1, squeeze=False)[:, 0]
    first_bars = first_bars or [1] * len(beats)
    for ax, beat, title, first_bar in zip(axes, beats, titles, first_bars):
        grid = velocity_grid(beat)[list(ROW_ORDER)]
        steps = grid.shape[1]
        bar = steps_per_bar(beat)
        ax.imshow(grid, aspect="auto", cmap="Greys", vmin=0.0, vmax=1.0, interpolation="nearest")
        for s in range(0, steps + 1, STEPS_PER_QUARTER):
            ax.axvline(s - 0.5, color="#bbbbbb", lw=0.5)
        for r in range(len(ROW_ORDER) + 1):
            ax.axhline(r - 0.5, color="#dddddd", lw=0.5)
        ax.set_yticks(range(len(ROW_ORDER)), [kit.DRUM_NAMES[c] for c in ROW_ORDER], fontsize=8)
        for s in range(0, steps + 1, bar):  # bar lines of odd meters fall between quarter lines
            ax.axvline(s - 0.5, color="#c0392b", lw=1.6)
        bar_starts = range(0, steps, bar)
        ax.set_xticks(list(bar_starts), [f"bar {b // bar + first_bar}" for b in bar_starts], fontsize=8)
        ax.tick_params(length=0)
        if title:
            ax.set_title(title, fontsize=9, loc="left")
    fig.savefig(str(path), dpi=DPI)
    return str(path)
