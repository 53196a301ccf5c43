"""Groove MIDI Dataset metadata: read info.csv, select performances by its fields.

GMD v1.0.0 (Gillick et al. 2019, CC BY 4.0) lists every performance in
info.csv with drummer, session, style (`primary/secondary`, e.g.
`rock/halftime`), bpm, beat_type (beat/fill), time_signature (`4-4`), the MIDI
path, duration in seconds and the official split (train/validation/test).
This module is pure Python (no TensorFlow) so selection is instant.
"""
import csv
from dataclasses import dataclass
from pathlib import Path

from bgmaker import paths

SPLITS = ("train", "validation", "test")


class SelectionError(ValueError):
    """A selection names a value GMD does not have, or matches nothing."""


@dataclass(frozen=True)
class Performance:
    drummer: str
    session: str
    id: str
    style: str
    bpm: int
    beat_type: str
    time_signature: str
    midi_filename: str
    duration: float
    split: str

    @property
    def primary_style(self):
        return self.style.split("/")[0]


def _name_fields(midi_filename):
    """(primary style, beat type) from a GMD file name, or None for a name that is not GMD's.

    GMD names its files `<id>_<style>_<bpm>_<beat|fill>_<time signature>.mid`
    with the style's `/` written as `-` (`110_rock-prog_190_beat_4-4.mid`:
    rock, beat), so a window's style and beat type are known from the filename
    it carries, without info.csv.
    """
    parts = Path(str(midi_filename)).stem.split("_")
    if len(parts) != 5 or not parts[0].isdigit() or parts[3] not in ("beat", "fill") or not parts[1]:
        return None
    return parts[1].split("-")[0], parts[3]


def style_of(midi_filename):
    """The primary style of a GMD file from its name (Performance.primary_style), or None if not GMD's."""
    fields = _name_fields(midi_filename)
    return fields[0] if fields else None


def beat_type_of(midi_filename):
    """"beat" or "fill" for a GMD file from its name (Performance.beat_type), or None if not GMD's."""
    fields = _name_fields(midi_filename)
    return fields[1] if fields else None


def load(gmd_dir=None):
    """All performances in `gmd_dir`/info.csv (default: paths.gmd_dir())."""
    gmd_dir = Path(gmd_dir or paths.gmd_dir())
    info = gmd_dir / "info.csv"
    if not info.is_file():
        raise FileNotFoundError(
            f"GMD not found: no info.csv in {gmd_dir} (set BGMAKER_GMD_DIR to the groove folder)")
    with open(info, newline="") as f:
        return [Performance(
            drummer=row["drummer"], session=row["session"], id=row["id"], style=row["style"],
            bpm=int(row["bpm"]), beat_type=row["beat_type"], time_signature=row["time_signature"],
            midi_filename=row["midi_filename"], duration=float(row["duration"]), split=row["split"],
        ) for row in csv.DictReader(f)]


def _check(field, wanted, valid):
    wanted = [wanted] if isinstance(wanted, (str, int)) else list(wanted)
    unknown = [w for w in wanted if w not in valid]
    if unknown:
        raise SelectionError(
            f"unknown {field} {', '.join(map(str, unknown))}; valid: {', '.join(sorted(map(str, valid)))}")
    return set(wanted)


def select(performances=None, *, style=None, beat_type=None, time_signature=None, bpm=None,
           drummer=None, session=None, split=None):
    """Performances matching every given field; None means any.

    style: a primary style (`rock`, matching `rock/halftime` too) or a full one
    (`rock/halftime`), or a list of them. bpm: (low, high) inclusive.
    Other fields: a value or a list of values. Raises SelectionError naming
    the valid values for an unknown value, or when nothing matches.
    """
    perfs = load() if performances is None else performances
    chosen = list(perfs)
    if style is not None:
        valid = {p.style for p in perfs} | {p.primary_style for p in perfs}
        styles = _check("style", style, valid)
        chosen = [p for p in chosen if p.style in styles or p.primary_style in styles]
    for field, wanted in (("beat_type", beat_type), ("time_signature", time_signature),
                          ("drummer", drummer), ("session", session), ("split", split)):
        if wanted is not None:
            allowed = _check(field, wanted, {getattr(p, field) for p in perfs})
            chosen = [p for p in chosen if getattr(p, field) in allowed]
    if bpm is not None:
        low, high = bpm
        chosen = [p for p in chosen if low <= p.bpm <= high]
    if not chosen:
        raise SelectionError(f"no GMD performance matches {_describe(style=style, beat_type=beat_type, time_signature=time_signature, bpm=bpm, drummer=drummer, session=session, split=split)}")
    return chosen


def _describe(**fields):
    return ", ".join(f"{k}={v}" for k, v in fields.items() if v is not None) or "(everything)"
