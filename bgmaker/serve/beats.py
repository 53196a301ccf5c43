"""The page's beats: a 64-step x 9-drum grid of 0/1, to and from NoteSequences, and checked on the way in.

The grid is exactly what the model can play (one hit per drum class per 16th note,
Magenta's fixed output velocity), so a model beat survives the trip to the page and
back unchanged, and a MIDI export is the grid on screen. No TensorFlow here.
"""
import numpy as np
import note_seq

from bgmaker.data.windows import to_grid
from bgmaker.drums import DECODED_VELOCITY, DEFAULT_BPM, DRUM_NAMES, GM_PITCHES, STEPS, STEPS_PER_QUARTER

VELOCITY = DECODED_VELOCITY  # Magenta's DrumsConverter writes every hit at this velocity


class BadBeat(ValueError):
    """A grid from the page that is not a 64 x 9 grid of 0/1 (the message says where)."""


def parse_grid(value, name="grid"):
    """A bool [64, 9] array from JSON: 64 steps, each a list of 9 hits (0/1 or true/false), kick first."""
    if not isinstance(value, list) or len(value) != STEPS:
        got = f"{len(value)} steps" if isinstance(value, list) else f"a {type(value).__name__}"
        raise BadBeat(f"{name} must be a list of {STEPS} steps, got {got}")
    for i, step in enumerate(value):
        if not isinstance(step, list) or len(step) != len(DRUM_NAMES):
            got = f"{len(step)} values" if isinstance(step, list) else f"a {type(step).__name__}"
            raise BadBeat(f"{name} step {i} must be a list of {len(DRUM_NAMES)} hits, got {got}")
        if not all(v in (0, 1) and not isinstance(v, float) for v in step):
            raise BadBeat(f"{name} step {i} must hold only 0/1 or true/false")
    return np.array(value, dtype=bool)


def to_sequence(grid, name="beat"):
    """A 4-bar NoteSequence at the model's tempo (DEFAULT_BPM; the page's tempo is applied on export)
    with one GM drum note per hit of `grid` [64, 9]."""
    step_seconds = 60.0 / DEFAULT_BPM / STEPS_PER_QUARTER
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=DEFAULT_BPM)
    ns.time_signatures.add(numerator=4, denominator=4)
    for step, drum in zip(*np.nonzero(grid)):
        ns.notes.add(pitch=GM_PITCHES[drum], velocity=VELOCITY, is_drum=True, instrument=9,
                     start_time=step * step_seconds, end_time=(step + 1) * step_seconds)
    ns.total_time = len(grid) * step_seconds
    ns.id = ns.filename = name
    return ns


def to_json(ns):
    """The JSON grid (64 lists of 9 ints) of a 4-bar beat."""
    return to_grid(ns).astype(int).tolist()
