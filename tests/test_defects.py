"""Issue #13's defects, one test each: bad input gets one line naming the thing, batches go on, nothing half-written."""
import re
import shutil

import note_seq
import numpy as np
import pytest

import drum_midi
from conftest import run_cli

T = 0.5


def midi_bytes(ns, path):
    from bgmaker.render.midi import write_midi
    return open(write_midi(ns, path), "rb").read()


def test_models_folder_names_its_figures_in_one_place():
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from bgmaker_configs import architectures
    # the TF-free lists match the registry
    assert tuple(architectures.MODELS) == bgmaker_configs.MODEL_NAMES + bgmaker_configs.HUMANIZE_MODEL_NAMES
    assert tuple(architectures.MODELS) == tuple(bgmaker_configs.MODEL_WINDOWS)


# 1. batches go on past a bad file, name it, and exit 1 at the end
@pytest.mark.parametrize("mode", ["reconstruct", "variations", "render"])
def test_batch_processes_every_good_file_and_names_every_bad_one(mode, tiny_model, tmp_path):
    good = sorted(tiny_model["midi_dir"].glob("*.mid"))[:2]
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    argv = ["generate", mode, good[0], empty, tmp_path, good[1], "-o", out, "--no-audio", "--no-png"]
    if mode != "render":
        argv += ["--checkpoint", tiny_model["checkpoint"], "--seed", 1, "--num", 2] if mode == "variations" else \
                ["--checkpoint", tiny_model["checkpoint"], "--seed", 1]
    proc = run_cli("bgmaker", *argv, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"failed {empty}: empty (0 bytes)" in proc.stderr
    assert f"failed {tmp_path}: a directory, not a MIDI file" in proc.stderr
    assert "2 of 4 input(s) failed" in proc.stderr and "Traceback" not in proc.stderr
    written = sorted(p.name for p in out.glob("*.mid"))
    for stem in (g.stem for g in good):
        assert any(stem in name for name in written), (stem, written)


# 3. a checkpoint that does not fit the config: one line naming the difference; --config lists drum configs
def test_mismatched_config_or_hparams_is_one_line(tiny_model):
    for argv, message in [
        (["--config", "cat-drums_4bar"], "decoder hierarchical in the checkpoint, flat in the config"),
        (["--hparams", "z_size=16"], "z_size 8 in the checkpoint, 16 in the config"),
        (["--hparams", "no_such_hparam=3"], "do not apply"),
        (["--config", "cat-drums_2bar_small"], "invalid choice"),
    ]:
        proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", tiny_model["checkpoint"], *argv,
                       "--num", 1, "--no-audio", "--no-png", check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr, proc.stderr
        if "invalid choice" not in message:  # argparse prints its usage first
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# 5. same seed, any batch size: the same beats; interpolation ends are the reconstructions
def test_file_started_beats_do_not_depend_on_the_batch_size(tiny_model, tmp_path):
    from bgmaker.generation.generator import BeatGenerator
    files = sorted(tiny_model["midi_dir"].glob("*.mid"))[:3]
    one, many = (BeatGenerator("hierdec-drum_4bar", tiny_model["checkpoint"], batch_size=b) for b in (1, 3))
    try:
        for method, args in [("reconstruct_many", (files,)), ("variations", (files[0], 3, 0.5)),
                             ("interpolate", (files[0], files[1], 4))]:
            a = getattr(one, method)(*args, temperature=T, seed=9)
            b = getattr(many, method)(*args, temperature=T, seed=9)
            assert [midi_bytes(x, tmp_path / "a.mid") for x in a] == [midi_bytes(x, tmp_path / "b.mid") for x in b], method
        path = many.interpolate(files[0], files[1], 4, T, seed=9)
        assert midi_bytes(path[-1], tmp_path / "e.mid") == midi_bytes(one.reconstruct(files[1], T, seed=9),
                                                                       tmp_path / "r.mid")
    finally:
        one.close()
        many.close()


# 6. unreadable MIDI: plain reasons
def test_unreadable_midi_gets_a_plain_reason(tmp_path):
    from bgmaker.data.midi import find_window, read_midi
    from bgmaker.errors import UnusableMidiError
    beat = drum_midi.write_midi(drum_midi.rock_beat(bars=4), tmp_path / "beat.mid")
    whole = beat.read_bytes()
    cases = {"empty.mid": (b"", "empty (0 bytes)"),
             "truncated.mid": (whole[:len(whole) // 2], "truncated"),
             "text.mid": (b"hello, I am a text file\n", "not a MIDI file"),
             "garbage.mid": (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\xdc" + bytes(range(200, 230)),
                             "corrupt MIDI file")}
    for name, (data, why) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnusableMidiError, match=re.escape(f"{name}: {why}")):
            read_midi(tmp_path / name)
    with pytest.raises(UnusableMidiError, match="a directory, not a MIDI file"):
        read_midi(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such MIDI file"):
        read_midi(tmp_path / "nowhere.mid")
    not_drums = drum_midi.rock_beat(bars=4)
    for n in not_drums.notes:
        n.is_drum, n.instrument = False, 0
    with pytest.raises(UnusableMidiError, match="none on the drum channel \\(MIDI channel 10\\)"):
        find_window(drum_midi.write_midi(not_drums, tmp_path / "channel1.mid"))


# 7. render draws the file's own meter, and every panel its own bar numbers
def test_render_uses_the_files_meter_and_numbers_bars_per_panel(tmp_path):
    from bgmaker.generation import jobs
    from bgmaker.render.midi import bars
    waltz = drum_midi.rock_beat(bars=8)
    waltz.time_signatures[0].numerator = 3  # 3/4: 12 sixteenths a bar; 8 bars of 4/4 = 32 quarters = 10.67 bars
    path = drum_midi.write_midi(waltz, tmp_path / "waltz.mid")
    job = jobs.render_files([path])
    beat = job.beats[0]
    bar = 3 * 60.0 / 120  # seconds per 3/4 bar at 120 bpm
    assert all(abs(p.total_time - 4 * bar) < 1e-6 for p in beat.panels)
    assert beat.first_bars == [1, 5, 9] and beat.panel_titles[1].endswith("bars 5-8")
    assert bars(beat.sequence) == 12  # padded to whole 4-bar panels of 3/4, not to 16 beats
    outputs = jobs.write(job, tmp_path / "out", audio=False)
    assert (tmp_path / "out" / "waltz.png").is_file() and outputs[0].first_bars == [1, 5, 9]


# 8. a failed command leaves nothing behind
def test_failed_commands_leave_no_folder_or_half_written_file(tiny_model, tmp_path, monkeypatch):
    from bgmaker.generation import jobs
    from bgmaker.render import audio
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"nope")
    out = tmp_path / "new" / "deeper"
    proc = run_cli("bgmaker", "generate", "reconstruct", bad, "--checkpoint", tiny_model["checkpoint"], "-o", out,
                   check=False)
    assert proc.returncode == 2 and not (tmp_path / "new").exists()

    def broken_wav(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr("bgmaker.render.render_wav", broken_wav)
    job = jobs.render_files(sorted(tiny_model["midi_dir"].glob("*.mid"))[:2])
    with pytest.raises(OSError, match="disk full"):
        jobs.write(job, out, renderer="builtin")
    assert not (tmp_path / "new").exists(), list((tmp_path / "new").rglob("*"))
    keep = tmp_path / "kept"
    keep.mkdir()
    (keep / "mine.txt").write_text("an earlier file")
    with pytest.raises(OSError):
        jobs.write(job, keep, renderer="builtin")
    assert sorted(p.name for p in keep.iterdir()) == ["mine.txt"]
    assert audio  # the real renderer module is untouched


# 9. Magenta's music_vae_generate as wrapped: one-line errors instead of tracebacks or silent exit 0
def test_music_vae_generate_refuses_unusable_inputs_in_one_line(tiny_model, tmp_path):
    beat = drum_midi.write_midi(drum_midi.rock_beat(bars=4), tmp_path / "four_bars.mid")  # one example each
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    common = ["--config=hierdec-drum_4bar", f"--checkpoint_file={tiny_model['checkpoint']}", "--mode=interpolate",
              f"--output_dir={tmp_path / 'out'}", "--num_outputs=3"]
    piano = drum_midi.rock_beat(bars=4)
    for n in piano.notes:
        n.is_drum = False
    piano_path = drum_midi.write_midi(piano, tmp_path / "piano.mid")
    for inputs, message in [((empty, beat), "empty.mid: empty (0 bytes)"),
                            ((beat, tmp_path), "a directory, not a MIDI file"),
                            ((beat, piano_path), "--input_midi_2"),
                            ((beat, beat), "are the same beat")]:
        proc = run_cli("music_vae_generate", *common, f"--input_midi_1={inputs[0]}", f"--input_midi_2={inputs[1]}",
                       check=False)
        assert proc.returncode == 2, (inputs, proc.returncode, proc.stderr[-1500:])
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-1500:]
        assert proc.stderr.strip().splitlines()[-1].startswith("music_vae_generate: error: ")
    wrong = run_cli("music_vae_generate", "--config=cat-drums_4bar", f"--checkpoint_file={tiny_model['checkpoint']}",
                    "--mode=sample", f"--output_dir={tmp_path / 'out'}", "--num_outputs=1", check=False)
    assert wrong.returncode == 2 and "does not fit config 'cat-drums_4bar'" in wrong.stderr, wrong.stderr[-1500:]


# 12. a successful command keeps stderr for the user
def test_successful_generation_prints_nothing_on_stderr(tiny_model, tmp_path):
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", tiny_model["checkpoint"], "--num", 2,
                   "--seed", 3, "-o", tmp_path / "out", "--no-audio", env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert proc.stderr.strip() == "", proc.stderr
    verbose = run_cli("bgmaker", "generate", "sample", "--verbose", "--checkpoint", tiny_model["checkpoint"],
                      "--num", 1, "--seed", 3, "-o", tmp_path / "out2", "--no-audio", "--no-png")
    assert verbose.returncode == 0


# 13. a partial run never silently replaces the shipped model
def test_run_uses_its_shipped_model_and_says_which_and_why(tiny_model, tmp_path, monkeypatch):
    from bgmaker import models
    from bgmaker.models.export import export
    monkeypatch.setenv("BGMAKER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "runs").mkdir()
    shutil.copytree(tiny_model["run_dir"], tmp_path / "runs" / "v2_rock_beat")
    choice = models.locate("v2_rock_beat")  # no shipped model: the training checkpoint, and it says so
    assert choice.checkpoint.endswith("model.ckpt-2") and "no shipped model" in choice.why
    export("hierdec-drum_4bar", tiny_model["checkpoint"], tmp_path / "models" / "v2_rock_beat")
    choice = models.locate("v2_rock_beat")
    assert str(tmp_path / "models" / "v2_rock_beat") in choice.checkpoint
    assert "shipped model" in choice.why and "--checkpoint" in choice.why  # how to use the training one
    assert "runs/v2_rock_beat" in models.locate("v2_rock_beat", tmp_path / "runs" / "v2_rock_beat").checkpoint
    proc = run_cli("bgmaker", "generate", "sample", "--run", "v2_rock_beat", "--num", 1, "--seed", 1,
                   "-o", tmp_path / "out", "--no-audio", "--no-png",
                   env={"BGMAKER_RUNS_DIR": str(tmp_path / "runs"), "BGMAKER_MODELS_DIR": str(tmp_path / "models")})
    assert "model: the shipped model of run v2_rock_beat" in proc.stdout, proc.stdout
    assert np.all(np.isfinite([n.start_time for n in note_seq.midi_file_to_note_sequence(
        str(tmp_path / "out" / "sample_01.mid")).notes]))


def test_a_bug_keeps_its_traceback_while_a_user_error_is_one_line(monkeypatch, capsys):
    """Unknown names are UnknownNameError; a bare KeyError is a bug, not a message to the user."""
    from bgmaker import cli
    from bgmaker.cli import convert as convert_cli
    from bgmaker.errors import UnknownNameError

    def unknown(args):
        raise UnknownNameError("unknown run 'v9'; known runs: v1_all, v2_rock_beat")

    monkeypatch.setattr(convert_cli, "main", unknown)
    assert cli.main(["convert", "--run", "v9"]) == 2
    assert capsys.readouterr().err == "bgmaker convert: error: unknown run 'v9'; known runs: v1_all, v2_rock_beat\n"

    def bug(args):
        return {}["hparams"]

    monkeypatch.setattr(convert_cli, "main", bug)
    with pytest.raises(KeyError, match="hparams"):
        cli.main(["convert", "--run", "v9"])


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path):
    """paths.replaced_atomically, which every record, report, template and dataset writer goes through."""
    import os
    from bgmaker import paths
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with paths.replaced_atomically(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["record.json"]
    paths.write_text_atomically(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["record.json"]
