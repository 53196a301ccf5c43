"""A user's MIDI file as a NoteSequence and as the 4-bar window a model reads, with plain reasons.

Why not note_seq's reader alone: it reports a broken file as whatever the
parser tripped on ("<class 'EOFError'>", "max() arg is an empty sequence").
A musician needs "empty", "truncated", "not a MIDI file", "a directory" or
"no notes on the drum channel". `midi_problem` reads the file's chunk
structure (the header `MThd`, then `MTrk` chunks with their lengths) to say
which, before and after note_seq parses it. Every command that takes MIDI
(generate, the web page, convert) reads it here.
"""
import os
import struct
from pathlib import Path

from bgmaker.errors import UnusableMidiError


def midi_problem(path):
    """Why `path` is not a readable MIDI file ("empty", "truncated ...", ...), or None if it looks whole."""
    path = Path(path).expanduser()
    if path.is_dir():
        return "a directory, not a MIDI file"
    if not path.exists():
        return "no such file"
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if not data:
        return "empty (0 bytes)"
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":  # RIFF-wrapped MIDI: check the inner file
        data = data[20:]
    if data[:4] != b"MThd":
        return "not a MIDI file (no MThd header)"
    if len(data) < 14:
        return "truncated (the header is incomplete)"
    header_length, = struct.unpack(">I", data[4:8])
    _, tracks, _ = struct.unpack(">HHH", data[8:14])
    position, found = 8 + header_length, 0
    while position + 8 <= len(data) and found < tracks:
        kind = data[position:position + 4]
        length, = struct.unpack(">I", data[position + 4:position + 8])
        if kind == b"MTrk":
            found += 1
        elif not kind.isalpha():  # neither a track nor a named extra chunk: not MIDI data
            return f"corrupt MIDI file (no track where track {found + 1} should start)"
        if position + 8 + length > len(data):
            return f"truncated (track {found} of {tracks} ends early)"
        position += 8 + length
    if found < tracks:
        return f"truncated ({found} of {tracks} tracks present)"
    return None


def read_midi(path):
    """A MIDI file as a NoteSequence, or UnusableMidiError / FileNotFoundError naming the file and why."""
    import note_seq
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such MIDI file")
    problem = midi_problem(path)
    if problem:
        raise UnusableMidiError(f"{path}: {problem}")
    try:
        ns = note_seq.midi_file_to_note_sequence(str(path))
    except Exception as e:  # note_seq wraps some parser errors, not all (EOFError, IndexError, ...)
        detail = str(e).strip() if isinstance(e, note_seq.MIDIConversionError) else type(e).__name__
        raise UnusableMidiError(f"{path}: a corrupt MIDI file ({detail[:120]})") from None
    ns.filename = str(path)
    return ns


def drum_problem(ns):
    """Why a NoteSequence has nothing for a drum model, or None: no notes, or none on the drum channel."""
    if not ns.notes:
        return "no notes"
    if not any(n.is_drum for n in ns.notes):
        return (f"{len(ns.notes)} notes but none on the drum channel (MIDI channel 10); "
                "BGMaker reads drums from channel 10 only")
    return None


def find_windows(beat):
    """Every distinct non-silent bar-aligned 4-bar window of `beat` (MIDI path or NoteSequence), in order.

    UnusableMidiError naming the input and why when there is none: the one
    wording for a MIDI file without a beat, whether a command encodes one
    window (find_window) or the web page shows them all.
    """
    from bgmaker.data import windows
    ns = read_midi(beat) if isinstance(beat, (str, os.PathLike)) else beat
    name = _name_of(ns)
    problem = drum_problem(ns)
    if problem:
        raise UnusableMidiError(f"{name}: no 4-bar drum beat: {problem}")
    try:
        found = windows.extract_windows(ns)
    except windows.UnusableSequenceError as e:
        raise UnusableMidiError(f"{name}: no 4-bar drum beat: {e}") from None
    if not found:
        raise UnusableMidiError(f"{name}: no 4-bar drum beat: no notes of the 9-piece drum kit")
    return found


def find_window(beat, start_bar=None):
    """The bgmaker.data.windows Window of `beat` (MIDI path or NoteSequence) that a model encodes.

    The first non-silent bar-aligned 4-bar window, or the one starting at
    `start_bar` (0-based). Needs no model, so commands check their inputs
    before loading one.
    """
    ns = read_midi(beat) if isinstance(beat, (str, os.PathLike)) else beat
    found = find_windows(ns)
    if start_bar is None:
        return found[0]
    for w in found:
        if w.start_bar == start_bar:
            return w
    raise UnusableMidiError(f"{_name_of(ns)}: no non-silent 4-bar window starts at bar {start_bar} "
                            f"(windows start at bars {', '.join(str(w.start_bar) for w in found)})")


def _name_of(ns):
    return ns.filename or ns.id or "the input NoteSequence"
