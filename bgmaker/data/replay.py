"""Replay: a fine-tuning run's train windows mixed with a share of its parent run's, against forgetting.

Fine-tuning v1_all's weights on v2_rock_beat's 5,037 rock windows alone
overfits them within about an hour of CPU and forgets what the parent knew
(#26). Replay (rehearsal) keeps some of the parent's data in every epoch: the
mixed train split holds every window of the run and, drawn once with a seed,
enough of the parent's other train windows to make up `share` of the mix.
Windows the two runs share (every rock-beat window is also a v1_all window)
count once, as the run's. Validation and test stay the run's own, so a
replay recipe is chosen on the same rock validation windows as plain
fine-tuning.

The mix is written shuffled (the converter's order: Magenta reads the file
in order before its shuffle buffer) to
<data>/<run>/replay-<parent>-<percent>/train.tfrecord, atomically, with a
report.json of its counts and its inputs' checksums; a mix whose inputs
changed is made again.
"""
import json
from pathlib import Path

import numpy as np

from bgmaker import paths

SEED = 20261206


def folder_name(parent, share):
    return f"replay-{parent}-{round(share * 100):d}"


def _records(path):
    from tensorflow.compat.v1.io import tf_record_iterator
    return list(tf_record_iterator(str(path)))


def mix(run_train, parent_train, out_dir, share, seed=SEED):
    """Write run_train's records plus a seeded draw of parent_train's others as `share` of the mix; return the report.

    share: the parent's part of the mixed split, 0 < share < 1; the number
    drawn is round(n_run * share / (1 - share)), at most every window of the
    parent the run lacks.
    """
    import tensorflow as tf
    from bgmaker.data.convert import sha256_of
    if not 0 < share < 1:
        raise ValueError(f"a replay share must lie between 0 and 1 (exclusive), got {share}")
    out_dir = Path(out_dir)
    inputs = dict(run=dict(file=str(run_train), sha256=sha256_of(run_train)),
                  parent=dict(file=str(parent_train), sha256=sha256_of(parent_train)))
    report_path = out_dir / "report.json"
    if report_path.is_file() and (out_dir / "train.tfrecord").is_file():
        previous = json.loads(report_path.read_text())
        if previous.get("inputs") == inputs and previous.get("share") == share and previous.get("seed") == seed:
            return previous
    own = _records(run_train)
    mine = set(own)
    parents = _records(parent_train)
    others = [r for r in parents if r not in mine]
    rng = np.random.default_rng(seed)
    wanted = min(len(others), int(round(len(own) * share / (1 - share))))
    replayed = [others[i] for i in np.sort(rng.choice(len(others), wanted, replace=False))]
    mixed = own + replayed
    order = rng.permutation(len(mixed))
    out_dir.mkdir(parents=True, exist_ok=True)
    with paths.replaced_atomically(out_dir / "train.tfrecord") as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        for i in order:
            writer.write(mixed[i])
    report = dict(share=share, seed=seed, windows=len(mixed), run_windows=len(own), replayed_windows=wanted,
                  parent_windows_available=len(others), shared_windows=len(parents) - len(others),
                  inputs=inputs, sha256=sha256_of(out_dir / "train.tfrecord"))
    paths.write_text_atomically(report_path, json.dumps(report, indent=1) + "\n")
    return report


def ensure(run, parent, share, log=print):
    """The mixed train split of `run` (a Run) with `share` of named run `parent`'s windows; made when missing
    or stale (the parent's windows converted first if need be). FileNotFoundError without the run's own."""
    from bgmaker.data.convert import converted
    run_train = run.examples_path("train")
    from bgmaker.data.convert import single_file_needed
    sharded = single_file_needed(run_train, "a replay recipe")
    if sharded:
        raise FileNotFoundError(sharded)
    if not run_train.is_file():
        raise FileNotFoundError(f"run {run.name} has no train data at {run_train}; make it with: "
                                f"scripts/convert_gmd.sh --run {run.name}")
    parent_train = Path(converted(parent, paths.data_dir())) / "train.tfrecord"
    out = run.examples_path("train", replay=(parent, share))
    report = mix(run_train, parent_train, out.parent, share)
    log(f"replay: {report['run_windows']} {run.name} windows + {report['replayed_windows']} of {parent}'s "
        f"({report['replayed_windows'] / report['windows']:.0%} of {report['windows']}) -> {out}")
    return out
