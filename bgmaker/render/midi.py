"""Beats as MIDI files a DAW opens at the right tempo and length.

The model thinks in 16th-note steps and writes NoteSequences at 120 qpm;
`at_tempo` re-times a beat to any bpm and maps its 9 classes to the chosen
drum map's pitches. Files end exactly at the last bar line (note_seq's writer
ends a file at its last note), so a 4-bar beat loops as 4 bars even when its
last bar is silent.
"""
import copy

import mido
import note_seq
from note_seq import sequences_lib

from bgmaker.drums import DEFAULT_BPM, MAX_BPM, MIN_BPM, STEPS_PER_QUARTER, steps_per_bar
from bgmaker.render import kit



def _qpm(ns):
    return ns.tempos[0].qpm if ns.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE


def bars(ns):
    """The number of whole bars, in its own meter, that `ns` spans (its total_time, rounded to the nearest bar)."""
    return round(ns.total_time * _qpm(ns) / 60.0 * STEPS_PER_QUARTER / steps_per_bar(ns))


def bar_seconds(ns):
    """The length of one bar of `ns` in seconds, in its own meter and tempo."""
    return steps_per_bar(ns) * 60.0 / _qpm(ns) / STEPS_PER_QUARTER


def at_tempo(ns, bpm=DEFAULT_BPM, drum_map_name="gm"):
    """A copy of `ns` at `bpm` (one tempo), drum notes on the map's pitches, other notes dropped."""
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise ValueError(f"bpm {bpm:g} is out of range ({MIN_BPM}-{MAX_BPM})")
    pitches = kit.drum_map(drum_map_name)
    out = sequences_lib.stretch_note_sequence(ns, _qpm(ns) / bpm)
    del out.tempos[:]
    out.tempos.add(qpm=bpm)
    if not out.time_signatures:
        out.time_signatures.add(numerator=4, denominator=4)
    kept = []
    for n in out.notes:
        c = kit.drum_class(n)
        if c is not None:
            n.pitch, n.instrument, n.program = pitches[c], 9, 0
            kept.append(copy.deepcopy(n))
    del out.notes[:]
    out.notes.extend(kept)
    return out


def concatenate(beats):
    """One NoteSequence of the beats back to back, each taking its full length (total_time).

    All beats must share a tempo (the model's output does); the result is
    what the seed's user heard: e.g. an 8-step interpolation as 32 bars.
    """
    qpms = {round(_qpm(b), 6) for b in beats}
    if len(qpms) > 1:
        raise ValueError(f"cannot concatenate beats at different tempos {sorted(qpms)}")
    durations = [b.total_time for b in beats]
    out = sequences_lib.concatenate_sequences(list(beats), durations)
    out.total_time = sum(durations)
    return out


def excerpt(ns, start, duration):
    """The part of `ns` from `start` lasting `duration` seconds, moved to time 0."""
    out = sequences_lib.extract_subsequence(ns, start, start + duration)
    out.total_time = duration
    return out


def write_midi(ns, path, bpm=DEFAULT_BPM, drum_map_name="gm"):
    """Write `ns` re-timed to `bpm` on the drum map; the file lasts exactly ns's total_time."""
    out = at_tempo(ns, bpm, drum_map_name)
    note_seq.sequence_proto_to_midi_file(out, str(path))
    _end_at(path, out.total_time * bpm / 60.0)
    return str(path)


def _end_at(path, quarters):
    """Move every track's end-of-track to `quarters` (never earlier than its last event)."""
    midi = mido.MidiFile(str(path))
    target = round(quarters * midi.ticks_per_beat)
    for track in midi.tracks:
        now = 0
        for msg in track:
            if msg.type == "end_of_track":
                msg.time = max(0, target - now)
            now += msg.time
    midi.save(str(path))
