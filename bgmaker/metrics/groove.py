"""How close a humanized part plays to the drummer's own performance of the same hits.

Every function takes the real part and the humanized one on the *same hits*
(a humanizer keeps the input's hits: bgmaker.data.groove.perform), as
arrays [..., 9] of velocities (MIDI 1-127) and offsets, plus the hit mask;
offsets in 16th steps are turned into milliseconds with each window's step
length. NaN rules: a figure over no hits is NaN; a correlation where either
side is constant (the floor plays every hit at one velocity) is NaN.
"""
import numpy as np

from bgmaker.data.groove import position_in_bar
from bgmaker.drums import DRUM_NAMES


def mean_absolute_error(real, played, mask):
    """mean |played - real| over the hits (mask); NaN with no hit."""
    mask = np.asarray(mask, bool)
    return float(np.mean(np.abs(np.asarray(played)[mask] - np.asarray(real)[mask]))) if mask.any() else float("nan")


def correlation(real, played, mask):
    """Pearson's r between real and played values over the hits; NaN with under 3 hits or a constant side."""
    mask = np.asarray(mask, bool)
    a, b = np.asarray(real, float)[mask], np.asarray(played, float)[mask]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def milliseconds(offset, step_seconds):
    """Offsets [n, steps, 9] in 16th steps -> ms, with step_seconds [n] (each window's tempo)."""
    return np.asarray(offset) * np.asarray(step_seconds, float)[:, None, None] * 1000.0


def groove_statistics(hits, velocity, offset_ms):
    """The two-sample classifier's view of each window's playing: [n, 9 x 8] floats.

    Per drum class, over its hits in the window: mean and std of velocity,
    mean and std of offset (ms), accent (mean velocity on the quarter notes
    minus elsewhere), push (mean offset on the off-beat 8ths minus on the
    quarters: swing and laid-back feel), and the mean |change| of velocity
    and of offset from one hit to the next (how smoothly a drummer's hits
    follow each other; independent draws jump). 0 where undefined (no hits,
    or no hits on one side of a contrast), identically for real and played
    windows since both have the same hits.
    """
    hits = np.asarray(hits, bool)
    n, steps, classes = hits.shape
    pos = position_in_bar(steps)
    quarter, off8 = pos % 4 == 0, pos % 4 == 2
    out = np.zeros((n, classes, 8))

    def mean(values, mask):
        return values[mask].mean() if mask.any() else 0.0

    for i in range(n):
        for c in range(classes):
            m = hits[i, :, c]
            if not m.any():
                continue
            v, o = velocity[i, :, c], offset_ms[i, :, c]
            vs, os_ = v[m], o[m]
            out[i, c, :4] = vs.mean(), vs.std(), os_.mean(), os_.std()
            out[i, c, 4] = mean(v, m & quarter) - mean(v, m & ~quarter) if (m & quarter).any() and (m & ~quarter).any() else 0.0
            out[i, c, 5] = mean(o, m & off8) - mean(o, m & quarter) if (m & off8).any() and (m & quarter).any() else 0.0
            if len(vs) > 1:
                out[i, c, 6], out[i, c, 7] = np.abs(np.diff(vs)).mean(), np.abs(np.diff(os_)).mean()
    return out.reshape(n, -1)


def per_instrument(real_v, played_v, real_ms, played_ms, hits):
    """{drum name: dict(hits, velocity_mae, velocity_r, timing_mae_ms, timing_r)} and the same for 'all'."""
    hits = np.asarray(hits, bool)
    rows = {}
    for c, name in [(None, "all")] + list(enumerate(DRUM_NAMES)):
        m = hits if c is None else np.zeros_like(hits)
        if c is not None:
            m[..., c] = hits[..., c]
        rows[name] = dict(hits=int(m.sum()),
                          velocity_mae=mean_absolute_error(real_v, played_v, m),
                          velocity_r=correlation(real_v, played_v, m),
                          timing_mae_ms=mean_absolute_error(real_ms, played_ms, m),
                          timing_r=correlation(real_ms, played_ms, m))
    return rows
