"""Every runtime shim BGMaker needs to run Magenta 2.1.4 on Python 3.11 / TF 2.21.

This is the only module that patches third-party code. Each shim names its
cause and has a test in tests/test_compat.py that shows it is needed or that
the path it guards works. `apply()` is idempotent and is called by
`bgmaker_configs` before Magenta is imported, so importing the configs package
is enough to get a working Magenta.
"""
import os
import sys

_applied = False


def apply():
    """Apply every shim (safe to call many times)."""
    global _applied
    if _applied:
        return
    use_legacy_keras()
    quiet_pydub_ffmpeg_warning()
    restore_numpy_bool()
    avoid_zero_depth_unbatch()
    _applied = True


def use_legacy_keras():
    """Make `tf.keras` resolve to Keras 2 (the tf-keras package).

    Cause: TF >= 2.16 ships Keras 3 as `tf.keras`; Magenta's RNN cells
    (`tf.compat.v1.nn.rnn_cell`, tf_slim layers, `tf.layers.Dense`) are Keras 2
    objects and fail under Keras 3. TensorFlow reads TF_USE_LEGACY_KERAS when
    Keras is first loaded, so this must run before TensorFlow is imported.
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if os.environ["TF_USE_LEGACY_KERAS"] not in ("1", "true", "True"):
        raise RuntimeError(
            "TF_USE_LEGACY_KERAS=%r: Magenta needs Keras 2; unset it or set it to 1"
            % os.environ["TF_USE_LEGACY_KERAS"])
    tf = sys.modules.get("tensorflow")
    if tf is not None and "keras" in tf.__dict__ and not tf.__dict__["keras"].__name__.startswith("tf_keras"):
        raise RuntimeError(
            "TensorFlow loaded Keras 3 before bgmaker could select Keras 2: "
            "import bgmaker_configs before using tf.keras, or set TF_USE_LEGACY_KERAS=1")


def quiet_pydub_ffmpeg_warning():
    """Silence pydub's import-time "Couldn't find ffmpeg" RuntimeWarning.

    Cause: note_seq imports pydub for MP3 helpers we never call; without
    ffmpeg installed pydub warns on every command. Only that one message is
    filtered.
    """
    import warnings
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)


def restore_numpy_bool():
    """Provide `np.bool` where numpy lacks it.

    Cause: numpy 1.24-1.26 removed the `np.bool` alias (numpy 2 brought it back
    as `np.bool_`). Magenta's data.py uses `np.bool` in default arguments, so
    it must exist before `magenta.models.music_vae.data` is imported.
    """
    import numpy as np
    if not hasattr(np, "bool"):
        np.bool = np.bool_


def avoid_zero_depth_unbatch():
    """Feed `Dataset.unbatch()` a [n, len, 1] controls tensor instead of [n, len, 0].

    Cause: in TF 2.15-2.21 `tf.data.Dataset.unbatch()` segfaults on a component
    with a zero-size dimension, and Magenta's `get_dataset` unbatches the output
    of `convert_to_tensors_op`, whose controls are [n, len, 0] for converters
    without controls (DrumsConverter). The replacement zeros are never read:
    music_vae_train drops controls when `data_converter.control_depth == 0`,
    and nothing else consumes `get_dataset`'s controls.
    """
    import tensorflow as tf
    from magenta.models.music_vae import data

    original = data.convert_to_tensors_op
    if getattr(original, "_bgmaker_shim", False):
        return

    def convert_to_tensors_op(item_scalar, converter):
        inputs, outputs, controls, lengths = original(item_scalar, converter)
        if converter.control_depth == 0:
            shape = tf.concat([tf.shape(controls)[:2], [1]], axis=0)
            controls = tf.zeros(shape, dtype=controls.dtype)
            controls.set_shape([None, None, 1])
        return inputs, outputs, controls, lengths

    convert_to_tensors_op._bgmaker_shim = True
    convert_to_tensors_op.__doc__ = original.__doc__
    data.convert_to_tensors_op = convert_to_tensors_op
