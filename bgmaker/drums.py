"""The 9-piece drum kit, the 16th-note grid and the tempos: every BGMaker grid constant, defined once.

The classes are Magenta's REDUCED_DRUM_PITCH_CLASSES, read here from
note_seq's DEFAULT_DRUM_TYPE_PITCHES (the same list; tests/test_windows.py
checks) because Magenta's data module imports TensorFlow and this layout is
needed by rendering and metrics, which must not. Each class lists the GM
pitches it absorbs; the first is the one Magenta's decoder writes.
"""
from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES

DRUM_NAMES = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom", "mid tom",
              "high tom", "crash", "ride")
PITCH_CLASSES = tuple(tuple(p) for p in DEFAULT_DRUM_TYPE_PITCHES)
PITCH_TO_CLASS = {p: c for c, pitches in enumerate(PITCH_CLASSES) for p in pitches}
GM_PITCHES = tuple(p[0] for p in PITCH_CLASSES)  # 36, 38, 42, 46, 45, 48, 50, 49, 51

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # sixteenths in a 4/4 bar
BARS = 4
STEPS = STEPS_PER_BAR * BARS  # 64: one model example

# The velocity of every hit the drum models decode (Magenta's data.OUTPUT_VELOCITY): a beat's loudness
# before humanization (bgmaker.humanize).
DECODED_VELOCITY = 80

DEFAULT_BPM = 120.0  # tempo of generated beats and of MIDI without a tempo (MIDI's own default)
# The tempos a beat is written and played at: --bpm, the MIDI and WAV writers, the web page.
MIN_BPM = 20
MAX_BPM = 400


def steps_per_bar(ns):
    """16th-note steps in one bar of `ns`'s first time signature (16 in 4/4, 12 in 3/4 or 6/8; 4/4 if none).

    Rendering draws and counts bars in the file's own meter; models read 4/4 only (bgmaker.data.windows).
    """
    if not ns.time_signatures:
        return STEPS_PER_BAR
    ts = min(ns.time_signatures, key=lambda t: t.time)
    steps = 16 * ts.numerator / ts.denominator
    if steps != int(steps) or steps < 1:
        raise ValueError(f"time signature {ts.numerator}/{ts.denominator} does not fit a 16th-note grid")
    return int(steps)
