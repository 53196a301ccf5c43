"""Magenta's own command-line apps, with BGMaker's configs registered first.

setup.py installs these under Magenta's script names (music_vae_train,
music_vae_generate, convert_dir_to_note_sequences), so the commands a user
types see `hierdec-drum_4bar` and keep every one of Magenta's flags. Each
wrapper registers BGMaker's configs (bgmaker_configs.register), then runs
Magenta's own `run()`. The additions:

- music_vae_train: BGMaker's training setup (bgmaker.training.train.
  magenta_train_main: Grappler options, `<run_dir>/hparams.txt`).
- music_vae_generate: `--hparams` (Magenta's generate has no such flag) and,
  without it, the hparams recorded next to the checkpoint (bgmaker.models),
  so a model trained with overrides loads without the user repeating them;
  and one-line errors, exit 2, where Magenta would print a traceback or exit
  0 with nothing written: a checkpoint that does not fit the config, an
  unreadable or unusable input MIDI, and interpolating a beat with itself
  (Magenta's slerp divides by zero and writes empty files).
"""
import importlib
import sys


def _register():
    import bgmaker_configs
    from bgmaker.cli import quiet
    quiet("--verbose" in sys.argv)
    return bgmaker_configs.register()


def convert_dir_to_note_sequences():
    _register()
    importlib.import_module("magenta.scripts.convert_dir_to_note_sequences").console_entry_point()


def music_vae_train():
    from bgmaker.training.train import magenta_train_main
    magenta_train_main(sys.argv)


def music_vae_generate():
    config_map = _register()
    import tensorflow.compat.v1 as tf
    from absl import flags, logging
    from magenta.models.music_vae import music_vae_generate as app

    from bgmaker import models
    from bgmaker.errors import UserError
    from bgmaker.models.records import train_dir

    flags.DEFINE_string(
        "hparams", None,
        "(BGMaker) Comma-separated hparam overrides the checkpoint was trained with. "
        f"Default: read from {models.HPARAMS_FILE} in the run dir / next to the checkpoint, if any.")
    FLAGS = flags.FLAGS

    def main(unused_argv):
        logging.set_verbosity(FLAGS.log)
        try:
            name = FLAGS.config
            if name in config_map and (FLAGS.checkpoint_file or FLAGS.run_dir):
                where = FLAGS.checkpoint_file or str(train_dir(FLAGS.run_dir))
                checkpoint = models.resolve_checkpoint(where)
                config_map[name] = models.config_for(name, checkpoint, FLAGS.hparams)  # one line if it does not fit
            if FLAGS.mode == "interpolate" and name in config_map:
                check_interpolation_inputs(config_map[name], FLAGS.input_midi_1, FLAGS.input_midi_2)
            app.run(config_map)
        except (UserError, ValueError, FileNotFoundError) as e:
            print(f"music_vae_generate: error: {e}", file=sys.stderr)
            sys.exit(2)

    tf.disable_v2_behavior()
    tf.app.run(main)


def check_interpolation_inputs(config, path_1, path_2):
    """UserError, one line, for inputs Magenta's interpolate cannot use or would turn into silence.

    Magenta prints a hint and exits 0 for an input with no example; an input
    equal to the other one (the same 4 bars) makes its slerp 0/0.
    """
    from bgmaker.data.midi import read_midi
    from bgmaker.errors import UserError
    if not path_1 or not path_2:
        return  # Magenta's own message names the missing flag
    converter = config.data_converter
    examples = []
    for flag, path in (("--input_midi_1", path_1), ("--input_midi_2", path_2)):
        ns = read_midi(path)  # UnusableMidiError: empty, truncated, not MIDI, a directory
        tensors = converter.to_tensors(ns).outputs
        if not tensors:
            raise UserError(f"{flag} {path}: no {config.hparams.max_seq_len // 16}-bar drum example this config "
                            f"can read (4/4 drums on MIDI channel 10, long enough)")
        examples.append(tensors)
    if len(examples[0]) == 1 and len(examples[1]) == 1 and (examples[0][0] == examples[1][0]).all():
        raise UserError(f"{path_1} and {path_2} are the same beat: an interpolation needs two different beats")
