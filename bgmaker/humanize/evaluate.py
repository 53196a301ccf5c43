"""Humanizers scored on a GMD split: quantize the drummer's windows, humanize them, compare with how they played.

The windows: every 4/4 performance of the split cut into consecutive 4-bar
windows (a 4-bar hop, so every hit counts once; bgmaker.data.windows with
`expressive=True`, silent windows dropped). Each humanizer gets only each
window's hits and returns a velocity and an offset per hit
(`play(hits, seed, styles)`; the template also gets the window's style, the
GrooVAE does not need it). Figures (bgmaker.metrics.groove), over all hits
and per drum and per style:

- velocity: mean absolute error (MIDI units) and Pearson's r with the drummer's;
- timing: mean absolute error of the offset from the grid (ms) and r;
- distributions: KDE overlap of all played velocities and offsets with the
  drummer's (bgmaker.metrics.distributions; 1 = the same spread);
- classifier: held-out balanced accuracy of a logistic regression telling
  humanized windows from the drummer's on their playing statistics
  (groove_statistics), folds grouped by performance (0.5: cannot tell).

Beside every humanizer: the floor (no humanization: every hit at the decoded
velocity, on the grid) and, as the ceiling for the overlaps and the
classifier, real drumming against itself (the train split's hits against the
split's; one half of the split's performances against the other).
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmaker.drums import BARS, STEPS
from bgmaker.humanize.report import SUMMARY  # noqa: F401  (the summary figures, in the report's order)

# Styles reported on their own when they have at least this many windows in the split.
MIN_STYLE_WINDOWS = 20
# Values per set fed to the KDE overlaps (a seeded subset beyond this; the KDE costs n x grid points).
OVERLAP_VALUES = 20000


@dataclass
class SplitWindows:
    hits: np.ndarray          # bool [n, 64, 9]
    velocity: np.ndarray      # [n, 64, 9]
    offset: np.ndarray        # [n, 64, 9], 16th steps
    step_seconds: np.ndarray  # [n]
    styles: list              # primary style per window
    groups: list              # performance per window

    def __len__(self):
        return len(self.hits)


def split_windows(split, gmd_dir=None):
    """The SplitWindows of GMD split `split` (4/4 performances, consecutive 4-bar windows)."""
    from bgmaker.data import groove, windows
    from bgmaker.humanize.template import gmd_performances
    rows = []
    for style, ns in gmd_performances(split, gmd_dir):
        try:
            found = windows.extract_windows(ns, bars=BARS, hop_bars=BARS, expressive=True)
        except windows.UnusableSequenceError:
            continue
        for w in found:
            g = groove.groove_of(w.sequence, STEPS)
            rows.append((g, style, ns.filename))
    if not rows:
        raise ValueError(f"no 4/4 GMD windows in split {split!r}")
    return SplitWindows(np.stack([g.hits for g, _, _ in rows]), np.stack([g.velocity for g, _, _ in rows]),
                        np.stack([g.offset for g, _, _ in rows]), np.array([g.step_seconds for g, _, _ in rows]),
                        [s for _, s, _ in rows], [p for _, _, p in rows])


def _subset(values, rng):
    return values if len(values) <= OVERLAP_VALUES else rng.choice(values, OVERLAP_VALUES, replace=False)


def _overlap(real, played, rng):
    from bgmaker.metrics.distributions import overlap_and_kl
    return overlap_and_kl(_subset(real, rng), _subset(played, rng))["overlap"]


def score_playing(data, velocity, offset, seed=0):
    """Summary figures (SUMMARY), per drum and per style, of one humanizer's `velocity`, `offset` on `data`."""
    from bgmaker.metrics import groove as gm
    from bgmaker.metrics.two_sample import classifier_two_sample_test
    rng = np.random.default_rng(seed)
    real_ms, played_ms = gm.milliseconds(data.offset, data.step_seconds), gm.milliseconds(offset, data.step_seconds)
    rows = gm.per_instrument(data.velocity, velocity, real_ms, played_ms, data.hits)
    summary = {k: rows["all"][k] for k in ("velocity_mae", "velocity_r", "timing_mae_ms", "timing_r")}
    summary["velocity_overlap"] = _overlap(data.velocity[data.hits], velocity[data.hits], rng)
    summary["timing_overlap"] = _overlap(real_ms[data.hits], played_ms[data.hits], rng)
    test = classifier_two_sample_test(
        gm.groove_statistics(data.hits, velocity, played_ms), gm.groove_statistics(data.hits, data.velocity, real_ms),
        [f"played:{g}" for g in data.groups], list(data.groups), rng, features=True)
    summary["classifier"] = test["accuracy"]
    styles = {}
    names, counts = np.unique(data.styles, return_counts=True)
    for style in names[counts >= MIN_STYLE_WINDOWS]:
        m = np.array(data.styles) == style
        r = gm.per_instrument(data.velocity[m], velocity[m], real_ms[m], played_ms[m], data.hits[m])["all"]
        styles[str(style)] = dict(r, windows=int(m.sum()))
    return dict(summary=summary, per_drum=rows, per_style=styles)


def ceilings(data, train, seed=0):
    """Real drumming against itself: overlaps of the train split's hits with `data`'s, classifier on two halves."""
    from bgmaker.metrics import groove as gm
    from bgmaker.metrics.two_sample import classifier_two_sample_test, group_halves
    rng = np.random.default_rng(seed)
    real_ms, train_ms = gm.milliseconds(data.offset, data.step_seconds), gm.milliseconds(train.offset, train.step_seconds)
    a, b = group_halves(data.groups, rng)
    stats = gm.groove_statistics(data.hits, data.velocity, real_ms)
    test = classifier_two_sample_test(stats[a], stats[b], [data.groups[i] for i in a], [data.groups[i] for i in b],
                                      rng, features=True)
    return dict(velocity_overlap=_overlap(train.velocity[train.hits], data.velocity[data.hits], rng),
                timing_overlap=_overlap(train_ms[train.hits], real_ms[data.hits], rng),
                classifier=test["accuracy"])


def score_humanizer(humanizer, data, seed=0):
    """play + score_playing; for a GrooVAE also how often its own hits would differ from the input's."""
    velocity, offset = humanizer.play(data.hits, seed=seed, styles=data.styles)
    assert np.array_equal(velocity > 0, data.hits), "a humanizer must play exactly the input's hits"
    scored = score_playing(data, velocity, offset, seed)
    if hasattr(humanizer, "own_hits"):
        own = humanizer.own_hits(data.hits)
        bars = len(data) * BARS
        scored["summary"]["own_hits_dropped"] = float((data.hits & ~own).sum() / data.hits.sum())
        scored["summary"]["own_hits_added_per_bar"] = float((own & ~data.hits).sum() / bars)
    return scored


_CACHE = {}


def cached_split(split):
    """split_windows(split), kept for the process (the campaign scores many milestones on one split)."""
    if split not in _CACHE:
        _CACHE[split] = split_windows(split)
    return _CACHE[split]


def score_checkpoint(checkpoint, split="validation", seed=0):
    """A humanize checkpoint's summary on `split` (for choosing milestones and window lengths)."""
    from bgmaker.humanize.groovae import GrooveHumanizer
    humanizer = GrooveHumanizer(checkpoint)
    try:
        return score_humanizer(humanizer, cached_split(split), seed)["summary"]
    finally:
        humanizer.close()


def evaluate(checkpoint, template, split="test", seed=0, output_dir=None, log=print):
    """The report: the GrooVAE (if `checkpoint`), the template (a TemplateHumanizer) and the floor on `split`.

    Writes evaluation.json and evaluation.md into `output_dir` when given; returns the report dict.
    """
    from bgmaker.humanize.template import NoHumanizer
    from bgmaker.paths import portable
    log(f"humanize evaluation on GMD's {split} split")
    data, train = split_windows(split), split_windows("train")
    results = {}
    humanizers = [("template", template), ("floor: no humanization", NoHumanizer())]
    if checkpoint:
        from bgmaker.humanize.groovae import GrooveHumanizer
        humanizers.insert(0, ("groovae", GrooveHumanizer(checkpoint)))
    for name, humanizer in humanizers:
        log(f"  {name}")
        results[name] = score_humanizer(humanizer, data, seed)
    report = dict(split=split, seed=seed, windows=len(data), hits=int(data.hits.sum()),
                  performances=len(set(data.groups)), checkpoint=portable(checkpoint) if checkpoint else None,
                  template=template.meta, results=results, ceiling=ceilings(data, train, seed),
                  command=(f".venv/bin/bgmaker evaluate --run humanize --checkpoint {portable(checkpoint)} --split "
                           f"{split} --seed {seed}" + (f" --output-dir {portable(output_dir)}" if output_dir else ""))
                  if checkpoint else None)
    if output_dir:
        from bgmaker.humanize.report import write
        write(report, Path(output_dir))
    return report


# A shipped humanizer's fingerprint (check.json beside it): its validation figures, re-measured by the tests.
CHECK_FILE = "check.json"
CHECK_TOLERANCE = 0.02  # relative: another CPU may round an LSTM output differently; a changed model moves far more


def record_check(model_dir):
    """Write model_dir/check.json: the shipped humanizer's summary on the validation split; return it."""
    figures = score_checkpoint(str(model_dir), "validation")
    (Path(model_dir) / CHECK_FILE).write_text(json.dumps(dict(split="validation", seed=0, figures=figures),
                                                         indent=1, default=float) + "\n")
    return figures


def check_differences(model_dir, measured=None):
    """[(figure, recorded, measured)] that differ from check.json by more than CHECK_TOLERANCE (relative)."""
    recorded = json.loads((Path(model_dir) / CHECK_FILE).read_text())["figures"]
    measured = measured or score_checkpoint(str(model_dir), "validation")
    return [(k, v, measured.get(k)) for k, v in recorded.items()
            if measured.get(k) is None or abs(measured[k] - v) > CHECK_TOLERANCE * max(abs(v), 1e-9)]


def load_report(folder):
    return json.loads((Path(folder) / "evaluation.json").read_text())
