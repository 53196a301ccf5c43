"""Fill-ness: bars of a recording, the fill detector's fit, its shipped weights, and a window's fill-ness."""
import sys
from pathlib import Path

import note_seq
import numpy as np
import pytest

from bgmaker.data.windows import UnusableSequenceError, bar_grids
from bgmaker.drums import DRUM_NAMES
from bgmaker.metrics import fills
from bgmaker.metrics.attributes import ATTRIBUTES

KICK, SNARE, HAT = (DRUM_NAMES.index(n) for n in ("kick", "snare", "closed hi-hat"))
TOMS = [DRUM_NAMES.index(n) for n in ("high tom", "mid tom", "low tom")]


def sequence(hits, steps, qpm=120.0):
    """A NoteSequence of (GM pitch, 16th step) hits, `steps` 16ths long."""
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=qpm)
    step = 60.0 / qpm / 4
    for pitch, s in hits:
        ns.notes.add(pitch=pitch, velocity=100, start_time=s * step, end_time=(s + 1) * step, is_drum=True,
                     instrument=9)
    ns.total_time = steps * step
    return ns


def beat_bar(rng):
    bar = np.zeros((16, 9), bool)
    bar[::2, HAT] = True
    bar[[0, 8], KICK] = True
    bar[[4, 12], SNARE] = True
    bar[rng.integers(0, 16), KICK] = True
    return bar


def fill_bar(rng):
    bar = beat_bar(rng)
    bar[8:] = False  # the groove stops halfway; a tom run down to the next downbeat
    for i, s in enumerate(range(8, 16)):
        bar[s, TOMS[min(i // 3, 2)] if rng.random() < 0.8 else SNARE] = True
    return bar


def labelled(n, seed):
    rng = np.random.default_rng(seed)
    is_fill = rng.random(n) < 0.2
    return np.stack([fill_bar(rng) if f else beat_bar(rng) for f in is_fill]), is_fill


def test_bar_grids_cut_a_recording_at_bar_lines_keep_a_partial_last_bar_and_drop_silent_ones():
    # bar 0: kick on 1; bar 1: silent; bar 2: snare on step 36; bar 3 holds 4 steps with a hat on its last
    ns = sequence([(36, 0), (38, 36), (42, 51)], steps=52)
    bars = bar_grids(ns)
    assert bars.shape == (3, 16, 9)
    assert bars[0, 0, KICK] and bars[1, 4, SNARE] and bars[2, 3, HAT] and bars.sum() == 3
    with pytest.raises(UnusableSequenceError, match="no drum notes"):
        bar_grids(note_seq.NoteSequence())


def test_auc_is_the_chance_a_positive_outscores_a_negative():
    assert fills.auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert fills.auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert fills.auc([0.5, 0.5, 0.5], [0, 1, 1]) == 0.5  # ties count half
    assert fills.auc([0.1, 0.3, 0.2], [1, 0, 1]) == 0.0
    assert np.isnan(fills.auc([0.1, 0.2], [1, 1]))


def test_a_detector_learns_fill_bars_chooses_its_penalty_on_validation_and_round_trips(tmp_path):
    train, validation = labelled(600, 0), labelled(300, 1)
    detector, penalty, scores = fills.choose_detector(train, validation)
    assert penalty in fills.PENALTIES and set(scores) == set(fills.PENALTIES)
    assert scores[penalty] == max(scores.values()) > 0.95
    assert fills.auc(detector.bar_probability(validation[0]), validation[1]) == scores[penalty]
    path = fills.save_detector(detector, {"note": "synthetic"}, tmp_path / "detector.json")
    again = fills.load_detector(path)
    assert np.allclose(again.bar_probability(validation[0]), detector.bar_probability(validation[0]), atol=1e-6)
    with pytest.raises(ValueError, match="both fill and beat"):
        fills.fit_detector(train[0][:5], np.zeros(5, bool), 1e-3)


def test_a_windows_fillness_is_its_most_fill_like_bars_probability():
    rng = np.random.default_rng(2)
    detector = fills.choose_detector(labelled(600, 0), labelled(300, 1))[0]
    beats = np.stack([beat_bar(rng) for _ in range(4)])
    ending_in_a_fill = np.concatenate([beats[:3], fill_bar(rng)[None]])
    windows = np.stack([beats, ending_in_a_fill]).reshape(2, 64, 9)
    values = detector.fillness(windows)
    assert values.shape == (2,) and values[1] > 0.5 > values[0]
    assert values[1] == pytest.approx(detector.bar_probability(ending_in_a_fill).max())
    assert detector.fillness(windows[1]) == pytest.approx(values[1])  # one grid: a float
    with pytest.raises(ValueError, match="whole bars"):
        detector.fillness(np.zeros((20, 9), bool))


def test_the_shipped_detector_hears_a_tom_run_as_a_fill_and_a_plain_beat_as_not():
    """The weights in bgmaker/metrics/fill_detector.json, as `--more fill=...` and the priors report use them."""
    assert fills.DETECTOR_FILE.is_file()
    rng = np.random.default_rng(3)
    beat = np.stack([beat_bar(rng) for _ in range(4)]).reshape(64, 9)
    run = np.zeros((16, 9), bool)  # a bar-long fill as GMD's drummers play them: snare, then down the toms
    for s in range(16):
        run[s, [SNARE, *TOMS][s // 4]] = True
    fill = np.concatenate([beat[:48], run])
    assert fills.fillness(fill) > 0.9 and fills.fillness(beat) < 0.1
    assert ATTRIBUTES["fill"][0] is fills.fillness


def test_the_shipped_detector_is_what_gmd_refits(gmd_dir):
    """reports/fill_detector.py fits it on GMD's bars: the committed weights must be that fit's (seconds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))
    from fill_detector import gmd_bars
    data, _ = gmd_bars(log=lambda *_: None)
    detector = fills.choose_detector(data["train"][:2], data["validation"][:2])[0]
    shipped = fills.load_detector()
    assert np.allclose(detector.weights, shipped.weights, atol=1e-6)
    assert detector.bias == pytest.approx(shipped.bias, abs=1e-6)
