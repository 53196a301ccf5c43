"""Conversion as an Apache Beam pipeline: the local converter's windows, on any Beam runner.

`bgmaker convert --beam [PIPELINE OPTIONS]` converts the same performances
(the run's selection of GMD, or your MIDI folder split by file) into the
same windows per split as bgmaker.data.convert, read by the same function
(`convert.performance_windows`), on Beam's DirectRunner here or on any
runner the standard options name (`--runner`, `--project`,
`--temp_location`, ...), as Magenta's `preprocess_tfrecord.py` does for its
own data. The output is sharded: `<split>.tfrecord-SSSSS-of-NNNNN`, which
training reads as it reads one file (Magenta's input globs and interleaves
them; bgmaker.data.convert.examples_pattern finds them).

The order is seeded, as the local converter's is (Magenta's training
shuffles only within a small buffer, so file order decides how many
performances a batch mixes): every window gets a key from a keyed hash of
its bytes (the seed and the split are the key), which picks its shard and
its place in it. Shards therefore hold the same windows in the same order
on every runner and at any parallelism; the permutation is not the local
converter's (that one is a numpy permutation of the windows in file order,
which a distributed pipeline has no cheap way to reproduce), the set of
windows per split is the same (tests/test_beam.py checks it).

A file that cannot be used is reported with its reason in report.json /
report.md, as the local converter reports it; the pipeline goes on. Each
shard is written under a temporary name and renamed when complete.

Apache Beam cannot share BGMaker's main environment (requirements-beam.txt
names the conflicting pins): `scripts/install.sh --beam` makes .venv-beam,
and `bgmaker convert --beam` started from the main venv runs itself there
(`relaunch_command`).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_SHARDS = 4
FILES_LEDGER = "files"  # <out>/files.jsonl while the pipeline runs: one line per input file


class BeamNotInstalled(RuntimeError):
    """Apache Beam is neither importable here nor installed in its own environment."""


def beam_venv():
    """The Beam environment's folder: BGMAKER_BEAM_VENV, default <repo>/.venv-beam (scripts/install.sh --beam)."""
    return Path(os.environ.get("BGMAKER_BEAM_VENV") or Path(__file__).resolve().parents[2] / ".venv-beam")


def beam_available():
    """True when apache_beam imports in this process."""
    try:
        import apache_beam
    except ImportError:
        return False
    return bool(apache_beam.__version__)


def relaunch_command(argv):
    """The command that runs `python -m bgmaker.data ARGV` in the Beam environment (BeamNotInstalled if none)."""
    venv = beam_venv()
    python = venv / "bin" / "python"
    # a venv's python is a link to the system's: compare the environments, not the interpreters
    if not python.is_file() or Path(sys.prefix).resolve() == venv.resolve():
        raise BeamNotInstalled(
            "Apache Beam is not installed: run scripts/install.sh --beam (it makes its own environment, "
            ".venv-beam, because Beam 2.77 cannot share the main one's protobuf 7; see requirements-beam.txt)")
    return [str(python), "-m", "bgmaker.data", *argv]


def order_key(data, split, seed):
    """A window's place in the seeded order: a keyed hash of its bytes (the same on every runner)."""
    digest = hashlib.blake2b(data, digest_size=8, key=f"{seed}/{split}".encode()).digest()
    return int.from_bytes(digest, "big")


def shard_name(split, shard, shards):
    return f"{split}.tfrecord-{shard:05d}-of-{shards:05d}"


def _read_windows(item, root, collection, window):
    """One input file -> its (split, window bytes) pairs, and one ledger line (counts, or why it was skipped)."""
    from apache_beam.io.filesystems import FileSystems

    from bgmaker.data import convert
    split, relpath = item
    try:
        with FileSystems.open(FileSystems.join(root, relpath)) as f:
            data = f.read()
    except Exception:  # Beam raises BeamIOError (an IOError) for a missing file on any filesystem
        data = None
    if data is None:
        ns, found, reason = None, [], "missing file"
    else:
        ns, found, reason = convert.performance_windows(data, relpath, collection, window)
    ledger = dict(split=split, file=relpath, reason=reason)
    if reason is None:
        ledger.update(seconds=ns.total_time, windows=len(found), stock_examples=_stock_count(ns))
    return [(split, w.sequence.SerializeToString()) for w in found], json.dumps(ledger)


_stock = None


def _stock_count(ns):
    """How many examples Magenta's stock DrumsConverter would take from the file (the report's comparison)."""
    global _stock
    if _stock is None:  # once per worker process
        from bgmaker.data.convert import stock_converter
        _stock = stock_converter()
    return len(_stock.to_tensors(ns).outputs)


def _write_shard(keyed, out_dir, shards):
    """Write one shard's windows in key order through a temporary name; return (split, shard, count)."""
    from apache_beam.io.filesystems import FileSystems
    import tensorflow as tf
    (split, shard), values = keyed
    values = sorted(values)
    final = FileSystems.join(out_dir, shard_name(split, shard, shards))
    tmp = FileSystems.join(out_dir, "." + shard_name(split, shard, shards) + ".tmp")
    with tempfile.TemporaryDirectory(prefix="bgmaker-shard-") as local:
        path = os.path.join(local, "shard.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for _, data in values:
                writer.write(data)
        with open(path, "rb") as src, FileSystems.create(tmp) as dst:
            shutil.copyfileobj(src, dst)
    if FileSystems.exists(final):
        FileSystems.delete([final])
    FileSystems.rename([tmp], [final])
    return split, shard, len(values)


def build(pipeline, items, root, out_dir, shards=DEFAULT_SHARDS, seed=None, window=(4, False)):
    """Add the conversion to `pipeline`: items (split, path relative to root) -> sharded TFRecords + a file ledger.

    Returns nothing; the files appear when the pipeline has run.
    """
    import apache_beam as beam

    from bgmaker.data import convert
    seed = convert.SHUFFLE_SEED if seed is None else seed
    collection = convert.collection_name(root)
    read = (pipeline
            | "Files" >> beam.Create(sorted(items))
            | "Spread" >> beam.Reshuffle()
            | "Windows" >> beam.Map(_read_windows, str(root), collection, tuple(window)))
    (read
     | "Ledger" >> beam.Map(lambda pair: pair[1])
     | "WriteLedger" >> beam.io.WriteToText(os.path.join(str(out_dir), FILES_LEDGER), file_name_suffix=".jsonl",
                                           shard_name_template=""))

    def keyed(pair):
        split, data = pair
        key = order_key(data, split, seed)
        return (split, key % shards), (key, data)

    splits = sorted({split for split, _ in items})
    empty = [((split, shard), None) for split in splits for shard in range(shards)]  # every shard, even an empty one
    windows = (read
               | "EachWindow" >> beam.FlatMap(lambda pair: pair[0])
               | "Key" >> beam.Map(keyed))
    every_shard = pipeline | "AllShards" >> beam.Create(empty)
    ((windows, every_shard)
     | "Merge" >> beam.Flatten()
     | "ByShard" >> beam.GroupByKey()
     | "DropEmpty" >> beam.Map(lambda kv: (kv[0], [v for v in kv[1] if v is not None]))
     | "WriteShards" >> beam.Map(_write_shard, str(out_dir), shards))


def convert(items, root, out_dir, pipeline_args=(), shards=DEFAULT_SHARDS, seed=None, window=(4, False),
            log=print):
    """Run the pipeline on `items` ((split, path, minutes) as the local converter takes them); return the report.

    pipeline_args: Beam's standard options (default: DirectRunner). The
    report has the local converter's fields, plus `shards` and `runner`.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from bgmaker.data import convert as local
    root = Path(root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = local.SHUFFLE_SEED if seed is None else seed
    relative = [(split, os.path.relpath(path, root)) for split, path, _ in items]
    options = PipelineOptions(list(pipeline_args))
    runner = options.get_all_options().get("runner") or "DirectRunner"
    log(f"Beam ({runner}): {len(relative)} files from {root} -> {out_dir} ({shards} shards per split)")
    start = time.time()
    # The pipeline writes into a staging folder; its shards replace the folder's data only once it has succeeded,
    # so a failed run leaves the previous conversion whole.
    staging = Path(tempfile.mkdtemp(prefix=".beam-staging-", dir=out_dir))
    try:
        with beam.Pipeline(options=options) as pipeline:
            build(pipeline, relative, root, staging, shards, seed, window)
        report = _report(staging, out_dir, root, shards, seed, window, runner)
        _swap_in(staging, out_dir, report["splits"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report["seconds"] = round(time.time() - start, 1)
    local._write_report(report, out_dir)
    return report


def _report(staging, out_dir, root, shards, seed, window, runner):
    """The local converter's report, built from the pipeline's file ledger in `staging` (the shards' final
    folder: `out_dir`)."""
    from bgmaker.data import convert as local
    ledger_path = staging / f"{FILES_LEDGER}.jsonl"
    lines = [json.loads(line) for line in ledger_path.read_text().splitlines() if line.strip()]
    ledger_path.unlink()
    bars, expressive = window
    report = dict(every_window=True, source=str(root), splits={}, skipped=[], window_bars=bars, expressive=expressive,
                  order=f"shuffled (seed {seed}, keyed hash per window)", shuffle_seed=seed, shards=shards,
                  runner=runner, converter="beam")
    stats = defaultdict(Counter)
    for line in sorted(lines, key=lambda x: (x["split"], x["file"])):
        s = stats[line["split"]]
        if line["reason"] is not None:
            report["skipped"].append(dict(file=line["file"], split=line["split"], reason=line["reason"]))
            s["skipped"] += 1
            continue
        s["files"] += 1
        s["seconds"] += line["seconds"]
        s["windows"] += line["windows"]
        s["stock_examples"] += line["stock_examples"]
    for split in sorted(stats):
        s = stats[split]
        files = [staging / shard_name(split, i, shards) for i in range(shards)]
        report["splits"][split] = dict(
            file=str(out_dir / f"{split}.tfrecord-*-of-{shards:05d}"), shards=[f.name for f in files],
            sha256=local.shards_sha256(files), files=s["files"], skipped=s["skipped"], minutes=round(s["seconds"] / 60, 1),
            examples=s["windows"], windows=s["windows"], stock_examples=s["stock_examples"])
    report["skip_reasons"] = dict(Counter(local._reason_kind(s["reason"]) for s in report["skipped"]))
    return report


def _swap_in(staging, out_dir, splits):
    """Replace the data of `splits` in out_dir (the local converter's single files, earlier shards, the report)
    with the staged shards: afterwards a split is read from these shards only (convert.examples_pattern)."""
    from bgmaker.data.convert import remove_split_files
    (out_dir / "report.json").unlink(missing_ok=True)  # written again once the new shards are in place
    for split in splits:
        remove_split_files(out_dir, split)
        for path in sorted(staging.glob(f"{split}.tfrecord-*-of-*")):
            os.replace(path, out_dir / path.name)
