"""Generation on a real (tiny) checkpoint: reproducibility, latent-space identities, windows, errors, CLI.

The tiny model is trained once per session by conftest's `tiny_model`
(2 steps through music_vae_train); its samples are noise, which is all these
properties need. Temperature 1.0 makes the decoder's sampling noise matter.
"""
import struct

import mido
import note_seq
import numpy as np
import pytest

import drum_midi
from conftest import run_cli

T = 1.0


@pytest.fixture(scope="module")
def generator(tiny_model):
    from bgmaker.generation.generator import BeatGenerator
    g = BeatGenerator("hierdec-drum_4bar", tiny_model["run_dir"])  # hparams from the recorded hparams.txt
    yield g
    g.close()


def midi_bytes(ns, path):
    from bgmaker import render
    return open(render.write_midi(ns, path), "rb").read()


def notes(ns):
    return [(n.pitch, round(n.start_time, 4)) for n in ns.notes]


def test_same_seed_same_bytes_other_seed_other_beats(generator, tmp_path):
    a = generator.sample(4, temperature=T, seed=7)
    b = generator.sample(4, temperature=T, seed=7)
    c = generator.sample(4, temperature=T, seed=8)
    for i in range(4):
        assert midi_bytes(a[i], tmp_path / f"a{i}.mid") == midi_bytes(b[i], tmp_path / f"b{i}.mid")
        assert notes(a[i]) != notes(c[i])
    assert len({tuple(notes(x)) for x in a}) == 4, "the beats of one call differ"
    assert all(x.total_time == pytest.approx(8.0) for x in a), "4 bars at 120 qpm"


def test_a_beat_depends_on_its_z_not_on_its_batch_position(generator):
    """Batches of 8: row 9 of a 12-beat call is decoded alone, reversed and in a second batch alike."""
    z = generator.sample_z(12, seed=3)
    together = generator.decode(z, T, seed=1)
    assert notes(generator.decode(z[9:10], T, seed=1)[0]) == notes(together[9])
    assert [notes(x) for x in generator.decode(z[::-1], T, seed=1)[::-1]] == [notes(x) for x in together]
    first3 = generator.sample(3, T, seed=3)
    assert [notes(x) for x in first3] == [notes(x) for x in generator.sample(12, T, seed=3)[:3]]


def test_interpolation_endpoints_are_the_reconstructions(generator, tiny_model, tmp_path):
    a, b = tiny_model["midi_dir"] / "beat_0.mid", tiny_model["midi_dir"] / "beat_5.mid"
    path = generator.interpolate(a, b, steps=8, temperature=T, seed=5)
    assert len(path) == 8
    z, keys = generator.encode_with_keys([a, b])  # an input's sampling key comes from its window, not its z
    ra, rb = generator.reconstruct(a, T, seed=5), generator.reconstruct(b, T, seed=5)
    assert midi_bytes(path[0], tmp_path / "p0.mid") == midi_bytes(ra, tmp_path / "ra.mid")
    assert midi_bytes(path[-1], tmp_path / "p7.mid") == midi_bytes(rb, tmp_path / "rb.mid")
    assert notes(generator.decode(z[1:], T, seed=5, keys=keys[1:])[0]) == notes(path[-1])


def test_points_between_take_the_nearer_ends_sampling_key(generator):
    """Only the path moves the beats next to an interpolation's ends: from one code to itself, the first half of
    the points is the first end's beat and the rest the second's (with a key per point, or one key shared by the
    points between, they differed from the ends by their sampling draws)."""
    z = generator.sample_z(1, seed=3)
    path = generator.interpolate_z(z[0], z[0], steps=6, temperature=1.0, seed=8, keys=[101, 202])
    a, b = (notes(generator.decode(z, 1.0, seed=8, keys=[k])[0]) for k in (101, 202))
    assert a != b
    assert [notes(x) for x in path] == [a, a, a, b, b, b]


def test_variations(generator, tiny_model):
    beat = tiny_model["midi_dir"] / "beat_2.mid"
    same = generator.variations(beat, n=3, noise=0.0, temperature=T, seed=4)
    assert notes(same[0]) == notes(generator.reconstruct(beat, T, seed=4))  # noise 0, keyed like the input
    varied = generator.variations(beat, n=3, noise=1.0, temperature=T, seed=4)
    assert len({tuple(notes(x)) for x in varied}) == 3
    assert [notes(x) for x in varied] == [notes(x) for x in generator.variations(beat, 3, 1.0, T, seed=4)]


def test_long_input_is_windowed(generator, tmp_path):
    from bgmaker.generation.generator import find_window
    ns = drum_midi.rock_beat(bars=4, variant=0)
    tail = drum_midi.rock_beat(bars=4, variant=3)
    long = note_seq.sequences_lib.concatenate_sequences([ns, tail], [8.0, 8.0])
    path = drum_midi.write_midi(long, tmp_path / "eight_bars.mid")
    assert find_window(path).start_bar == 0
    w = find_window(path, start_bar=4)
    assert sorted(notes(w.sequence)) == sorted(notes(tail))
    assert np.array_equal(generator.encode([path], start_bar=4), generator.encode([tail]))
    from bgmaker.errors import UnusableMidiError
    with pytest.raises(UnusableMidiError, match=r"eight_bars\.mid.*bar 9 .*0, 1, 2, 3, 4"):
        find_window(path, start_bar=9)


def bad_inputs(tmp_path):
    piano = note_seq.NoteSequence(ticks_per_quarter=220)
    piano.tempos.add(qpm=120)
    for i in range(32):
        piano.notes.add(pitch=60 + i % 12, velocity=80, start_time=i * 0.5, end_time=i * 0.5 + 0.4, program=0)
    piano.total_time = 16
    empty = note_seq.NoteSequence(ticks_per_quarter=220)
    waltz = drum_midi.rock_beat(bars=8)
    waltz.time_signatures[0].numerator = 3
    (tmp_path / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage, not a MIDI file")
    return {
        "piano.mid": (drum_midi.write_midi(piano, tmp_path / "piano.mid"),
                      "32 notes but none on the drum channel (MIDI channel 10)"),
        "empty.mid": (drum_midi.write_midi(empty, tmp_path / "empty.mid"), "no notes"),
        "short.mid": (drum_midi.write_midi(drum_midi.rock_beat(bars=2), tmp_path / "short.mid"),
                      "shorter than 4 bars"),
        "waltz.mid": (drum_midi.write_midi(waltz, tmp_path / "waltz.mid"), "3/4"),
        "corrupt.mid": (tmp_path / "corrupt.mid", "corrupt MIDI file"),
    }


def test_unusable_inputs_give_errors_naming_the_file(generator, tmp_path):
    from bgmaker.errors import UnusableMidiError
    for name, (path, why) in bad_inputs(tmp_path).items():
        with pytest.raises(UnusableMidiError) as e:
            generator.reconstruct(path)
        assert name in str(e.value) and why in str(e.value), str(e.value)
    with pytest.raises(FileNotFoundError, match="nowhere.mid: no such MIDI file"):
        generator.encode([tmp_path / "nowhere.mid"])


def test_cli_interpolation_writes_every_file_and_matches_the_api(generator, tiny_model, tmp_path):
    from bgmaker.render import audio, grid
    a, b = tiny_model["midi_dir"] / "beat_1.mid", tiny_model["midi_dir"] / "beat_4.mid"
    out = tmp_path / "out"
    proc = run_cli("bgmaker", "generate", "interpolate", a, b, "--checkpoint", tiny_model["checkpoint"],
                   "--seed", 11, "--temperature", T, "--renderer", "builtin", "-o", out)
    assert "interpolate: 8 beat(s)" in proc.stdout and "seed 11" in proc.stdout
    for stem in [f"interpolate_{i:02d}" for i in range(1, 9)] + ["input_beat_1", "input_beat_4"]:
        assert {(out / f"{stem}{ext}").is_file() for ext in (".mid", ".wav", ".png")} == {True}, stem
    # the same seed in this process gives the CLI's bytes (another process, another batch size)
    api = generator.interpolate(a, b, 8, temperature=T, seed=11)
    assert midi_bytes(api[3], tmp_path / "api3.mid") == (out / "interpolate_04.mid").read_bytes()
    # the 32-bar file
    assert mido.MidiFile(out / "interpolation.mid").length == pytest.approx(64.0, abs=1e-3)
    whole = note_seq.midi_file_to_note_sequence(str(out / "interpolation.mid"))
    assert max(n.start_time for n in whole.notes) >= 56.0, "the last 4 bars are the last step"
    wav, rate = audio.read_wav(out / "interpolation.wav")
    assert len(wav) == 64 * rate and np.abs(wav).max() > 0.1
    with open(out / "interpolation.png", "rb") as f:
        assert struct.unpack(">II", f.read(24)[16:24]) == (grid.PANEL_SIZE[0], 8 * grid.PANEL_SIZE[1])


def test_checkpoint_paths(tiny_model, tmp_path):
    from bgmaker.models import resolve_checkpoint
    ckpt = str(tiny_model["checkpoint"])
    assert resolve_checkpoint(tiny_model["run_dir"]) == ckpt  # run dir -> train/ -> latest
    assert resolve_checkpoint(tiny_model["run_dir"] / "train") == ckpt
    assert resolve_checkpoint(ckpt) == ckpt
    with pytest.raises(FileNotFoundError, match="no checkpoint in this folder"):
        resolve_checkpoint(tmp_path)


def test_cli_errors_are_one_line(tiny_model, tmp_path):
    corrupt = bad_inputs(tmp_path)["corrupt.mid"][0]
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    proc = run_cli("bgmaker", "generate", "reconstruct", corrupt, "--checkpoint", tiny_model["checkpoint"],
                   check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("bgmaker generate: error: ")
    assert "corrupt.mid: corrupt MIDI file" in proc.stderr and "Traceback" not in proc.stderr
    for argv, message in [
        (["sample"], "run v2_rock_beat has no shipped model"),  # the default run, nothing trained or shipped here
        (["sample", "--checkpoint", tmp_path / "none"], "none: no such checkpoint"),
        (["interpolate", corrupt, tmp_path / "missing.mid", "--checkpoint", tiny_model["checkpoint"]],
         "missing.mid: no such MIDI file"),
        (["sample", "--checkpoint", "x", "--drum-map", "jazz"], "drum map 'jazz'"),
        (["sample", "--checkpoint", tiny_model["checkpoint"], "--temperature", "nan"],
         "--temperature must be a positive number, got nan"),
        (["sample", "--checkpoint", tiny_model["checkpoint"], "--temperature", "inf"],
         "--temperature must be a positive number, got inf"),
        (["sample", "--checkpoint", tiny_model["checkpoint"], "--output-dir", a_file],
         "is a file, not a folder"),
        (["sample", "--checkpoint", tiny_model["checkpoint"], "--output-dir", a_file / "beats"],
         "is a file, so no folder can be made under it"),
    ]:
        proc = run_cli("bgmaker", "generate", *argv, check=False, env={"BGMAKER_RUNS_DIR": str(tmp_path)})
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_seeded_sampler_draws_from_the_tempered_softmax():
    """The hash-keyed inverse-CDF draw: class frequencies over 4096 keys match softmax(logits / T)."""
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import lstm_models

    from bgmaker.generation import seeded_sampling
    rows, logits = 4096, np.log(np.array([0.1, 0.2, 0.3, 0.4], np.float32))
    hparams = lstm_models.get_default_hparams()
    hparams.batch_size = rows
    with tf.Graph().as_default():
        decoder = seeded_sampling.SeededCategoricalLstmDecoder()
        decoder.build(hparams, output_depth=4, is_training=False)
        x = tf.constant(np.tile(logits, (rows, 1)))
        temperature = tf.placeholder(tf.float32, [])
        first = decoder._sample(x, temperature)
        second = decoder._sample(x + 0.0 * first, temperature)  # the next step: runs after the first
        with tf.Session() as sess:
            set_keys = seeded_sampling.key_setter(sess)
            z = np.arange(rows, dtype=np.float32)[:, None]  # one distinct latent per row
            set_keys(seed=1, keys=seeded_sampling.row_keys(z))
            a, b = sess.run([first, second], {temperature: 1.0})
            set_keys(seed=1, keys=seeded_sampling.row_keys(z))
            a_again = sess.run(first, {temperature: 1.0})
            set_keys(seed=2, keys=seeded_sampling.row_keys(z))
            a_other = sess.run(first, {temperature: 1.0})
            set_keys(seed=1, keys=seeded_sampling.row_keys(z))
            hot = sess.run(first, {temperature: 0.5})
    assert np.abs(a.mean(0) - [0.1, 0.2, 0.3, 0.4]).max() < 0.03
    assert np.abs(b.mean(0) - [0.1, 0.2, 0.3, 0.4]).max() < 0.03
    p = np.array([0.1, 0.2, 0.3, 0.4]) ** 2
    assert np.abs(hot.mean(0) - p / p.sum()).max() < 0.03  # T = 0.5 squares the odds
    assert np.array_equal(a, a_again)
    assert (a.argmax(1) != b.argmax(1)).mean() > 0.5, "each step draws new noise"
    assert (a.argmax(1) != a_other.argmax(1)).mean() > 0.5, "each seed draws new noise"


def test_named_run_loads_its_latest_checkpoint_or_says_how_to_train(tiny_model, tmp_path, monkeypatch):
    from bgmaker.generation.generator import BeatGenerator
    monkeypatch.setenv("BGMAKER_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("BGMAKER_MODELS_DIR", str(tmp_path / "no_shipped_models"))
    with pytest.raises(FileNotFoundError, match="scripts/train.sh --run v2_rock_beat"):
        BeatGenerator.load(run="v2_rock_beat")
    (tmp_path / "v2_rock_beat").symlink_to(tiny_model["run_dir"])
    g = BeatGenerator.load(run="v2_rock_beat", batch_size=2)
    assert g.checkpoint.endswith("model.ckpt-2")
    assert len(g.sample(3, seed=1)) == 3
    g.close()


def test_sample_with_journey_runs_from_the_most_to_the_least_cymbal_heavy_sample(generator):
    from bgmaker.generation.generator import cymbal_extremes
    from bgmaker.metrics.structure import cymbal_density
    from bgmaker.data.windows import to_grid
    beats, journey, (most, least) = generator.sample_with_journey(6, steps=5, temperature=T, seed=11)
    assert [notes(b) for b in beats] == [notes(b) for b in generator.sample(6, T, seed=11)]
    density = [float(cymbal_density(to_grid(b))) for b in beats]
    assert most != least and density[most] == max(density) and density[least] == min(density)
    assert len(journey) == 5
    assert notes(journey[0]) == notes(beats[most]) and notes(journey[-1]) == notes(beats[least])
    assert cymbal_extremes(beats[:1] * 3) == (0, 1), "equal beats still give two different ends"
    single, none, _ = generator.sample_with_journey(1, seed=2)
    assert len(single) == 1 and none is None


def test_cli_sample_also_writes_the_32_bar_interpolation(tiny_model, tmp_path):
    out = tmp_path / "s"
    proc = run_cli("bgmaker", "generate", "sample", "--checkpoint", tiny_model["run_dir"], "--num", "3",
                   "--seed", "5", "--no-audio", "--output-dir", out)
    whole = note_seq.midi_file_to_note_sequence(str(out / "interpolation.mid"))
    assert (out / "interpolation.png").stat().st_size > 0
    assert abs(whole.total_time - 32 * 2.0) < 2.0  # 8 steps x 4 bars at 120 bpm, 2 s a bar
    assert "32-bar interpolation from sample_0" in proc.stdout and "interpolation.mid" in proc.stdout
    none = run_cli("bgmaker", "generate", "sample", "--checkpoint", tiny_model["run_dir"], "--num", "2",
                   "--seed", "5", "--no-audio", "--no-png", "--journey-steps", "0", "--output-dir", tmp_path / "n")
    assert not (tmp_path / "n" / "interpolation.mid").exists() and "interpolation" not in none.stdout
