"""Convert GMD MIDI (a folder or its zip) into NoteSequence TFRecords for a run.

For each official split of the selected performances this writes
`<out>/<split>.tfrecord`: every distinct 4-bar window (bgmaker.windows) as its
own NoteSequence, or with `--whole-files` the whole performances for
Magenta's stock 5-slice converter. It also writes `report.json` and
`report.md`: files, minutes and 4-bar examples per split (ours and what
Magenta's stock DrumsConverter would extract), and every skipped file with
its reason. MIDI is read the way Magenta's convert_dir_to_note_sequences
reads it (same NoteSequence ids), but a file that cannot be used is
reported with a reason instead of vanishing into a log line; conversion of
the rest continues. Outputs are written to a temporary name and renamed, so
an interrupted conversion never leaves a half-written TFRecord behind.

A folder without info.csv (your own MIDI) is converted as a single split, `all`.
"""
import json
import os
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from bgmaker import gmd, paths

ACCEPTS_EXTRA_ARGS = False
SELECT_FIELDS = ("style", "beat_type", "time_signature", "drummer", "session", "split")


def add_arguments(parser):
    parser.add_argument("--run", action="append", default=None,
                        help="named run(s) to convert for (default: every named run)")
    parser.add_argument("--gmd", "--input", dest="input", default=None,
                        help="GMD folder or its zip, or any folder of MIDI (default: $BGMAKER_GMD_DIR "
                             "or ../shared/data/groove)")
    parser.add_argument("--output-dir", default=None,
                        help="where to write the TFRecords and report (default: data/<run>; "
                             "required with a custom selection)")
    for field in SELECT_FIELDS:
        parser.add_argument(f"--{field.replace('_', '-')}", dest=field, action="append", default=None,
                            help=f"select by {field} (repeatable; replaces the run's own {field})")
    parser.add_argument("--bpm", default=None, help="select a bpm range, e.g. 90-130")
    parser.add_argument("--whole-files", action="store_true",
                        help="store whole performances (Magenta's 5 random slices) instead of every window")


def _name_like_magenta(ns, path, root):
    """Name a NoteSequence as Magenta's convert_dir_to_note_sequences names it."""
    from magenta.scripts.convert_dir_to_note_sequences import generate_note_sequence_id
    ns.collection_name = os.path.basename(os.path.normpath(root))
    ns.filename = os.path.relpath(path, root)
    ns.id = generate_note_sequence_id(ns.filename, ns.collection_name, "midi")
    return ns


def _midi_error(path):
    """Read errors a broken MIDI file raises (pretty_midi/mido), as one short reason."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return "missing file"
    return "empty file (0 bytes)" if size == 0 else None


def convert_performances(items, root, out_dir, every_window=True, log=print):
    """Write one TFRecord per split; return the report dict.

    items: (split, path, minutes_or_None) tuples. Bad files are skipped with a
    reason and counted; the TFRecords are renamed into place only when done.
    """
    import note_seq
    import tensorflow as tf

    from bgmaker import windows
    from bgmaker_configs import models

    stock = models.drums_converter()
    stock.set_mode("eval")  # deterministic; the count is min(5, distinct slices) in either mode
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_split = defaultdict(list)
    for split, path, minutes in items:
        by_split[split].append((Path(path), minutes))

    report = dict(every_window=every_window, source=str(root), splits={}, skipped=[])
    start = time.time()
    done, total = 0, sum(len(v) for v in by_split.values())
    for split, files in by_split.items():
        final = out_dir / f"{split}.tfrecord"
        fd, tmp = tempfile.mkstemp(prefix=f".{split}.", suffix=".tfrecord.tmp", dir=out_dir)
        os.close(fd)
        stats = Counter()
        try:
            with tf.io.TFRecordWriter(tmp) as writer:
                for path, minutes in files:
                    done += 1
                    rel = os.path.relpath(path, root)
                    reason = _midi_error(path)
                    ns = None
                    if reason is None:
                        try:
                            ns = note_seq.midi_file_to_note_sequence(str(path))
                        except Exception as e:  # pretty_midi/mido raise many types on corrupt files
                            reason = f"unreadable MIDI ({type(e).__name__}: {str(e)[:80]})"
                        else:
                            _name_like_magenta(ns, path, root)
                    found = []
                    if ns is not None:
                        try:
                            found = windows.extract_windows(ns)
                        except windows.UnusableSequenceError as e:
                            reason = str(e)
                    if reason is None and not found:
                        reason = "no 4-bar window with drum hits"
                    if reason is not None:
                        report["skipped"].append(dict(file=rel, split=split, reason=reason))
                        stats["skipped"] += 1
                        continue
                    n_stock = len(stock.to_tensors(ns).outputs)
                    stats["files"] += 1
                    stats["seconds"] += ns.total_time
                    stats["examples"] += len(found) if every_window else n_stock
                    stats["windows"] += len(found)
                    stats["stock_examples"] += n_stock
                    if every_window:
                        for w in found:
                            writer.write(w.sequence.SerializeToString())
                    else:
                        writer.write(ns.SerializeToString())
                    if done % 100 == 0 or done == total:
                        log(f"  {done}/{total} files ({time.time() - start:.0f} s)")
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        report["splits"][split] = dict(
            file=str(final), files=stats["files"], skipped=stats["skipped"],
            minutes=round(stats["seconds"] / 60, 1), examples=stats["examples"],
            windows=stats["windows"], stock_examples=stats["stock_examples"])
    report["seconds"] = round(time.time() - start, 1)
    report["skip_reasons"] = dict(Counter(_reason_kind(s["reason"]) for s in report["skipped"]))
    _write_report(report, out_dir)
    return report


def _reason_kind(reason):
    return "shorter than 4 bars" if "shorter than" in reason else reason.split(" (")[0]


def _write_report(report, out_dir):
    tmp = out_dir / ".report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out_dir / "report.json")
    lines = [f"# Data report: {report.get('name', out_dir.name)}", "",
             f"Source: `{report['source']}`" + (f"; selection: `{report['selection']}`" if report.get("selection") else ""),
             f"Examples: {'every distinct 4-bar window, 1-bar hop' if report['every_window'] else 'whole files (Magenta 5-slice converter)'}",
             "", "| split | files | minutes | examples | stock converter | skipped |", "|---|---|---|---|---|---|"]
    for split, s in report["splits"].items():
        lines.append(f"| {split} | {s['files']} | {s['minutes']} | {s['examples']} | {s['stock_examples']} | {s['skipped']} |")
    if report["skipped"]:
        lines += ["", "Skipped (" + ", ".join(f"{k}: {v}" for k, v in report["skip_reasons"].items()) + "):", ""]
        lines += [f"- `{s['file']}` ({s['split']}): {s['reason']}" for s in report["skipped"]]
    lines += ["", f"Converted in {report['seconds']} s."]
    (out_dir / "report.md").write_text("\n".join(lines) + "\n")


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


def _selection(args, run):
    select = dict(run.select) if run else {}
    for field in SELECT_FIELDS:
        value = getattr(args, field)
        if value:
            select[field] = value if len(value) > 1 else value[0]
    if args.bpm:
        try:
            low, high = (int(x) for x in args.bpm.split("-"))
        except ValueError:
            raise ValueError(f"--bpm {args.bpm!r}: expected a range like 90-130") from None
        select["bpm"] = (low, high)
    return select


def convert_run(run=None, source=None, out_dir=None, select=None, every_window=None, log=print):
    """Convert the selected GMD performances (a run's by default); return the report."""
    import shutil
    root, cleanup = _open_source(source or paths.gmd_dir())
    try:
        if every_window is None:
            every_window = run.every_window if run else True
        select = dict(run.select) if select is None and run else (select or {})
        name = run.name if run else Path(out_dir).name
        out_dir = Path(out_dir) if out_dir else run.examples_path("train").parent
        if (root / "info.csv").is_file():
            perfs = gmd.select(gmd.load(root), **select)
            items = [(p.split, root / p.midi_filename, p.duration / 60) for p in perfs]
        else:
            if select:
                raise ValueError(f"{root} has no info.csv, so it cannot be selected by {sorted(select)}")
            items = [("all", p, None) for p in sorted(root.rglob("*")) if p.suffix.lower() in (".mid", ".midi")]
            if not items:
                raise ValueError(f"no .mid files in {root}")
        log(f"{name}: converting {len(items)} files from {root} -> {out_dir}")
        report = convert_performances(items, root, out_dir, every_window=every_window, log=log)
        report.update(name=name, selection=select, out_dir=str(out_dir))
        _write_report(report, Path(out_dir))
        return report
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)


def main(args):
    custom = any(getattr(args, f) for f in SELECT_FIELDS) or args.bpm
    from bgmaker_configs.runs import RUNS, get_run
    if args.run:
        runs = [get_run(name) for name in args.run]
        if len(runs) > 1 and args.output_dir:
            raise ValueError("--output-dir needs exactly one --run")
    elif custom or args.output_dir:
        if not args.output_dir:
            raise ValueError("a custom selection needs --output-dir (or --run NAME to refine a run)")
        runs = [None]
    else:
        runs = list(RUNS.values())
    for run in runs:
        report = convert_run(run, source=args.input, out_dir=args.output_dir,
                             select=_selection(args, run),
                             every_window=False if args.whole_files else None)
        print((Path(report["out_dir"]) / "report.md").read_text(), flush=True)
    return 0
