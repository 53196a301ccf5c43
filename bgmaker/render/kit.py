"""The 9-piece kit BGMaker's models play, and the MIDI pitches a beat is written with.

The classes are Magenta's REDUCED_DRUM_PITCH_CLASSES (note_seq's
DEFAULT_DRUM_TYPE_PITCHES, read from note_seq here because Magenta's module
imports TensorFlow): each class lists the GM pitches it absorbs, the first
being the one the model's decoder writes.

A drum map is the 9 output pitches in class order. `gm` writes those first
pitches (General MIDI, what fluidsynth's GM soundfonts and most DAW kits
expect); `roland` moves the toms to 43/47/50 as on the Roland TD-11 the
Groove MIDI Dataset was recorded with; any 9 comma-separated pitches work too.
"""
from bgmaker.drums import DRUM_NAMES, GM_PITCHES, PITCH_CLASSES, PITCH_TO_CLASS  # noqa: F401

DRUM_MAPS = {
    "gm": GM_PITCHES,
    "roland": (36, 38, 42, 46, 43, 47, 50, 49, 51),
}


def drum_map(spec="gm"):
    """The 9 output pitches for a map name or a 'p1,...,p9' list (ValueError otherwise)."""
    if spec in DRUM_MAPS:
        return DRUM_MAPS[spec]
    try:
        pitches = tuple(int(p) for p in str(spec).split(","))
    except ValueError:
        pitches = ()
    if len(pitches) != len(DRUM_NAMES) or not all(0 <= p <= 127 for p in pitches):
        raise ValueError(f"drum map '{spec}': use one of {', '.join(DRUM_MAPS)} or 9 comma-separated "
                         f"MIDI pitches in the order {', '.join(DRUM_NAMES)}")
    return pitches


def drum_class(note):
    """The class index (0-8) of a drum note, or None for pitches outside the kit or non-drum notes."""
    return PITCH_TO_CLASS.get(note.pitch) if note.is_drum else None
