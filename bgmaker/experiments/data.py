"""Rolls for the experiments: 88-key piano rolls from Bach chorales or a MIDI folder, and v2_rock_beat's drum grids.

A dataset here is `Rolls`: float32 windows [n, steps, keys] of 0/1 with, per window, the piece (or
performance) it comes from; splits are by piece, so no piece has windows on both sides.

Piano rolls (the original experiments' input): `PIANO_STEPS_PER_QUARTER` = 2 (eighth notes), windows of
`PIANO_WINDOW_STEPS` = 32 steps (16 quarters: 4 bars of 4/4) every 8 steps, keys = MIDI pitches 21..108.
A cell is 1 while a note sounds (a frame roll: held notes stay on). Notes are snapped to the eighth
grid (start rounded, at least one step long); all-silent windows are dropped.

Drum grids: the v2_rock_beat windows (every 4-bar window, 16th notes: 64 steps x 9 drums), whose
cells are onsets, read with the windows module's `to_grid` -- the grids MusicVAE is scored on.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmaker import paths

PIANO_STEPS_PER_QUARTER = 2
PIANO_WINDOW_STEPS = 32
PIANO_HOP_STEPS = 8
LOWEST_KEY, KEYS = 21, 88            # A0 .. C8
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)    # train / validation / test, by piece
SPLITS = ("train", "validation", "test")


@dataclass
class Rolls:
    x: np.ndarray        # float32 [n, steps, keys], 0/1
    pieces: np.ndarray   # str [n]: the piece / performance of each window

    def __len__(self):
        return len(self.x)

    def take(self, index):
        return Rolls(self.x[index], self.pieces[index])


# ----------------------------------------------------------------------------------------------------------
# Piano rolls

def note_roll(notes, total_steps):
    """Frame roll [total_steps, 88] from (start_step, end_step, midi_pitch) triples; pitches off the keyboard dropped."""
    roll = np.zeros((max(total_steps, 1), KEYS), np.float32)
    for start, end, pitch in notes:
        k = pitch - LOWEST_KEY
        if 0 <= k < KEYS and start < total_steps:
            roll[start:max(end, start + 1), k] = 1.0
    return roll


def windows_of(roll, steps=PIANO_WINDOW_STEPS, hop=PIANO_HOP_STEPS):
    """Every `steps`-long window of `roll` starting at a multiple of `hop`, without all-silent ones."""
    out = [roll[s:s + steps] for s in range(0, len(roll) - steps + 1, hop)]
    return [w for w in out if w.any()]


def _music21_roll(score, per_quarter=PIANO_STEPS_PER_QUARTER):
    notes = []
    for n in score.flatten().notes:
        start = int(round(float(n.offset) * per_quarter))
        end = int(round(float(n.offset + n.quarterLength) * per_quarter))
        notes += [(start, end, p.midi) for p in n.pitches]
    total = int(round(float(score.highestTime) * per_quarter))
    return note_roll(notes, total)


def bach_chorale_rolls(cache_dir=None):
    """{piece name: frame roll [steps, 88]} for music21's bundled Bach corpus (parsed once, then cached).

    Every file music21 lists under composer 'bach' that holds notes (MusicXML, Humdrum); the roman-numeral
    analyses (.rntxt) are not music and are skipped. Cached as .npz under `cache_dir`
    ($BGMAKER_STATE_DIR/experiments by default), keyed by music21's version and the resolution.
    """
    import music21
    from music21 import corpus

    cache_dir = Path(cache_dir or _state_dir() / "experiments")
    key = hashlib.sha1(f"{music21.__version__}-{PIANO_STEPS_PER_QUARTER}".encode()).hexdigest()[:10]
    cache = cache_dir / f"bach-rolls-{key}.npz"
    if cache.exists():
        with np.load(cache) as f:
            return {name: f[name] for name in f.files}
    rolls = {}
    for path in sorted(corpus.getComposer("bach"), key=str):
        if path.suffix == ".rntxt":
            continue
        roll = _music21_roll(corpus.parse(path))
        if roll.any():
            rolls[path.stem] = roll
    cache_dir.mkdir(parents=True, exist_ok=True)
    with paths.replaced_atomically(cache) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **rolls)  # a file object: np.savez given a name would add ".npz" to it
    return rolls


def midi_folder_rolls(folder):
    """{file path: frame roll [steps, 88]} for every .mid/.midi under `folder` (drum tracks ignored).

    Quantized with note-seq to eighth notes (tempo changes are fine: steps are beats, not seconds).
    Files note-seq cannot read or quantize are skipped with their reason in the returned `skipped`.
    """
    import note_seq

    rolls, skipped = {}, {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".mid", ".midi")):
        try:
            ns = note_seq.quantize_note_sequence(note_seq.midi_file_to_note_sequence(str(path)),
                                                 PIANO_STEPS_PER_QUARTER)
        except Exception as e:  # a user's folder: one bad file must not stop the rest  # noqa: BLE001
            skipped[str(path)] = f"{type(e).__name__}: {e}"
            continue
        notes = [(n.quantized_start_step, n.quantized_end_step, n.pitch) for n in ns.notes if not n.is_drum]
        roll = note_roll(notes, ns.total_quantized_steps)
        if roll.any():
            rolls[str(path.relative_to(folder))] = roll
        else:
            skipped[str(path)] = "no pitched notes"
    return rolls, skipped


def split_by_piece(rolls, seed=0, fractions=SPLIT_FRACTIONS):
    """{split: Rolls}: pieces shuffled with `seed` and cut by `fractions`, then windowed.

    At least one piece per split when there are 3 or more pieces.
    """
    names = sorted(rolls)
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = max(1, int(round(fractions[1] * len(names)))) if len(names) >= 3 else 0
    n_test = max(1, int(round(fractions[2] * len(names)))) if len(names) >= 3 else 0
    parts = dict(test=order[:n_test], validation=order[n_test:n_test + n_val], train=order[n_test + n_val:])
    out = {}
    for split in SPLITS:
        x, pieces = [], []
        for i in sorted(parts[split]):
            w = windows_of(rolls[names[i]])
            x += w
            pieces += [names[i]] * len(w)
        out[split] = Rolls(np.asarray(x, np.float32).reshape(-1, PIANO_WINDOW_STEPS, KEYS), np.asarray(pieces))
    return out


# ----------------------------------------------------------------------------------------------------------
# Drum grids

def drum_grids(run="v2_rock_beat"):
    """{split: Rolls [n, 64, 9]} of a converted run's windows (every window, as MusicVAE is scored).

    The TFRecords are `bgmaker_configs.get_run(run).examples_path(split)` ($BGMAKER_DATA_DIR/<run>/);
    `bgmaker convert --run <run>` makes them. Pieces are performances (the windows module's
    `performance_of`).
    """
    import note_seq
    import tensorflow as tf

    import bgmaker_configs
    from bgmaker.data.windows import performance_of, to_grid

    out = {}
    for split in SPLITS:
        path = bgmaker_configs.get_run(run).examples_path(split)
        if not Path(path).exists():
            raise FileNotFoundError(f"{path} is missing: run `.venv/bin/bgmaker convert --run {run}` "
                                    f"(or point BGMAKER_DATA_DIR at converted data)")
        grids, pieces = [], []
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            ns = note_seq.NoteSequence.FromString(record)
            grids.append(to_grid(ns))
            pieces.append(performance_of(ns))
        out[split] = Rolls(np.asarray(grids, np.float32), np.asarray(pieces))
    return out


def _state_dir():
    return paths.state_dir()
