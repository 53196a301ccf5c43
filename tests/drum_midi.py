"""Synthetic drum MIDI for tests: known content, built with note_seq."""
import note_seq

# GM pitches of the 9 reduced classes, in Magenta's REDUCED_DRUM_PITCH_CLASSES order
KICK, SNARE, CLOSED_HH, OPEN_HH, LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE = 36, 38, 42, 46, 45, 48, 50, 49, 51


def rock_beat(bars=4, qpm=120.0, variant=0):
    """A NoteSequence of a drum beat: hats on 8ths, kick on 1/3, snare on 2/4.

    `variant` shifts a few hits so different files differ.
    """
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=qpm)
    ns.time_signatures.add(numerator=4, denominator=4)
    step = 60.0 / qpm / 4  # a sixteenth
    for bar in range(bars):
        for s in range(16):
            t = (bar * 16 + s) * step
            pitches = []
            if s % 2 == 0:
                pitches.append(CLOSED_HH if (s + variant) % 8 else OPEN_HH)
            if s in (0, 8) or (variant and s == 10 + variant % 4):
                pitches.append(KICK)
            if s in (4, 12):
                pitches.append(SNARE)
            if s == 0 and bar % 4 == 0:
                pitches.append(CRASH)
            for p in pitches:
                ns.notes.add(pitch=p, velocity=100, start_time=t, end_time=t + step / 2,
                             is_drum=True, instrument=9)
    ns.total_time = bars * 16 * step
    return ns


def write_midi(ns, path):
    note_seq.sequence_proto_to_midi_file(ns, str(path))
    return path
