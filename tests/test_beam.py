"""The Apache Beam conversion (`bgmaker convert --beam`) against the local converter: the same windows per split.

Beam lives in its own environment (scripts/install.sh --beam, .venv-beam;
requirements-beam.txt says why); `bgmaker convert --beam` started from the
main venv runs itself there, as a user's command does. These tests skip when
that environment is missing, except under CI=true, where they fail.
"""
import json
import os

import pytest

from bgmaker_configs import TINY_HPARAMS

from conftest import REPO, run_cli
from test_convert import mini_gmd

CONVERT_SH = str(REPO / "scripts" / "convert_gmd.sh")


@pytest.fixture(scope="module", autouse=True)
def beam_environment():
    from bgmaker.data import beam
    if not (beam.beam_venv() / "bin" / "python").is_file():
        message = f"the Beam environment is not made ({beam.beam_venv()}): scripts/install.sh --beam"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def windows_by_split(folder):
    """{split: set of serialized windows} of a converted folder: its single files or its shards."""
    import tensorflow as tf
    out = {}
    for path in sorted(folder.glob("*.tfrecord*")):
        split = path.name.split(".tfrecord")[0]
        out.setdefault(split, []).extend(r.numpy() for r in tf.data.TFRecordDataset(str(path)))
    return {split: sorted(records) for split, records in out.items()}


def with_bad_files(gmd):
    """Add a corrupt and an empty MIDI file to a mini GMD's train split (rock beats, so every run selects them)."""
    rows = []
    for i, content in [(7, b"MThd\x00\x00\x00\x06garbage"), (8, b"")]:
        rel = f"drummer1/session1/{i}_rock_120_beat_4-4.mid"
        (gmd / rel).write_bytes(content)
        rows.append(f"drummer1,drummer1/session1,drummer1/session1/{i},rock,120,beat,4-4,{rel},,16.0,train")
    with open(gmd / "info.csv", "a") as f:
        f.write("\n".join(rows) + "\n")
    return gmd


def convert_both(tmp_path, env, *flags):
    local, beam = tmp_path / "local", tmp_path / "beam"
    run_cli("bgmaker", "convert", *flags, "--output-dir", local, env=env)
    out = run_cli("bgmaker", "convert", *flags, "--output-dir", beam, "--beam", "--shards", "3", env=env)
    assert "Beam (DirectRunner)" in out.stdout
    return [(json.loads((d / "report.json").read_text()), d) for d in (local, beam)]


def test_beam_gives_the_local_converters_windows_and_reports_a_bad_file(tmp_path):
    gmd = with_bad_files(mini_gmd(tmp_path / "groove"))
    env = {"BGMAKER_GMD_DIR": str(gmd)}
    (local, local_dir), (beam, beam_dir) = convert_both(tmp_path, env, "--style", "rock", "--style", "jazz")
    assert windows_by_split(local_dir) == windows_by_split(beam_dir)
    assert set(windows_by_split(beam_dir)) == {"train", "validation", "test"}
    for split, s in local["splits"].items():
        b = beam["splits"][split]
        assert (b["files"], b["examples"], b["skipped"], b["stock_examples"], b["minutes"]) == \
               (s["files"], s["examples"], s["skipped"], s["stock_examples"], s["minutes"]), split
        assert len(b["shards"]) == 3 and all((beam_dir / name).is_file() for name in b["shards"])
    skipped = lambda report: sorted((s["file"], s["reason"]) for s in report["skipped"])  # noqa: E731
    assert skipped(beam) == skipped(local) and len(skipped(beam)) == 2
    assert any("empty file" in reason for _, reason in skipped(beam))
    assert any("unreadable MIDI" in reason for _, reason in skipped(beam))
    assert beam["converter"] == "beam" and beam["shuffle_seed"] == local["shuffle_seed"]
    assert "Skipped" in (beam_dir / "report.md").read_text()
    assert not list(beam_dir.glob(".*tmp")) and not (beam_dir / "files.jsonl").exists()

    # the same command again gives the same shards, byte for byte (a seeded order, not the runner's)
    first = {p.name: p.read_bytes() for p in beam_dir.glob("*.tfrecord-*")}
    run_cli("bgmaker", "convert", "--style", "rock", "--style", "jazz", "--output-dir", beam_dir, "--beam",
            "--shards", "3", env=env)
    assert {p.name: p.read_bytes() for p in beam_dir.glob("*.tfrecord-*")} == first


def test_beam_on_your_own_midi_folder_and_training_reads_its_shards(tmp_path, synthetic_midi_dir):
    import shutil
    mine = tmp_path / "grooves"
    shutil.copytree(synthetic_midi_dir, mine)
    (mine / "broken.mid").write_bytes(b"not a midi file")
    (local, local_dir), (beam, beam_dir) = convert_both(tmp_path, {}, "--input", mine)
    assert windows_by_split(local_dir) == windows_by_split(beam_dir) and beam["splits"]["train"]["files"] == 6
    assert [s["file"] for s in beam["skipped"]] == ["broken.mid"]

    # a run converted with --beam trains from its shards (Magenta globs them)
    gmd = mini_gmd(tmp_path / "groove")
    env = {"BGMAKER_GMD_DIR": str(gmd), "BGMAKER_DATA_DIR": str(tmp_path / "data"),
           "BGMAKER_RUNS_DIR": str(tmp_path / "runs")}
    run_cli(CONVERT_SH, "--run", "v2_rock_beat", "--beam", env=env)
    data = tmp_path / "data" / "v2_rock_beat"
    assert not (data / "train.tfrecord").exists() and len(list(data.glob("train.tfrecord-*-of-00004"))) == 4
    run_cli(str(REPO / "scripts" / "train.sh"), "--run", "v2_rock_beat", f"--hparams={TINY_HPARAMS}",
            "--num_steps=2", env=env)
    run_dir = tmp_path / "runs" / "v2_rock_beat"
    assert (run_dir / "train" / "model.ckpt-2.index").is_file()
    record = json.loads((run_dir / "bgmaker_run.json").read_text())
    assert any(a.endswith("train.tfrecord-*-of-*") for a in record["command"] if a.startswith("--examples_path"))
    assert len(record["data_sha256"]["train"]) == 64


def test_each_converter_replaces_the_others_data(tmp_path, synthetic_midi_dir):
    """Local after Beam and Beam after local, into one folder: a split is read from what was written last."""
    from bgmaker.data.convert import examples_pattern
    out = tmp_path / "out"
    run_cli("bgmaker", "convert", "--input", synthetic_midi_dir, "--output-dir", out)
    assert examples_pattern(out / "train.tfrecord") == str(out / "train.tfrecord")
    run_cli("bgmaker", "convert", "--input", synthetic_midi_dir, "--output-dir", out, "--beam", "--shards", "2")
    assert not (out / "train.tfrecord").exists() and len(list(out.glob("train.tfrecord-*-of-00002"))) == 2
    assert examples_pattern(out / "train.tfrecord") == str(out / "train.tfrecord") + "-*-of-*"
    assert not list(out.glob(".beam-staging-*"))
    run_cli("bgmaker", "convert", "--input", synthetic_midi_dir, "--output-dir", out)
    assert (out / "train.tfrecord").is_file() and not list(out.glob("train.tfrecord-*"))


def test_beam_flags_say_what_is_wrong(tmp_path):
    from bgmaker.cli import own_flags
    assert own_flags("convert", ["-v", "convert", "--beam", "--run", "x"]) == ["--beam", "--run", "x", "--verbose"]
    remote = run_cli("bgmaker", "convert", "--run", "v2_rock_beat", "--beam", "--output-dir", "gs://bucket/x",
                     check=False)
    assert remote.returncode == 2 and "remote storage such as gs:// is not supported yet" in remote.stderr
    bad = run_cli("bgmaker", "convert", "--run", "v2_rock_beat", "--runner=DirectRunner", check=False)
    assert bad.returncode == 2 and "pipeline options go with --beam" in bad.stderr
    bad = run_cli("bgmaker", "convert", "--run", "v2_rock_beat", "--shards", "2", check=False)
    assert bad.returncode == 2 and "--shards N goes with --beam" in bad.stderr
    missing = run_cli("bgmaker", "convert", "--run", "v2_rock_beat", "--beam", check=False,
                      env={"BGMAKER_BEAM_VENV": str(tmp_path / "nowhere")})
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        "bgmaker convert: error: Apache Beam is not installed: run scripts/install.sh --beam (it makes its own "
        "environment, .venv-beam, because Beam 2.77 cannot share the main one's protobuf 7; see requirements-beam.txt)")


def test_beam_gives_the_local_converters_windows_on_a_gmd_subset(tmp_path, gmd_dir):
    """drummer9's 4/4 performances: 30 files in all three splits, 5 of them too short (reported by both)."""
    (local, local_dir), (beam, beam_dir) = convert_both(
        tmp_path, {"BGMAKER_GMD_DIR": str(gmd_dir)}, "--drummer", "drummer9", "--time-signature", "4-4")
    windows = windows_by_split(beam_dir)
    assert windows == windows_by_split(local_dir) and set(windows) == {"train", "validation", "test"}
    assert {s: v["examples"] for s, v in beam["splits"].items()} == {s: v["examples"] for s, v in local["splits"].items()}
    assert sorted(s["file"] for s in beam["skipped"]) == sorted(s["file"] for s in local["skipped"])
