"""Magenta's own command-line apps, with BGMaker's configs registered first.

setup.py installs these under Magenta's script names (music_vae_train,
music_vae_generate, convert_dir_to_note_sequences), so the commands a user
types see `hierdec-drum_4bar` and keep every one of Magenta's flags. Each
wrapper imports bgmaker_configs, then runs Magenta's own `run()`; the only
additions are:

- music_vae_train sets BGMaker's Grappler options (bgmaker.train.prepare)
  and writes `<run_dir>/hparams.txt`, the hparam overrides it was
  started with, because a checkpoint cannot be loaded without them and
  Magenta records them nowhere a tool can read back;
- music_vae_generate accepts `--hparams` (Magenta's generate has no such flag)
  and, without it, reads that file next to the checkpoint, so a model trained
  with overrides loads without the user repeating them (all but
  `lstm_precision`, which is about the training machine).
"""
import importlib
import os

HPARAMS_FILE = "hparams.txt"


def _run_magenta_app(module_name):
    import bgmaker_configs  # noqa: F401  (applies the compat shims, registers configs)
    importlib.import_module(module_name).console_entry_point()


def convert_dir_to_note_sequences():
    _run_magenta_app("magenta.scripts.convert_dir_to_note_sequences")


def music_vae_train():
    import bgmaker_configs  # noqa: F401
    import tensorflow.compat.v1 as tf
    from absl import flags
    from magenta.models.music_vae import configs, music_vae_train as app

    from bgmaker.train import prepare

    def main(unused_argv):
        tf.logging.set_verbosity(flags.FLAGS.log)
        prepare()  # Grappler settings for Magenta's session
        if flags.FLAGS.run_dir:
            record_hparams(os.path.expanduser(flags.FLAGS.run_dir), flags.FLAGS.hparams)
        app.run(configs.CONFIG_MAP)

    tf.disable_v2_behavior()
    tf.app.run(main)


def music_vae_generate():
    import bgmaker_configs  # noqa: F401
    import tensorflow.compat.v1 as tf
    from absl import flags, logging
    from magenta.models.music_vae import configs, music_vae_generate as app

    flags.DEFINE_string(
        "hparams", None,
        "(BGMaker) Comma-separated hparam overrides the checkpoint was trained with. "
        f"Default: read from {HPARAMS_FILE} in the run dir / next to the checkpoint, if any.")

    def main(unused_argv):
        logging.set_verbosity(flags.FLAGS.log)
        name = flags.FLAGS.config
        if name in configs.CONFIG_MAP:
            overrides = flags.FLAGS.hparams
            if overrides is None:
                overrides = recorded_hparams(flags.FLAGS.run_dir or flags.FLAGS.checkpoint_file)
            if overrides:
                configs.CONFIG_MAP[name].hparams.parse(overrides)
        app.run(configs.CONFIG_MAP)

    tf.disable_v2_behavior()
    tf.app.run(main)


def record_hparams(run_dir, overrides):
    """Write the hparam override string a run was trained with."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, HPARAMS_FILE), "w") as f:
        f.write((overrides or "") + "\n")


def recorded_hparams(run_dir_or_checkpoint):
    """The override string recorded for a run dir, its train/ dir or a checkpoint in it."""
    if not run_dir_or_checkpoint:
        return ""
    path = os.path.abspath(os.path.expanduser(run_dir_or_checkpoint))
    start = path if os.path.isdir(path) else os.path.dirname(path)
    for folder in (start, os.path.dirname(start)):
        candidate = os.path.join(folder, HPARAMS_FILE)
        if os.path.isfile(candidate):
            with open(candidate) as f:
                return _without_training_only(f.read().strip())
    return ""


# hparams about how a model was trained, not what it is: generation does not inherit them
# (lstm_precision: it picks its own, auto; shuffle_buffer: only training shuffles).
TRAINING_ONLY_HPARAMS = ("lstm_precision", "shuffle_buffer")


def _without_training_only(overrides):
    """Drop TRAINING_ONLY_HPARAMS from a recorded override string."""
    from bgmaker.train import split_hparams
    kept = {k: v for k, v in split_hparams(overrides).items() if k not in TRAINING_ONLY_HPARAMS}
    return ",".join(f"{k}={v}" for k, v in kept.items())
