"""GMD conversion: bad files skipped with reasons, splits, zip input, real GMD counts."""
import json
import shutil
import zipfile

import note_seq
import pytest
import tensorflow as tf

import bgmaker_configs

bgmaker_configs.register()  # compat shims + configs, before Magenta
from bgmaker import cli

import drum_midi
from conftest import REPO, run_cli


def count_records(path):
    return sum(1 for _ in tf.data.TFRecordDataset(str(path)))


def piano(bars=8):
    ns = drum_midi.rock_beat(bars=bars)
    for n in ns.notes:
        n.is_drum, n.instrument, n.program = False, 0, 0
        n.pitch = 60
    return ns


@pytest.fixture
def broken_folder(tmp_path):
    d = tmp_path / "midi"
    (d / "sub").mkdir(parents=True)
    drum_midi.write_midi(drum_midi.rock_beat(bars=8, variant=1), d / "good.mid")
    drum_midi.write_midi(drum_midi.rock_beat(bars=5, variant=2), d / "sub" / "good2.mid")
    (d / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage that is not a MIDI file")
    (d / "empty.mid").write_bytes(b"")
    drum_midi.write_midi(piano(), d / "piano.mid")
    waltz = drum_midi.rock_beat(bars=8)
    waltz.time_signatures[0].numerator = 3
    drum_midi.write_midi(waltz, d / "waltz.mid")
    drum_midi.write_midi(note_seq.NoteSequence(ticks_per_quarter=220), d / "zero_length.mid")
    drum_midi.write_midi(drum_midi.rock_beat(bars=2), d / "short.mid")
    (d / "notes.txt").write_text("not a MIDI file, ignored")
    return d


def test_folder_of_broken_midi(broken_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["convert", "--gmd", str(broken_folder), "--output-dir", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    reasons = {s["file"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"corrupt.mid", "empty.mid", "piano.mid", "waltz.mid", "zero_length.mid", "short.mid"}
    assert reasons["empty.mid"] == "empty file (0 bytes)"
    assert reasons["corrupt.mid"].startswith("unreadable MIDI")
    assert reasons["piano.mid"] == "no drum notes"
    assert reasons["zero_length.mid"] == "no drum notes"
    assert reasons["waltz.mid"] == "time signature 3/4, not 4/4"
    assert reasons["short.mid"] == "2 bar(s) long, shorter than 4 bars"
    split = report["splits"]["train"]  # your own MIDI: fewer than 10 files, so all of it is train
    assert split["files"] == 2 and split["skipped"] == 6
    # good.mid: 8 bars with a crash every 4 -> 4 distinct windows; good2.mid: 5 bars -> 2
    assert split["examples"] == 6 == count_records(out / "train.tfrecord")
    assert "Skipped" in (out / "report.md").read_text()
    assert not list(out.glob(".*tmp"))  # nothing half-written left behind


def test_missing_input_and_bad_selection_are_one_line_errors(tmp_path, capsys, gmd_dir):
    assert cli.main(["convert", "--gmd", str(tmp_path / "nope"), "--output-dir", str(tmp_path)]) == 2
    assert "input not found" in capsys.readouterr().err
    assert cli.main(["convert", "--style", "polka", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bgmaker convert: error: unknown style polka; valid:") and "\n" not in err
    assert cli.main(["convert", "--run", "v9"]) == 2
    assert "unknown run 'v9'" in capsys.readouterr().err


def mini_gmd(root):
    """A 4-performance GMD look-alike: info.csv + drummerN/sessionN MIDI."""
    rows = ["drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split"]
    for i, (style, beat_type, split) in enumerate([("rock", "beat", "train"), ("rock/halftime", "beat", "train"),
                                                    ("rock", "beat", "validation"), ("jazz", "beat", "test"),
                                                    ("rock", "fill", "test")]):
        rel = f"drummer1/session1/{i}_{style.replace('/', '-')}_120_{beat_type}_4-4.mid"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        drum_midi.write_midi(drum_midi.rock_beat(bars=8, variant=i), root / rel)
        rows.append(f"drummer1,drummer1/session1,drummer1/session1/{i},{style},120,{beat_type},4-4,{rel},,16.0,{split}")
    (root / "info.csv").write_text("\n".join(rows) + "\n")
    return root


def test_zip_with_run_selection_through_the_script(tmp_path):
    gmd = mini_gmd(tmp_path / "groove")
    archive = tmp_path / "groove-v1.0.0-midionly.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in gmd.rglob("*"):
            z.write(f, f.relative_to(tmp_path))
    shutil.rmtree(gmd)
    data = tmp_path / "data"
    run_cli(str(REPO / "scripts" / "convert_gmd.sh"), "--run", "v2_rock_beat", "--gmd", archive,
            env={"BGMAKER_DATA_DIR": str(data)})
    out = data / "v2_rock_beat"
    report = json.loads((out / "report.json").read_text())
    # rock beats only: 2 train (rock, rock/halftime), 1 validation; jazz and the fill are not selected
    assert {s: v["files"] for s, v in report["splits"].items()} == {"train": 2, "validation": 1}
    assert count_records(out / "train.tfrecord") == report["splits"]["train"]["examples"] > 2
    assert (out / "validation.tfrecord").is_file() and not (out / "test.tfrecord").exists()


def test_state_dir_data_is_converted_once_and_again_after_an_interrupted_conversion(tmp_path, monkeypatch):
    """bgmaker.data.convert.converted: what the campaign, the recipe runs and the models table read."""
    from bgmaker.data.convert import converted
    monkeypatch.setenv("BGMAKER_GMD_DIR", str(mini_gmd(tmp_path / "groove")))
    data = tmp_path / "state" / "data"
    folder = converted("v2_rock_beat", data)
    assert folder == data / "v2_rock_beat" and count_records(folder / "train.tfrecord") > 2
    made = (folder / "train.tfrecord").stat().st_mtime_ns
    assert converted("v2_rock_beat", data) == folder and (folder / "train.tfrecord").stat().st_mtime_ns == made
    whole = converted("v2_rock_beat", data, whole_files=True)
    assert whole == folder / "whole_files" and count_records(whole / "train.tfrecord") == 2  # one per file
    (folder / "report.json").unlink()  # the report is written last: without it the conversion was cut short
    converted("v2_rock_beat", data)
    assert (folder / "report.json").is_file() and (folder / "train.tfrecord").stat().st_mtime_ns != made


def test_real_gmd_handful(gmd_dir, tmp_path):
    """drummer1's eval session (10 test files): every window vs Magenta's stock converter."""
    out = tmp_path / "ev"
    assert cli.main(["convert", "--drummer", "drummer1", "--session", "drummer1/eval_session",
                     "--output-dir", str(out)]) == 0
    split = json.loads((out / "report.json").read_text())["splits"]["test"]
    assert split["files"] == 10 and split["skipped"] == 0
    assert split["stock_examples"] == 44  # at most 5 per file
    assert split["examples"] == 105 == count_records(out / "test.tfrecord")
    whole = tmp_path / "whole"
    cli.main(["convert", "--drummer", "drummer1", "--session", "drummer1/eval_session",
              "--output-dir", str(whole), "--whole-files"])
    assert count_records(whole / "test.tfrecord") == 10


def window_ids(path):
    return [note_seq.NoteSequence.FromString(r.numpy()).id for r in tf.data.TFRecordDataset(str(path))]


def test_windows_are_written_in_a_seeded_shuffled_order(tmp_path):
    """Magenta shuffles within a small buffer, so the file order must already mix performances."""
    gmd = mini_gmd(tmp_path / "groove")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert cli.main(["convert", "--gmd", str(gmd), "--style", "rock", "--style", "rock/halftime",
                         "--output-dir", str(out)]) == 0
    ids = window_ids(first / "train.tfrecord")
    assert ids == window_ids(second / "train.tfrecord"), "same seed, same order"
    performances = [i.split("#bar")[0] for i in ids]
    assert len(set(performances)) == 2
    assert performances != sorted(performances, key=performances.index), "not grouped by performance"
    report = json.loads((first / "report.json").read_text())
    assert report["shuffle_seed"] is not None and report["order"].startswith("shuffled")
    assert report["splits"]["train"]["sha256"] == json.loads(
        (second / "report.json").read_text())["splits"]["train"]["sha256"]
    assert "Order: shuffled" in (first / "report.md").read_text()
    mode = (first / "train.tfrecord").stat().st_mode & 0o777
    assert mode & 0o044 == 0o044 & ~_umask(), f"converted data should be readable like any file: {oct(mode)}"


def _umask():
    import os
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_own_midi_folder_is_split_by_file(tmp_path):
    from bgmaker.data.convert import own_midi_splits
    d = tmp_path / "mine"
    d.mkdir()
    for i in range(12):
        drum_midi.write_midi(drum_midi.rock_beat(bars=5, variant=i), d / f"groove_{i:02d}.mid")
    splits = own_midi_splits(d)
    assert [s for s, _, _ in splits].count("validation") == 1
    assert dict((p.name, s) for s, p, _ in splits)["groove_09.mid"] == "validation"
    empty = tmp_path / "no_midi_here"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .mid or .midi files"):
        own_midi_splits(empty)


def test_own_midi_folder_without_a_selection_goes_to_data_named_after_it(tmp_path, monkeypatch):
    d = tmp_path / "my_grooves"
    d.mkdir()
    drum_midi.write_midi(drum_midi.rock_beat(bars=6), d / "groove.mid")
    monkeypatch.setenv("BGMAKER_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["convert", "--input", str(d)]) == 0
    report = json.loads((tmp_path / "data" / "my_grooves" / "report.json").read_text())
    assert report["splits"]["train"]["examples"] == 3


def test_replay_mixes_a_share_of_the_parents_other_windows_once_and_keeps_it(tmp_path):
    """bgmaker.data.replay: every run window, the parent's others drawn to `share`, shared windows counted once,
    seeded, remade only when an input changes."""
    import tensorflow as tf
    from bgmaker.data import replay

    def write(path, records):
        with tf.io.TFRecordWriter(str(path)) as writer:
            for r in records:
                writer.write(r)

    def read(path):
        return list(tf.compat.v1.io.tf_record_iterator(str(path)))
    own = [b"rock %d" % i for i in range(30)]
    parent = own[:10] + [b"funk %d" % i for i in range(50)]
    write(tmp_path / "run.tfrecord", own)
    write(tmp_path / "parent.tfrecord", parent)
    report = replay.mix(tmp_path / "run.tfrecord", tmp_path / "parent.tfrecord", tmp_path / "mix", 0.25)
    mixed = read(tmp_path / "mix" / "train.tfrecord")
    assert report["run_windows"] == 30 and report["replayed_windows"] == 10 and report["windows"] == 40
    assert report["shared_windows"] == 10 and report["parent_windows_available"] == 50
    assert len(set(mixed)) == 40 and set(own) <= set(mixed)
    assert all(r.startswith(b"funk") for r in set(mixed) - set(own))
    assert mixed != own + sorted(set(mixed) - set(own)), "written shuffled, not run first"
    again = replay.mix(tmp_path / "run.tfrecord", tmp_path / "parent.tfrecord", tmp_path / "mix2", 0.25)
    assert read(tmp_path / "mix2" / "train.tfrecord") == mixed and again["sha256"] == report["sha256"]  # seeded
    mtime = (tmp_path / "mix" / "train.tfrecord").stat().st_mtime_ns
    replay.mix(tmp_path / "run.tfrecord", tmp_path / "parent.tfrecord", tmp_path / "mix", 0.25)
    assert (tmp_path / "mix" / "train.tfrecord").stat().st_mtime_ns == mtime  # up to date: kept
    write(tmp_path / "parent.tfrecord", parent + [b"jazz"])
    assert replay.mix(tmp_path / "run.tfrecord", tmp_path / "parent.tfrecord", tmp_path / "mix", 0.25)[
        "parent_windows_available"] == 51  # an input changed: made again
    with pytest.raises(ValueError, match="between 0 and 1"):
        replay.mix(tmp_path / "run.tfrecord", tmp_path / "parent.tfrecord", tmp_path / "mix", 1.0)
