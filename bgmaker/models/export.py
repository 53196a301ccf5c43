"""Export a training checkpoint as a small, weights-only model to ship or share.

A training checkpoint also holds Adam's two moment slots per weight (three
times the size) and a large graph .meta; generation needs neither. The export
restores the checkpoint into Magenta's inference graph (TrainedModel) and
saves only that graph's variables, next to the `hparams.txt` and
`bgmaker_run.json` the run recorded, so `--checkpoint models/NAME` loads it
with the right hparams. The result loads anywhere a checkpoint does.

weights="fp16" rounds every float32 weight to the nearest float16 value but
keeps storing it as float32. Why not store float16: Magenta's TrainedModel,
`music_vae_generate` and the Colab notebook restore a checkpoint into float32
variables and would refuse it. Rounded values still shrink what a committed
model adds to git history, because git's zlib packs a float32 whose low 13
mantissa bits are zero into far fewer bytes (reports/fp16.py measures
that, and that the beats stay the same).
"""
import os
import shutil
from pathlib import Path


WEIGHTS = ("fp32", "fp16")


def round_to_fp16(session, variables):
    """Round the float32 `variables` in `session` to float16 precision (kept float32); refuse overflow."""
    import numpy as np
    variables = [v for v in variables if v.dtype.base_dtype.name == "float32"]
    for variable, value in zip(variables, session.run(variables)):
        rounded = value.astype(np.float16)
        if not np.isfinite(rounded).all():
            raise ValueError(f"weight {variable.op.name} holds values beyond float16's range (max |w| = "
                             f"{np.abs(value).max():.3g}): export it with weights='fp32'")
        variable.load(rounded.astype(np.float32), session)


def export(config_name, checkpoint, out_dir, run_dir=None, weights="fp32"):
    """Write a weights-only checkpoint of `checkpoint` into `out_dir`; return its prefix.

    weights: "fp32" keeps every value; "fp16" rounds them to float16 precision (module docstring).
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights={weights!r}: one of {', '.join(WEIGHTS)}")
    from bgmaker import models
    from bgmaker.models import records
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
    try:
        with model._sess.graph.as_default():
            if weights == "fp16":
                round_to_fp16(model._sess, tf.global_variables())
            saver = tf.train.Saver(tf.global_variables(), save_relative_paths=True)
            saver.save(model._sess, str(tmp / "model.ckpt"), global_step=step, write_meta_graph=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written is left beside out_dir
        raise
    finally:
        model._sess.close()
    models.record_hparams(str(tmp), overrides)
    source_run = Path(run_dir) if run_dir else Path(checkpoint).parent.parent
    if records.has_record(source_run):
        record = records.read_record(source_run)
        record["exported_from"] = os.path.relpath(os.path.abspath(checkpoint), os.path.abspath(out_dir))
        record["weights"] = "float32 rounded to float16 precision" if weights == "fp16" else "float32"
        records.write_record(tmp, record)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return str(out_dir / f"model.ckpt-{step}")


