"""Shared fixtures: synthetic drum MIDI, a tiny trained model, the real GMD.

The tiny model is trained once per test session through the user's own
commands (convert_dir_to_note_sequences, music_vae_train) with TINY_HPARAMS,
so every test that needs a checkpoint gets a real one in seconds.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
VENV_BIN = Path(sys.executable).parent

from bgmaker import paths  # noqa: E402

import drum_midi  # noqa: E402


def run_cli(*argv, check=True, timeout=600, env=None):
    """Run a console script of the venv; return the CompletedProcess (text)."""
    cmd = [str(VENV_BIN / argv[0]) if (VENV_BIN / argv[0]).exists() else argv[0], *map(str, argv[1:])]
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n--- stderr:\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session", autouse=True)
def no_shipped_models(tmp_path_factory):
    """Tests see no shipped model unless they ask for it (tests/test_shipped_model.py),
    so "no checkpoint yet" paths behave the same before and after a model ships."""
    previous = os.environ.get("BGMAKER_MODELS_DIR")
    os.environ["BGMAKER_MODELS_DIR"] = str(tmp_path_factory.mktemp("no_shipped_models"))
    yield
    if previous is None:
        os.environ.pop("BGMAKER_MODELS_DIR", None)
    else:
        os.environ["BGMAKER_MODELS_DIR"] = previous


@pytest.fixture(scope="session")
def gmd_dir():
    d = paths.gmd_dir()
    if not (d / "info.csv").is_file():
        message = f"Groove MIDI Dataset not found at {d} (set BGMAKER_GMD_DIR)"
        if os.environ.get("BGMAKER_REQUIRE_GMD") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return d


@pytest.fixture(scope="session")
def synthetic_midi_dir(tmp_path_factory):
    """Six 8-bar synthetic drum beats as MIDI files."""
    d = tmp_path_factory.mktemp("synthetic_midi")
    for i in range(6):
        drum_midi.write_midi(drum_midi.rock_beat(bars=8, variant=i), d / f"beat_{i}.mid")
    return d


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, synthetic_midi_dir):
    """A hierdec-drum_4bar checkpoint trained 2 steps on synthetic beats (TINY_HPARAMS)."""
    from bgmaker_configs import TINY_HPARAMS
    work = tmp_path_factory.mktemp("tiny_model")
    examples = work / "notesequences.tfrecord"
    run_cli("convert_dir_to_note_sequences", f"--input_dir={synthetic_midi_dir}",
            f"--output_file={examples}", "--recursive")
    run_dir = work / "run"
    run_cli("music_vae_train", "--config=hierdec-drum_4bar", f"--run_dir={run_dir}", "--mode=train",
            f"--examples_path={examples}", "--num_steps=2", f"--hparams={TINY_HPARAMS}")
    return dict(run_dir=run_dir, examples=examples, hparams=TINY_HPARAMS,
                checkpoint=run_dir / "train" / "model.ckpt-2", midi_dir=synthetic_midi_dir)


def gmd_like_windows(path, seed):
    """Windows of synthetic beats named as GMD names its files (styles funk/rock/jazz, beats and fills), in a
    TFRecord: what bgmaker.generation.priors fits on."""
    import tensorflow as tf

    from bgmaker.data import windows
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(12):
            ns = drum_midi.rock_beat(bars=5, variant=(i + seed) % 4)
            style, kind = ("funk", "rock", "jazz")[i % 3], "fill" if i % 4 == 3 else "beat"
            ns.filename = f"drummer1/session{seed}/{i + 1}_{style}-groove_100_{kind}_4-4.mid"
            for w in windows.extract_windows(ns):
                writer.write(w.sequence.SerializeToString())
    return path


@pytest.fixture(scope="session")
def tiny_priors_model(tiny_model, tmp_path_factory):
    """A copy of the tiny model's run with priors and attribute vectors fitted beside its weights, as
    `bgmaker priors` fits them (styles funk, rock, jazz; beats and fills; at least 4 windows each)."""
    import shutil

    from bgmaker.generation import priors
    from bgmaker.generation.generator import BeatGenerator
    work = tmp_path_factory.mktemp("priors")
    run_dir = work / "run"
    shutil.copytree(tiny_model["run_dir"], run_dir)
    train, validation = gmd_like_windows(work / "train.tfrecord", 0), gmd_like_windows(work / "val.tfrecord", 1)
    generator = BeatGenerator("hierdec-drum_4bar", run_dir)
    latent = priors.fit_model(generator, train, validation, min_windows=4, log=lambda m: None)
    generator.close()
    latent.save(Path(generator.checkpoint).parent)  # beside the weights, where the generator looks
    return dict(run_dir=run_dir, latent=latent, checkpoint=generator.checkpoint, train=train, validation=validation)
