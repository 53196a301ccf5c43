"""Export a training checkpoint as a small, weights-only model to ship or share.

A training checkpoint also holds Adam's two moment slots per weight (three
times the size) and a large graph .meta; generation needs neither. The export
restores the checkpoint into Magenta's inference graph (TrainedModel) and
saves only that graph's variables, next to the `hparams.txt` and
`bgmaker_run.json` the run recorded, so `--checkpoint models/NAME` loads it
with the right hparams. The result loads anywhere a checkpoint does.
"""
import json
import os
import shutil
from pathlib import Path


def export(config_name, checkpoint, out_dir, run_dir=None):
    """Write a weights-only checkpoint of `checkpoint` into `out_dir`; return its prefix."""
    from bgmaker import models
    checkpoint = models.resolve_checkpoint(checkpoint)
    overrides = models.recorded_hparams(checkpoint)
    config = models.config_for(config_name, checkpoint, overrides)
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import TrainedModel
    step = models.step_of(checkpoint) or 0

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "checkpoint").is_file())):
        raise ValueError(f"{out_dir} exists and is not an exported model: give a new or empty folder (--output)")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model = TrainedModel(config, batch_size=1, checkpoint_dir_or_path=checkpoint)
    with model._sess.graph.as_default():
        saver = tf.train.Saver(tf.global_variables(), save_relative_paths=True)
        saver.save(model._sess, str(tmp / "model.ckpt"), global_step=step, write_meta_graph=False)
    model._sess.close()
    models.record_hparams(str(tmp), overrides)
    source_run = Path(run_dir) if run_dir else Path(checkpoint).parent.parent
    if (source_run / models.RUN_RECORD).is_file():
        record = json.loads((source_run / models.RUN_RECORD).read_text())
        record["exported_from"] = os.path.relpath(os.path.abspath(checkpoint), os.path.abspath(out_dir))
        (tmp / "bgmaker_run.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return str(out_dir / f"model.ckpt-{step}")


