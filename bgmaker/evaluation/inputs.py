"""What every step of an evaluation reads the same way: a window's performance and style, and seeded streams.

A window is a bgmaker.data.windows.Window (its NoteSequence and its grid). The windows of one performance
overlap, so the performance is the group that the two-sample folds, the real-vs-real halves and the
interpolation pairs keep together; the style is GMD's, read from the file the window was cut from.
"""
import zlib

import numpy as np


def performance(window):
    """The performance a Window comes from (bgmaker.data.windows.performance_of), the evaluation's group."""
    from bgmaker.data.windows import performance_of
    return performance_of(window.sequence)


def window_style(window):
    """A window's GMD primary style from the file it was cut from (bgmaker.data.gmd.style_of); "other" if not GMD's."""
    from bgmaker.data.gmd import style_of
    return style_of(window.sequence.filename) or "other"


def random_stream(seed, purpose):
    """The random stream of `seed` for one purpose ("windows", "pairs", ...): independent of the others.

    Each use of randomness draws from its own stream, so changing one setting (more samples, more pairs)
    does not reshuffle the rest of the report.
    """
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])
