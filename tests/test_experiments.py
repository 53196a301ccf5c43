"""The experiments (issue #14): every model's parameter counts, a few real training steps on synthetic rolls,
the rolls from MIDI, and the scores' known answers. Tiny shapes; real TensorFlow, no mocks."""
import json

import numpy as np
import pretty_midi
import pytest

from bgmaker.cli import main as bgmaker
from bgmaker.experiments import data, scores
from bgmaker.experiments.networks import (EXPERIMENTS, ORIGINAL_ROWS, build, keras_counts, pytorch_convention_count)
from bgmaker.experiments.train import train

# Keras keeps one bias per recurrent layer, PyTorch two: the known difference per original row.
RECURRENT_BIAS_DIFFERENCE = {"01": 0, "02": 5 * 64 + 5 * 88, "03": 4 * (5 * 128 + 5 * 88),
                             "04": 4 * (5 * 128 + 5 * 88), "04.3": 4 * (5 * 128 + 5 * 88),
                             "05": 4 * 3 * (128 + 256 + 128 + 88)}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_parameter_counts_match_the_original_table(name):
    e = EXPERIMENTS[name]
    built = build(e, keys=88, steps=32)
    counts = keras_counts(built)
    pytorch = pytorch_convention_count(built)
    if name in ORIGINAL_ROWS:
        assert pytorch == ORIGINAL_ROWS[name]["params"]
        assert counts["trainable"] == pytorch - RECURRENT_BIAS_DIFFERENCE[name]
    else:  # a fix: the original it fixes plus what it adds
        added = {"01-fix": 2 * (512 * 512 + 512), "03-fix": 2 * 88, "04.3-fix": 2 * 88}[name]
        assert pytorch == ORIGINAL_ROWS[e.row]["params"] + added


def test_the_registry_says_what_each_fix_fixes():
    assert set(ORIGINAL_ROWS) <= set(EXPERIMENTS)
    for name, e in EXPERIMENTS.items():
        assert e.row in ORIGINAL_ROWS
        assert bool(e.fixes) == (name not in ORIGINAL_ROWS)
        assert e.run_epochs <= e.epochs
    import bgmaker.cli
    assert bgmaker.cli.COMMANDS["experiments"][0] == "bgmaker.cli.experiments"


def synthetic_rolls(n, steps, keys, seed):
    """Chord-like rolls: 3 random keys held for 4 steps at a time."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps, keys), np.float32)
    for i in range(n):
        for s in range(0, steps, 4):
            x[i, s:s + 4, rng.choice(keys, 3, replace=False)] = 1.0
    return data.Rolls(x, np.array([f"piece{i % 4}" for i in range(n)]))


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_each_model_trains_a_few_steps_on_synthetic_rolls(name):
    e = EXPERIMENTS[name]
    rolls = synthetic_rolls(16, steps=16, keys=12, seed=0)
    trained = train(e, rolls, synthetic_rolls(8, 16, 12, seed=1), seed=0, epochs=2, epoch_windows=8,
                    batch_size=4, snapshot_epochs=[1], log=lambda *_: None)
    assert [h["epoch"] for h in trained.history] == [1, 2]
    assert trained.best_epoch in (1, 2) and 1 in trained.snapshots
    prediction = trained.predict(rolls.x)
    assert prediction.shape == rolls.x.shape
    if e.output_is_logit:
        assert np.all((prediction >= 0) & (prediction <= 1))
    if e.is_vae:
        assert trained.sample(3, seed=0).shape == (3, 16, 12)
    if not trained.nan_at:
        assert np.all(np.isfinite(prediction))


def test_training_is_seeded():
    e = EXPERIMENTS["02"]
    rolls, val = synthetic_rolls(16, 16, 12, 0), synthetic_rolls(8, 16, 12, 1)
    runs = [train(e, rolls, val, seed=3, epochs=2, epoch_windows=8, batch_size=4, log=lambda *_: None)
            for _ in range(2)]
    assert runs[0].history == [dict(h, seconds=runs[0].history[i]["seconds"]) for i, h in enumerate(runs[1].history)]
    np.testing.assert_array_equal(runs[0].predict(rolls.x), runs[1].predict(rolls.x))


def test_rolls_windows_and_split_by_piece():
    roll = data.note_roll([(0, 4, 60), (2, 2, 64), (5, 9, 200)], total_steps=40)
    assert roll.shape == (40, 88)
    assert roll[:4, 60 - 21].all() and not roll[4, 60 - 21]
    assert roll[2, 64 - 21] and not roll[3, 64 - 21]  # a zero-length note lasts one step
    assert roll.sum() == 5                            # pitch 200 is off the keyboard
    assert len(data.windows_of(roll, steps=32, hop=8)) == 1  # the window at step 8 is silent: dropped
    rolls = {f"p{i}": np.ones((40, 88), np.float32) for i in range(10)}
    splits = data.split_by_piece(rolls, seed=0)
    pieces = [set(splits[s].pieces) for s in data.SPLITS]
    assert sum(map(len, pieces)) == 10 and not (pieces[0] & pieces[1] or pieces[0] & pieces[2] or pieces[1] & pieces[2])
    assert [len(p) for p in pieces] == [8, 1, 1]


def test_a_folder_of_your_own_midi(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    for i in range(32):  # a C major triad every half note for 16 seconds (32 quarters)
        for pitch in (60, 64, 67):
            piano.notes.append(pretty_midi.Note(80, pitch, i * 0.5, i * 0.5 + 0.45))
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(80, 36, 0, 0.1))
    pm.instruments += [piano, drums]
    pm.write(str(tmp_path / "triads.mid"))
    (tmp_path / "broken.mid").write_bytes(b"not midi")
    rolls, skipped = data.midi_folder_rolls(tmp_path)
    assert list(rolls) == ["triads.mid"] and list(skipped) == [str(tmp_path / "broken.mid")]
    roll = rolls["triads.mid"]
    assert roll.shape[1] == 88 and set(np.flatnonzero(roll.any(0)) + 21) == {60, 64, 67}
    assert roll.sum(1).max() == 3  # drums ignored


def test_scores_known_answers():
    x = np.zeros((1, 4, 3), bool)
    x[0, 0, 0] = x[0, 1, 0] = x[0, 2, 1] = True
    p = np.zeros((1, 4, 3))
    p[0, 0, 0], p[0, 2, 2] = 0.9, 0.8
    assert scores.l2(p, x) == pytest.approx(((0.9 - 1) ** 2 + 1 + 1 + 0.8 ** 2) / 12)
    r = scores.prf(p > 0.5, x)
    assert (r["precision"], r["recall"], r["f1"]) == pytest.approx((0.5, 1 / 3, 0.4))
    assert scores.onsets(x)[0, :, 0].tolist() == [True, False, False, False]
    assert scores.density(x) == 0.25 and scores.notes_per_sounding_step(x) == 1.0
    threshold, f1 = scores.choose_threshold(np.where(x, 0.02, 0.0), x)
    assert f1 == 1.0 and threshold < 0.02           # a tiny but right output is found by a low threshold
    assert scores.prf(np.zeros_like(x), x)["f1"] == 0.0


def test_the_command_refuses_an_unknown_row(capsys):
    assert bgmaker(["experiments", "--only", "99"]) == 2
    assert "bgmaker experiments: error: unknown row(s) 99" in capsys.readouterr().err


def test_training_leaves_op_determinism_as_it_found_it():
    """Op determinism is process-wide; MusicVAE's generation graphs in the same process need it off."""
    from tensorflow.python.framework import config as tf_config
    rolls = synthetic_rolls(16, 16, 88, 0)
    train(EXPERIMENTS["02"], rolls, rolls, epochs=1, epoch_windows=8, batch_size=8, log=lambda m: None)
    assert not tf_config.is_op_determinism_enabled()


def test_the_rows_are_named_once_without_tensorflow():
    from bgmaker.experiments.command import ROWS
    from bgmaker.experiments.networks import EXPERIMENTS
    assert tuple(EXPERIMENTS) == ROWS


def test_the_command_end_to_end_on_your_midi(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for f in range(4):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        inst = pretty_midi.Instrument(0)
        for i in range(48):
            for pitch in rng.choice(np.arange(48, 72), 3, replace=False):
                inst.notes.append(pretty_midi.Note(80, int(pitch), i * 0.5, i * 0.5 + 0.5))
        pm.instruments.append(inst)
        pm.write(str(folder / f"piece{f}.mid"))
    out = tmp_path / "out"
    assert bgmaker(["experiments", "--quick", "--only", "02", "--data", str(folder), "--output-dir", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    row = results["datasets"]["midi"]["rows"]["02"]
    assert row["epochs_run"] == 1 and 0 <= row["test"]["f1"] <= 1
    assert "| 02 | 100 -> 1 (1) |" in (out / "README.md").read_text()
    assert (out / "loss_curves.png").stat().st_size < 300_000


def test_musicvae_rows_come_from_the_committed_reports(tmp_path):
    """The MusicVAE rows are rewritten from today's reports without training: the flat baseline's test row."""
    import shutil

    from bgmaker.experiments.table import REPO as ROOT, refresh_musicvae_rows
    for name in ("results.json", "timing.json"):
        shutil.copy(ROOT / "experiments" / name, tmp_path / name)
    refresh_musicvae_rows(tmp_path)
    rows = {r["id"]: r for r in json.loads((tmp_path / "results.json").read_text())["datasets"]["drums"]["musicvae"]}
    flat = next(r for name, r in rows.items() if name.startswith("MusicVAE cat-drums_4bar"))
    report = ROOT / "reports/models/flat-windows-b64/evaluation.json"
    if report.exists():
        assert flat["split"] == "test" and flat["steps"] == json.loads(report.read_text())["model"]["step"]
        assert "| MusicVAE cat-drums_4bar, recipe windows-b64" in (tmp_path / "README.md").read_text()
    else:
        assert flat["status"].startswith("not trained yet")
    # and the committed page is what today's reports give: a re-shipped model refreshes it (it once went stale:
    # the shipped row's free-running F1 and the train-vs-test ceiling were an older report's)
    for name in ("results.json", "README.md"):
        assert (tmp_path / name).read_text() == (ROOT / "experiments" / name).read_text(), name
