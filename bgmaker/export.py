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

ACCEPTS_EXTRA_ARGS = False


def add_arguments(parser):
    parser.add_argument("--run", required=True, help="named run whose checkpoint to export")
    parser.add_argument("--checkpoint", default=None, help="checkpoint prefix or folder (default: latest of the run)")
    parser.add_argument("--output", default=None,
                        help="output folder (default: $BGMAKER_MODELS_DIR/<run>, i.e. models/<run>); an existing "
                             "folder is replaced only if it holds an exported model")


def export(config_name, checkpoint, out_dir, run_dir=None):
    """Write a weights-only checkpoint of `checkpoint` into `out_dir`; return its prefix."""
    import tensorflow.compat.v1 as tf

    import bgmaker_configs  # noqa: F401
    from bgmaker import magenta_apps
    from bgmaker.generate import resolve_checkpoint
    from magenta.models.music_vae import TrainedModel, configs
    from magenta.models.music_vae.configs import update_config

    checkpoint = resolve_checkpoint(checkpoint)
    overrides = magenta_apps.recorded_hparams(checkpoint)
    base = configs.CONFIG_MAP[config_name]
    config = update_config(base, dict(hparams=type(base.hparams)(**base.hparams.values())))
    if overrides:
        config.hparams.parse(overrides)
    step = int(checkpoint.rsplit("-", 1)[1]) if "-" in os.path.basename(checkpoint) else 0

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
    magenta_apps.record_hparams(str(tmp), overrides)
    source_run = Path(run_dir) if run_dir else Path(checkpoint).parent.parent
    if (source_run / "bgmaker_run.json").is_file():
        record = json.loads((source_run / "bgmaker_run.json").read_text())
        record["exported_from"] = os.path.relpath(os.path.abspath(checkpoint), os.path.abspath(out_dir))
        (tmp / "bgmaker_run.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return str(out_dir / f"model.ckpt-{step}")


def main(args):
    from bgmaker_configs import get_run
    run = get_run(args.run)
    out = Path(args.output) if args.output else run.shipped_dir  # $BGMAKER_MODELS_DIR/<run>
    prefix = export(run.name, args.checkpoint or str(run.run_dir / "train"), out, run_dir=run.run_dir)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"exported {prefix} ({size:.1f} MB, weights only)")
    return 0
