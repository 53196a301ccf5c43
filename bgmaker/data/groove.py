"""A drum part as a humanizer sees it: hits on the 16th-note grid, each with a velocity and a timing offset.

`Groove` holds three [steps, 9] arrays for one stretch of 4/4 drumming:

- hits: True where drum class c is struck at 16th step s (bgmaker.drums);
- velocity: the MIDI velocity of that hit (1-127; 0 where there is none);
- offset: when it was played, minus its grid time, in 16th steps (+0.1 is a
  tenth of a 16th late, behind the beat; 0 where there is none). A hit
  belongs to the nearest step, so |offset| <= 0.5.

Two notes of one class on one step (e.g. pitches 42 and 44, both closed
hi-hat) are one hit here, the louder one's, as in Magenta's GrooveConverter,
which turns the same information into the GrooVAE's tensors (offset there is
-2 x ours, in [-1, 1]). This module is numpy and note_seq only: the template
humanizer, the metrics and the code that writes a humanized beat (`perform`)
read grooves without TensorFlow.
"""
from dataclasses import dataclass

import numpy as np

from bgmaker.drums import PITCH_TO_CLASS, STEPS_PER_BAR, STEPS_PER_QUARTER

N_CLASSES = 9


@dataclass
class Groove:
    hits: np.ndarray      # bool [steps, 9]
    velocity: np.ndarray  # float [steps, 9], MIDI 1-127 at hits, else 0
    offset: np.ndarray    # float [steps, 9], 16th steps, + = late, at hits, else 0
    step_seconds: float   # one 16th step at the part's tempo

    @property
    def steps(self):
        return len(self.hits)


def qpm_of(ns):
    return ns.tempos[0].qpm if ns.tempos else 120.0


def step_of(time, step_seconds):
    """The grid step a note played at `time` belongs to: the nearest, halves rounded up (note_seq's rule)."""
    return int(np.floor(time / step_seconds + 0.5))


def groove_of(ns, steps=None):
    """The Groove of NoteSequence `ns`, its time 0 on a grid line (a stored window, or a whole file).

    steps: the length (default: whole bars up to the last hit). Notes before
    the first step's half or past `steps` are ignored, as are pitches outside
    the 9 classes.
    """
    step_seconds = 60.0 / qpm_of(ns) / STEPS_PER_QUARTER
    drums = [(n, PITCH_TO_CLASS[n.pitch]) for n in ns.notes if n.is_drum and n.pitch in PITCH_TO_CLASS]
    if steps is None:
        last = max((step_of(n.start_time, step_seconds) for n, _ in drums), default=0)
        steps = (last // STEPS_PER_BAR + 1) * STEPS_PER_BAR
    hits = np.zeros((steps, N_CLASSES), bool)
    velocity = np.zeros((steps, N_CLASSES))
    offset = np.zeros((steps, N_CLASSES))
    for n, c in drums:
        s = step_of(n.start_time, step_seconds)
        if 0 <= s < steps and (not hits[s, c] or n.velocity > velocity[s, c]):
            hits[s, c] = True
            velocity[s, c] = n.velocity
            offset[s, c] = n.start_time / step_seconds - s
    return Groove(hits, velocity, offset, step_seconds)


def perform(ns, velocity, offset, amount=1.0):
    """A copy of `ns` whose drum hits take `velocity` and `offset` ([steps, 9], as in Groove) at their steps.

    Every note stays, with its pitch and length; only its velocity and start
    move: velocity = v0 + amount (v - v0) and start = grid + amount x offset,
    with v0 and grid the note's own velocity and grid time (amount 0: the
    input snapped to the grid; 1: the humanizer's playing). Notes outside
    the 9 classes or the arrays are left as they are. A note pushed before
    time 0 starts at 0. Returns the new sequence (notes in time order).
    """
    out = type(ns)()
    out.CopyFrom(ns)
    step_seconds = 60.0 / qpm_of(ns) / STEPS_PER_QUARTER
    steps = len(velocity)
    for n in out.notes:
        c = PITCH_TO_CLASS.get(n.pitch) if n.is_drum else None
        s = step_of(n.start_time, step_seconds)
        if c is None or not 0 <= s < steps:
            continue
        length = n.end_time - n.start_time
        v = n.velocity + amount * (float(velocity[s, c]) - n.velocity)
        n.velocity = int(np.clip(round(v), 1, 127))
        n.start_time = max(0.0, (s + amount * float(offset[s, c])) * step_seconds)
        n.end_time = n.start_time + length
    notes = sorted(out.notes, key=lambda n: (n.start_time, n.pitch))
    copies = [type(n)() for n in notes]
    for copy, n in zip(copies, notes):
        copy.CopyFrom(n)
    del out.notes[:]
    out.notes.extend(copies)
    out.total_time = max(ns.total_time, max((n.end_time for n in out.notes), default=0.0))
    return out


def windows_of(hits, steps):
    """Split hits [total, 9] into consecutive [n, steps, 9] windows (the last padded with silence)."""
    total = len(hits)
    n = max(1, -(-total // steps))
    padded = np.zeros((n * steps, hits.shape[1]), hits.dtype)
    padded[:total] = hits
    return padded.reshape(n, steps, hits.shape[1])


def position_in_bar(steps):
    """The 16th position in its bar (0-15) of each of `steps` steps."""
    return np.arange(steps) % STEPS_PER_BAR
