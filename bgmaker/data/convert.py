"""Convert GMD MIDI (a folder or its zip) into NoteSequence TFRecords for a run.

For each official split of the selected performances this writes
`<out>/<split>.tfrecord`: every distinct 4-bar window (bgmaker.data.windows) as its
own NoteSequence, or with `--whole-files` the whole performances for
Magenta's stock 5-slice converter. It also writes `report.json` and
`report.md`: files, minutes and 4-bar examples per split (ours and what
Magenta's stock DrumsConverter would extract), and every skipped file with
its reason. Windows are written in a seeded random order (`shuffle_seed`,
recorded in the report), not performance by performance: Magenta's training
input shuffles only within a small buffer, so file order decides how many
performances a batch mixes (reports/batch_mix.py). MIDI is read the way Magenta's convert_dir_to_note_sequences
reads it (same NoteSequence ids), but a file that cannot be used is
reported with a reason instead of vanishing into a log line; conversion of
the rest continues. Outputs are written to a temporary name and renamed, so
an interrupted conversion never leaves a half-written TFRecord behind.

A folder without info.csv (your own MIDI) is split by file (`own_midi_splits`):
every tenth file to `validation` when there are at least ten, the rest `train`.
"""
import json
import os
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from bgmaker import paths

from bgmaker.data import gmd

SELECT_FIELDS = ("style", "beat_type", "time_signature", "drummer", "session", "split")


def _name_like_magenta(ns, filename, collection):
    """Name a NoteSequence as Magenta's convert_dir_to_note_sequences names it.

    filename: the file's path relative to the folder converted; collection: that folder's name.
    """
    from magenta.scripts.convert_dir_to_note_sequences import generate_note_sequence_id
    ns.collection_name = collection
    ns.filename = filename
    ns.id = generate_note_sequence_id(ns.filename, ns.collection_name, "midi")
    return ns


def collection_name(root):
    """The collection a folder's NoteSequences carry: the folder's own name, as Magenta's converter names it."""
    return os.path.basename(os.path.normpath(str(root)))


# Seed of the order windows are written in; recorded in report.json.
SHUFFLE_SEED = 20190611


def convert_performances(items, root, out_dir, every_window=True, log=print, shuffle_seed=SHUFFLE_SEED,
                         window=(4, False)):
    """Write one TFRecord per split; return the report dict.

    items: (split, path, minutes_or_None) tuples. Bad files are skipped with a
    reason and counted; the TFRecords are renamed into place only when done.
    window: (bars, expressive) of the stored windows (the run's model's:
    bgmaker_configs.MODEL_WINDOWS); expressive windows keep the played timing.
    Every-window records are written in an order shuffled by
    `shuffle_seed` (None: performance order); whole files keep file order,
    as Magenta's own converter writes them.
    """
    stock = stock_converter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_split = defaultdict(list)
    for split, path, _ in items:  # the minutes are GMD's; the report counts the NoteSequences' own
        by_split[split].append(Path(path))

    shuffled = every_window and shuffle_seed is not None
    bars, expressive = window
    report = dict(every_window=every_window, source=str(root), splits={}, skipped=[],
                  window_bars=bars, expressive=expressive,
                  order=f"shuffled (seed {shuffle_seed})" if shuffled else "performance order",
                  shuffle_seed=shuffle_seed if shuffled else None)
    start = time.time()
    done, total = 0, sum(len(v) for v in by_split.values())
    for split, files in by_split.items():
        stats, records = Counter(), []
        for path in files:
            done += 1
            ns, found, reason = _read_performance(path, root, window)
            if reason is not None:
                report["skipped"].append(dict(file=os.path.relpath(path, root), split=split, reason=reason))
                stats["skipped"] += 1
                continue
            records += _count_performance(stats, ns, found, stock, every_window)
            if done % 100 == 0 or done == total:
                log(f"  {done}/{total} files ({time.time() - start:.0f} s)")
        final = _write_records(records, _write_order(len(records), split, shuffle_seed if shuffled else None),
                               out_dir, split)
        remove_split_files(out_dir, split, keep=final)  # the Beam pipeline's shards of it, if any, are stale now
        report["splits"][split] = dict(
            file=str(final), sha256=sha256_of(final), files=stats["files"], skipped=stats["skipped"],
            minutes=round(stats["seconds"] / 60, 1), examples=stats["examples"],
            windows=stats["windows"], stock_examples=stats["stock_examples"])
    report["seconds"] = round(time.time() - start, 1)
    report["skip_reasons"] = dict(Counter(_reason_kind(s["reason"]) for s in report["skipped"]))
    _write_report(report, out_dir)
    return report


def stock_converter():
    """Magenta's stock DrumsConverter, whose example count per file the report compares ours with."""
    from bgmaker import compat
    compat.apply()  # Magenta's converters: the shims before Magenta is imported (idempotent)
    from bgmaker_configs import architectures

    stock = architectures.drums_converter()
    stock.set_mode("eval")  # deterministic; the count is min(5, distinct slices) in either mode
    return stock


def _read_performance(path, root, window):
    """(NoteSequence, its windows, None) for a usable MIDI file, else (NoteSequence or None, [], why not).

    window: (bars, expressive), as convert_performances takes it.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None, [], "missing file"
    return performance_windows(data, os.path.relpath(path, root), collection_name(root), window)


def performance_windows(data, filename, collection, window):
    """(NoteSequence, its windows, None) for the bytes of a usable MIDI file, else (NoteSequence or None, [], why not).

    The one reading of a performance, for the local converter and the Beam
    pipeline alike (bgmaker.data.beam): `filename` (relative to the folder
    converted) and `collection` name the NoteSequence as Magenta does;
    window: (bars, expressive), as convert_performances takes it.
    """
    import note_seq

    from bgmaker.data import windows
    bars, expressive = window
    if not data:
        return None, [], "empty file (0 bytes)"
    try:
        ns = note_seq.midi_to_note_sequence(data)
    except Exception as e:  # pretty_midi/mido raise many types on corrupt files
        return None, [], f"unreadable MIDI ({type(e).__name__}: {str(e)[:80]})"
    _name_like_magenta(ns, filename, collection)
    try:
        found = windows.extract_windows(ns, bars=bars, expressive=expressive)
    except windows.UnusableSequenceError as e:
        return ns, [], str(e)
    if not found:
        return ns, [], f"no {bars}-bar window with drum hits"
    return ns, found, None


def _count_performance(stats, ns, found, stock, every_window):
    """Add a usable performance to its split's `stats`; return its records: each window, or the whole file.

    Beside our own windows it counts what Magenta's stock converter (`stock`)
    would extract from the file, the figure the report compares them with.
    """
    n_stock = len(stock.to_tensors(ns).outputs)
    stats["files"] += 1
    stats["seconds"] += ns.total_time
    stats["examples"] += len(found) if every_window else n_stock
    stats["windows"] += len(found)
    stats["stock_examples"] += n_stock
    return [w.sequence.SerializeToString() for w in found] if every_window else [ns.SerializeToString()]


def _write_order(n, split, shuffle_seed):
    """The order a split's `n` records are written in: a permutation seeded by `shuffle_seed` and the split's
    name, or as read when `shuffle_seed` is None."""
    import numpy as np
    return np.random.default_rng([shuffle_seed, _split_key(split)]).permutation(n) if shuffle_seed is not None \
        else range(n)


def _write_records(records, order, out_dir, split):
    """Write records[i] for i in `order` to <out_dir>/<split>.tfrecord through a temporary name; return its path.

    Renamed into place only when complete, so an interrupted conversion never
    leaves a half-written TFRecord behind.
    """
    import tensorflow as tf
    final = out_dir / f"{split}.tfrecord"
    with paths.replaced_atomically(final) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        for i in order:
            writer.write(records[i])
    return final


def remove_split_files(folder, split, keep=None):
    """Remove a split's converted data from `folder`: its single TFRecord and any shards (`keep` stays).

    The local converter writes `<split>.tfrecord`, the Beam pipeline
    `<split>.tfrecord-SSSSS-of-NNNNN`; each removes the other's when it writes
    a split, so training never reads a stale one beside the new.
    """
    folder = Path(folder)
    for path in [folder / f"{split}.tfrecord", *folder.glob(f"{split}.tfrecord-*-of-*")]:
        if path.exists() and (keep is None or Path(path) != Path(keep)):
            path.unlink()


def single_file_needed(path, who):
    """The error for `who` (a job that reads one TFRecord) when `path` exists only as the Beam pipeline's shards;
    None when it does not."""
    if Path(path).is_file() or examples_pattern(path) is None:
        return None
    return (f"{path.name} was converted with --beam (shards); {who} reads the local converter's single file: "
            f"convert again without --beam")


def sha256_of(path):
    """The file's sha256: the data checksum a run, a shipped model and its priors record."""
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shards_sha256(files):
    """One checksum for a split written as shards (bgmaker.data.beam): sha256 over each shard's sha256, in order."""
    import hashlib
    digest = hashlib.sha256()
    for f in files:
        digest.update(sha256_of(f).encode())
    return digest.hexdigest()


def _split_key(split):
    """A stable integer per split name, so each split gets its own order from one seed."""
    return int.from_bytes(split.encode()[:8].ljust(8, b"\0"), "little")


def _reason_kind(reason):
    return reason[reason.index("shorter than"):] if "shorter than" in reason else reason.split(" (")[0]


def _write_report(report, out_dir):
    paths.write_text_atomically(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    lines = [f"# Data report: {report.get('name', out_dir.name)}", "",
             f"Source: `{report['source']}`" + (f"; selection: `{report['selection']}`" if report.get("selection") else ""),
             "Examples: " + (("every {}-bar window with its played velocities and timing, 1-bar hop"
                              if report.get("expressive") else "every distinct {}-bar window, 1-bar hop")
                             .format(report.get("window_bars", 4)) if report['every_window']
                             else 'whole files (Magenta 5-slice converter)'),
             f"Order: {report.get('order', 'performance order')}",
             "", "| split | files | minutes | examples | stock converter | skipped |", "|---|---|---|---|---|---|"]
    for split, s in report["splits"].items():
        lines.append(f"| {split} | {s['files']} | {s['minutes']} | {s['examples']} | {s['stock_examples']} | {s['skipped']} |")
    if report["skipped"]:
        lines += ["", "Skipped (" + ", ".join(f"{k}: {v}" for k, v in report["skip_reasons"].items()) + "):", ""]
        lines += [f"- `{s['file']}` ({s['split']}): {s['reason']}" for s in report["skipped"]]
    lines += ["", f"Converted in {report['seconds']} s."]
    (out_dir / "report.md").write_text("\n".join(lines) + "\n")


def own_midi_splits(root):
    """(split, path, None) for every .mid/.midi under a folder without info.csv.

    Split by file, so the overlapping windows of one file never land in both
    splits: every tenth file (in sorted order) is `validation` when there are
    at least ten files, everything else is `train`.
    """
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    if not files:
        raise ValueError(f"no .mid or .midi files in {root}")
    held_out = len(files) >= 10
    return [("validation" if held_out and i % 10 == 9 else "train", p, None) for i, p in enumerate(files)]


def midi_listing_digest(folder):
    """A digest of a MIDI folder's file names, sizes and times: changes when a file is added, removed or edited."""
    import hashlib
    digest = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        if p.suffix.lower() in (".mid", ".midi") and p.is_file():
            st = p.stat()
            digest.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def converted(name, data_dir, whole_files=False):
    """The folder of named run `name`'s windows under `data_dir`, converted first when missing.

    For the long-lived runs outside the checkout (the campaign, the recipe
    runs, the models table), whose data lives in the state directory. It
    converts in a child process (`python -m bgmaker.data`), as ensure_converted
    does and for the same reason; report.json is written last, so a folder
    without it is an interrupted conversion and is made again.
    """
    import subprocess
    import sys
    folder = Path(data_dir) / name / ("whole_files" if whole_files else "")
    if not ((folder / "report.json").is_file() and (folder / "train.tfrecord").is_file()):
        command = [sys.executable, "-m", "bgmaker.data", "--run", name]
        if whole_files:
            command += ["--whole-files", "--output-dir", str(folder)]
        subprocess.run(command, env={**os.environ, "BGMAKER_DATA_DIR": str(data_dir)}, check=True,
                       stdout=subprocess.DEVNULL)
    return folder


def ensure_converted(run, log=print):
    """Convert a user-MIDI run's folder unless data/<run> already holds this exact folder's windows.

    The conversion runs in a child process (`python -m bgmaker.data`, the job
    of `bgmaker convert`): reading MIDI the way Magenta's
    convert_dir_to_note_sequences does imports that app, whose absl flags
    clash with music_vae_train's in the training process.
    """
    import subprocess
    import sys
    out_dir = run.examples_path("train").parent
    listing = midi_listing_digest(run.midi_dir)
    try:
        previous = json.loads((out_dir / "report.json").read_text()).get("midi_listing")
    except (OSError, ValueError):
        previous = None
    if previous == listing and run.examples_path("train").is_file():
        return None
    log(f"converting {run.midi_dir} -> {out_dir}")
    child = subprocess.run([sys.executable, "-m", "bgmaker.data", "--input", str(run.midi_dir),
                            "--output-dir", str(out_dir)], capture_output=True, text=True)
    if child.returncode != 0:
        raise ValueError((child.stderr.strip().splitlines() or [f"converting {run.midi_dir} failed"])[-1])
    report = json.loads((out_dir / "report.json").read_text())
    report["midi_listing"] = listing
    _write_report(report, out_dir)
    if "train" not in report["splits"] or not report["splits"]["train"]["examples"]:
        raise ValueError(f"{run.midi_dir}: no usable 4/4 drum file with 4 bars or more "
                         f"(see {out_dir / 'report.md'})")
    return report


def _open_source(path):
    """A folder to read: the folder itself, or a zip extracted to a temp dir."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is neither a folder nor a zip file")
        tmp = tempfile.mkdtemp(prefix="bgmaker-gmd-")
        with zipfile.ZipFile(path) as z:
            z.extractall(tmp)
        found = sorted(Path(tmp).rglob("info.csv"))
        return (found[0].parent if found else Path(tmp)), tmp
    return path, None


def convert_run(run=None, source=None, out_dir=None, select=None, every_window=None, log=print, engine=None):
    """Convert the selected GMD performances (a run's by default); return the report.

    engine: another converter of the same items, called as
    engine(items, root, out_dir, window=..., log=...) -> report: the Apache
    Beam pipeline (bgmaker.data.beam.convert, with its options bound);
    default this module's convert_performances.
    """
    import shutil
    root, cleanup = _open_source(source or (run.midi_dir if run is not None and run.midi_dir else None)
                                 or paths.gmd_dir())
    try:
        if every_window is None:
            every_window = run.every_window if run else True
        select = dict(run.select) if select is None and run else (select or {})
        name = run.name if run else Path(out_dir).name
        out_dir = Path(out_dir) if out_dir else run.examples_path("train", every_window).parent
        items = selected_items(root, select)
        window = run.window if run else (4, False)
        if engine is not None:
            if not every_window:
                raise ValueError("--beam writes every window; whole files (--whole-files) are the local converter's")
            report = engine(items, root, out_dir, window=window, log=log)
        else:
            log(f"{name}: converting {len(items)} files from {root} -> {out_dir}")
            report = convert_performances(items, root, out_dir, every_window=every_window, log=log, window=window)
        report.update(name=name, selection=select, out_dir=str(out_dir))
        _write_report(report, Path(out_dir))
        return report
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)


def selected_items(root, select):
    """(split, path, minutes or None) of every performance to convert: GMD's selection, or a folder's MIDI files."""
    root = Path(root)
    if (root / "info.csv").is_file():
        perfs = gmd.select(gmd.load(root), **select)
        return [(p.split, root / p.midi_filename, p.duration / 60) for p in perfs]
    if select:
        raise ValueError(f"{root} has no info.csv, so it cannot be selected by {sorted(select)}")
    return own_midi_splits(root)


def examples_pattern(path):
    """What training reads for a split's TFRecord `path`: the file itself, else the Beam pipeline's shards of it
    (`<path>-*-of-*`, a pattern Magenta's input globs), else None when neither exists."""
    path = Path(path)
    if path.is_file():
        return str(path)
    return str(path) + "-*-of-*" if any(path.parent.glob(path.name + "-*-of-*")) else None
