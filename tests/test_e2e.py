"""The user's Magenta commands end to end, with BGMaker's configs registered.

convert_dir_to_note_sequences -> music_vae_train (tiny_model fixture) ->
music_vae_generate in sample and interpolate mode, as typed in the README.
"""
import note_seq
import pytest

from bgmaker import compat
from bgmaker.data.windows import PITCH_TO_CLASS, to_grid

compat.apply()  # Magenta cannot be imported on TF 2.21 without the shims (this file alone was not collectable)
from magenta.models.music_vae.data import REDUCED_DRUM_PITCH_CLASSES  # noqa: E402

import drum_midi
from conftest import run_cli

OUTPUT_PITCHES = {pitches[0] for pitches in REDUCED_DRUM_PITCH_CLASSES}


def assert_drum_4bar_midi(path):
    ns = note_seq.midi_file_to_note_sequence(str(path))
    assert ns.notes, f"{path.name} has no notes"
    assert all(n.is_drum for n in ns.notes)
    assert {n.pitch for n in ns.notes} <= OUTPUT_PITCHES
    assert all(n.pitch in PITCH_TO_CLASS for n in ns.notes)
    q = note_seq.quantize_note_sequence(ns, 4)
    assert max(n.quantized_start_step for n in q.notes) < 64  # within 4 bars of 16ths
    assert ns.total_time <= 4 * 2.0 + 1e-6  # 4 bars at Magenta's 120 qpm
    return ns


def test_training_wrote_checkpoint(tiny_model):
    assert tiny_model["checkpoint"].parent.joinpath(tiny_model["checkpoint"].name + ".index").exists()
    assert (tiny_model["run_dir"] / "hparams.txt").read_text().strip() == tiny_model["hparams"]


def test_music_vae_generate_sample(tiny_model, tmp_path):
    out = tmp_path / "sample"
    run_cli("music_vae_generate", "--config=hierdec-drum_4bar", f"--checkpoint_file={tiny_model['checkpoint']}",
            "--mode=sample", "--num_outputs=3", f"--output_dir={out}")
    files = sorted(out.glob("hierdec-drum_4bar_sample_*.mid"))
    assert len(files) == 3
    for f in files:
        assert_drum_4bar_midi(f)


def test_music_vae_generate_interpolate(tiny_model, tmp_path):
    a = drum_midi.write_midi(drum_midi.rock_beat(bars=4, variant=0), tmp_path / "A.mid")
    b = drum_midi.write_midi(drum_midi.rock_beat(bars=4, variant=3), tmp_path / "B.mid")
    out = tmp_path / "interp"
    run_cli("music_vae_generate", "--config=hierdec-drum_4bar", f"--run_dir={tiny_model['run_dir']}",
            "--mode=interpolate", f"--input_midi_1={a}", f"--input_midi_2={b}", "--num_outputs=8",
            f"--output_dir={out}")
    files = sorted(out.glob("hierdec-drum_4bar_interpolate_*.mid"))
    assert len(files) == 8
    grids = [to_grid(assert_drum_4bar_midi(f)) for f in files]
    assert all(g.shape == (64, 9) for g in grids)


def test_magenta_flags_intact_and_unknown_config_is_reported(tiny_model, tmp_path):
    helpfull = run_cli("music_vae_generate", "--helpfull", check=False)  # absl exits 1 after help
    for flag in ("--checkpoint_file", "--temperature", "--max_batch_size", "--input_midi_1", "--hparams"):
        assert flag in helpfull.stdout
    bad = run_cli("music_vae_generate", "--config=no-such-config", f"--run_dir={tiny_model['run_dir']}",
                  "--mode=sample", f"--output_dir={tmp_path}", check=False)
    assert bad.returncode != 0 and "Invalid config name: no-such-config" in bad.stderr
