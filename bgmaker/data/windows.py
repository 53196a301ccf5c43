"""Every 4-bar window of a drum performance, and the 9-class drum grid.

Why not Magenta's DrumsConverter alone: it keeps at most 5 random slices per
file (frozen forever by the dataset cache), and its drum-track extractor
splits a track at one bar of silence, so a file with a silent bar yields
fewer windows. Here every window that starts on a bar line, with a 1-bar hop,
is kept; identical windows from one performance are kept once; all-silent
windows are dropped.

A window is stored as a NoteSequence already snapped to the 16th-note grid
(4 bars, exact total_time, original pitches and velocities), so Magenta's
converter turns each stored window into exactly one training example (the
run configs use `pad_to_total_time=True`, see bgmaker_configs.architectures).

An *expressive* window (`expressive=True`, the humanize model's data) keeps
what the drummer played instead: each hit's own time relative to the window's
first grid line (a hit played early on the first step is slightly negative),
its velocity and its duration. Every such window is kept, also when its grid
repeats an earlier one: the same pattern played again is another performance
of it, which is what a humanizer learns from.
"""
from dataclasses import dataclass

import numpy as np
import note_seq
from note_seq import sequences_lib

from bgmaker.drums import BARS, DRUM_NAMES, PITCH_CLASSES, PITCH_TO_CLASS, STEPS, STEPS_PER_BAR, STEPS_PER_QUARTER  # noqa: F401


class UnusableSequenceError(ValueError):
    """A performance that cannot give 4-bar drum windows (the message says why)."""


@dataclass
class Window:
    start_bar: int
    sequence: note_seq.NoteSequence  # 4 bars, on the grid, starting at time 0
    grid: np.ndarray                 # bool [64, 9]


def quantize(ns):
    """Quantize to 16ths, with a one-line reason when the sequence is unusable."""
    if not any(n.is_drum for n in ns.notes):
        raise UnusableSequenceError("no drum notes")
    for ts in ns.time_signatures:
        if (ts.numerator, ts.denominator) != (4, 4):
            raise UnusableSequenceError(f"time signature {ts.numerator}/{ts.denominator}, not 4/4")
    try:
        q = note_seq.quantize_note_sequence(ns, STEPS_PER_QUARTER)
    except note_seq.MultipleTempoError:
        raise UnusableSequenceError("tempo changes") from None
    except note_seq.MultipleTimeSignatureError:
        raise UnusableSequenceError("time signature changes") from None
    except (note_seq.BadTimeSignatureError, note_seq.NegativeTimeError) as e:
        raise UnusableSequenceError(str(e)) from None
    return q


def to_grid(ns, steps=STEPS):
    """Bool [steps, 9]: grid[s, c] is True when drum class c is hit at 16th step s.

    Accepts a quantized or unquantized (quantized here) NoteSequence; notes
    outside the 9 classes' pitches or not on the drum channel are ignored.
    """
    q = ns if sequences_lib.is_quantized_sequence(ns) else note_seq.quantize_note_sequence(ns, STEPS_PER_QUARTER)
    grid = np.zeros((steps, len(PITCH_CLASSES)), dtype=bool)
    for n in q.notes:
        c = PITCH_TO_CLASS.get(n.pitch)
        if n.is_drum and c is not None and 0 <= n.quantized_start_step < steps:
            grid[n.quantized_start_step, c] = True
    return grid


def bar_grids(ns):
    """Bool [bars, 16, 9]: each bar of `ns` (quantized here) as its grid, bars starting on bar lines; a last,
    partial bar is padded with silence; silent bars are left out. Raises UnusableSequenceError as quantize does.

    Where a recording is too short for a 4-bar window (GMD's fills: a bar or two), its bars are still data:
    bgmaker.metrics.fills learns what a fill bar is from them.
    """
    q = quantize(ns)
    n_bars = max(-(-q.total_quantized_steps // STEPS_PER_BAR), 1)
    grid = np.zeros((n_bars * STEPS_PER_BAR, len(PITCH_CLASSES)), dtype=bool)
    for n in q.notes:
        c = PITCH_TO_CLASS.get(n.pitch)
        if n.is_drum and c is not None and 0 <= n.quantized_start_step < len(grid):
            grid[n.quantized_start_step, c] = True
    bars = grid.reshape(n_bars, STEPS_PER_BAR, len(PITCH_CLASSES))
    return bars[bars.any(axis=(1, 2))]


def extract_windows(ns, bars=BARS, hop_bars=1, expressive=False):
    """All distinct, non-silent `bars`-bar windows of `ns` with a `hop_bars` hop.

    expressive: keep each hit's played time and every window, repeats included
    (see the module docstring); else hits snapped to the grid, repeats dropped.
    Raises UnusableSequenceError when `ns` has no drums, is not in 4/4, changes
    tempo, or is shorter than `bars` bars. Returns [] when every window is
    silent or a duplicate (cannot happen for a non-empty performance).
    """
    q = quantize(ns)
    total_steps = q.total_quantized_steps
    n_bars = -(-total_steps // STEPS_PER_BAR)
    if n_bars < bars:
        raise UnusableSequenceError(f"{n_bars} bar(s) long, shorter than {bars} bars")
    qpm = q.tempos[0].qpm if q.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE
    step_seconds = 60.0 / qpm / STEPS_PER_QUARTER
    length = bars * STEPS_PER_BAR
    drums = [n for n in q.notes if n.is_drum and n.pitch in PITCH_TO_CLASS]
    seen, windows = set(), []
    for start_bar in range(0, n_bars - bars + 1, hop_bars):
        first = start_bar * STEPS_PER_BAR
        notes = [n for n in drums if first <= n.quantized_start_step < first + length]
        if not notes:
            continue
        window = note_seq.NoteSequence(ticks_per_quarter=q.ticks_per_quarter or 220)
        window.tempos.add(qpm=qpm)
        window.time_signatures.add(numerator=4, denominator=4)
        origin = first * step_seconds
        for n in notes:
            step = n.quantized_start_step - first
            if expressive:
                start = n.start_time - origin
                end = start + max(n.end_time - n.start_time, 1e-3)
            else:
                start, end = step * step_seconds, (step + 1) * step_seconds
            window.notes.add(pitch=n.pitch, velocity=n.velocity, is_drum=True, instrument=9,
                             start_time=start, end_time=end)
        window.total_time = length * step_seconds
        grid = np.zeros((length, len(PITCH_CLASSES)), dtype=bool)
        for n in notes:
            grid[n.quantized_start_step - first, PITCH_TO_CLASS[n.pitch]] = True
        key = grid.tobytes()
        if key in seen and not expressive:
            continue
        seen.add(key)
        window.id = f"{ns.id or ns.filename}#bar{start_bar}"
        window.filename = ns.filename
        window.collection_name = ns.collection_name
        windows.append(Window(start_bar, window, grid))
    return windows


def performance_of(window_sequence):
    """The performance a window comes from: its source file, else its id without the '#bar<N>' suffix.

    Windows of one performance overlap (1-bar hop), so evaluation groups by
    this wherever it splits windows (real-vs-real halves, cross-validation
    folds). A window cut again from a stored window keeps the source filename.
    """
    ns = window_sequence
    return ns.filename or ns.id.split("#bar", 1)[0]


def read_windows(examples_path, max_windows=None, rng=None):
    """Every 4-bar window (bgmaker.data.windows.Window) of the NoteSequences in a TFRecord, in a canonical order.

    A stored window gives itself back; a whole performance gives all its
    windows. Returns (windows, skipped): skipped maps each reason a record
    gave no window (e.g. "tempo changes") to how many did. With max_windows,
    a random subset (rng).

    The windows are sorted by performance and window id, not kept in file
    order: two conversions of one selection hold the same windows in
    different orders (the converter's shuffle, `scripts/convert_gmd.sh` vs the
    campaign's copy), and every seeded choice made on them (an evaluation's subset, its
    interpolation pairs, its halves, its posterior samples' batches) would
    otherwise differ between them.
    """
    from magenta.pipelines.pipeline import tf_record_iterator

    found, skipped = [], {}
    for ns in tf_record_iterator(str(examples_path), note_seq.NoteSequence):
        try:
            found.extend(extract_windows(ns))
        except UnusableSequenceError as e:
            skipped[str(e)] = skipped.get(str(e), 0) + 1
    found.sort(key=lambda w: (performance_of(w.sequence), w.sequence.id, w.start_bar))
    return subset(found, max_windows, rng), skipped


def subset(windows, max_windows=None, rng=None):
    """At most max_windows of `windows` (read_windows' canonical order), a random choice kept in order."""
    if max_windows is not None and len(windows) > max_windows:
        keep = np.sort((rng or np.random.default_rng(0)).choice(len(windows), max_windows, replace=False))
        return [windows[i] for i in keep]
    return windows
