"""The humanizer with no neural network: what GMD's drummers played at each place in the bar, drawn at random.

For every style x drum class x 16th position in the bar, the template keeps
the (velocity, offset) pairs of the train performances' hits there (at most
MAX_PAIRS, a seeded random subset; offsets in 16th steps, + = late). To play
a hit it draws one pair from its cell, seeded: from the style's cell when
that holds at least MIN_PAIRS pairs, else from every style's cell at that
class and position, else from the class's pairs anywhere in the bar. A pair
keeps velocity and timing together (a loud backbeat is often also a late
one). Each hit is drawn on its own: the template knows the accent and
push/pull profile of a style, not how one hit relates to the next; that is
what the GrooVAE is for (bgmaker.humanize.groovae), and this is the
baseline it has to beat.

`fit` reads the performances themselves (bgmaker.data.windows' quantization:
the nearest 16th), not the overlapping windows, so every hit counts once.
The fitted template is a small .npz file (`save` / `load`) with the data's
file list checksum.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from bgmaker.data.groove import groove_of, position_in_bar
from bgmaker.drums import DECODED_VELOCITY, STEPS_PER_BAR

ALL = "all"         # the cell pooled over styles
MAX_PAIRS = 128     # pairs kept per cell
MIN_PAIRS = 16      # fewer in a style's cell: draw from the pooled cell
OFFSET_SCALE = 250  # offsets stored as int8 in 1/250 of a step (|offset| <= 0.5)


class TemplateHumanizer:
    """Velocity and timing drawn from GMD's train performances, per style x drum x position in the bar."""

    name = "template"
    window_steps = None  # any length

    def __init__(self, cells, meta=None):
        self.cells = cells  # {(style, class, position): int16 [n, 2] (velocity, offset x OFFSET_SCALE)}
        self.meta = meta or {}
        self.styles = sorted({s for s, _, _ in cells if s != ALL})

    # -- fitting ---------------------------------------------------------------

    @classmethod
    def fit(cls, performances, seed=0, log=print):
        """Fit on (style, NoteSequence) pairs; returns the template."""
        from bgmaker.data import windows
        pooled = {}
        files = []
        for style, ns in performances:
            try:
                q = windows.quantize(ns)
            except windows.UnusableSequenceError:
                continue
            files.append(ns.filename or ns.id)
            g = groove_of(q)
            s, c = np.nonzero(g.hits)
            pos = position_in_bar(g.steps)[s]
            pairs = np.column_stack([g.velocity[s, c], np.round(g.offset[s, c] * OFFSET_SCALE)]).astype(np.int16)
            for key_style in (style, ALL):
                for k in range(len(s)):
                    pooled.setdefault((key_style, int(c[k]), int(pos[k])), []).append(pairs[k])
        rng = np.random.default_rng(seed)
        cells = {}
        for key in sorted(pooled):
            pairs = np.array(pooled[key], np.int16)
            if len(pairs) > MAX_PAIRS:
                pairs = pairs[np.sort(rng.choice(len(pairs), MAX_PAIRS, replace=False))]
            cells[key] = pairs
        digest = hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()
        log(f"template: {len(files)} performances, {len(cells)} cells")
        return cls(cells, dict(performances=len(files), files_sha256=digest, seed=seed))

    # -- playing ---------------------------------------------------------------

    def _pool(self, style, c, pos):
        for key in ((style, c, pos), (ALL, c, pos)):
            pairs = self.cells.get(key)
            if pairs is not None and (key[0] == ALL or len(pairs) >= MIN_PAIRS):
                return pairs
        anywhere = [self.cells[(ALL, c, p)] for p in range(STEPS_PER_BAR) if (ALL, c, p) in self.cells]
        return np.concatenate(anywhere) if anywhere else np.array([[80, 0]], np.int16)

    def play(self, hits, seed=0, styles=None):
        """(velocity, offset) [n, steps, 9] for hit grids [n, steps, 9]; each grid's draws from its own seed.

        styles: one GMD primary style per grid (None: every style pooled). Grid
        i draws from rng (seed, i), hits in step-then-class order, so a grid's
        playing does not depend on the others in the batch.
        """
        hits = np.asarray(hits, bool)
        velocity = np.zeros(hits.shape)
        offset = np.zeros(hits.shape)
        positions = position_in_bar(hits.shape[1])
        for i, grid in enumerate(hits):
            rng = np.random.default_rng([seed, i])
            style = styles[i] if styles is not None else ALL
            for s, c in zip(*np.nonzero(grid)):
                pairs = self._pool(style, int(c), int(positions[s]))
                v, o = pairs[rng.integers(len(pairs))]
                velocity[i, s, c], offset[i, s, c] = v, o / OFFSET_SCALE
        return velocity, offset

    # -- storage -----------------------------------------------------------------

    def save(self, path):
        """Write the template as .npz (via a temporary file: an interrupted save leaves the old one)."""
        from bgmaker import paths
        path = Path(path)
        keys = sorted(self.cells)
        sizes = np.array([len(self.cells[k]) for k in keys], np.int32)
        with paths.replaced_atomically(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f, keys=np.array([f"{s}|{c}|{p}" for s, c, p in keys]), sizes=sizes,
                pairs=np.concatenate([self.cells[k] for k in keys]), meta=np.array(json.dumps(self.meta)))
        return path

    @classmethod
    def load(cls, path):
        with np.load(Path(path)) as data:
            ends = np.cumsum(data["sizes"])
            pairs = np.split(data["pairs"], ends[:-1])
            cells = {}
            for key, p in zip(data["keys"], pairs):
                s, c, pos = str(key).split("|")
                cells[(s, int(c), int(pos))] = p
            return cls(cells, json.loads(str(data["meta"])))


def gmd_performances(split="train", gmd_dir=None):
    """(primary style, NoteSequence) of every 4/4 GMD performance in `split` (unreadable files skipped)."""
    import note_seq

    from bgmaker import paths
    from bgmaker.data import gmd
    root = Path(gmd_dir or paths.gmd_dir())
    for p in gmd.select(gmd.load(root), time_signature="4-4", split=split):
        try:
            ns = note_seq.midi_file_to_note_sequence(str(root / p.midi_filename))
        except Exception:  # a broken file: the converter reports it; the template just skips it
            continue
        ns.filename = p.midi_filename
        yield p.primary_style, ns


class NoHumanizer:
    """The floor: no humanization. Every hit at DECODED_VELOCITY, on the grid."""

    name = "none"
    window_steps = None

    def play(self, hits, seed=0, styles=None):
        hits = np.asarray(hits, bool)
        return np.where(hits, float(DECODED_VELOCITY), 0.0), np.zeros(hits.shape)



def fit_gmd_template(path=None, seed=0, log=print):
    """The template fitted on GMD's train split (4/4), saved to `path` when given."""
    template = TemplateHumanizer.fit(gmd_performances("train"), seed=seed, log=log)
    if path is not None:
        template.save(path)
    return template
