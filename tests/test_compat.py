"""Each shim in bgmaker.compat: the failure it prevents, and the path it guards.

The "needed" tests run plain TensorFlow/Magenta in a subprocess without the
shim and expect the documented failure; if one starts passing after an
upgrade, the shim can go.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def python(code, **env):
    import os
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    full_env.pop("TF_USE_LEGACY_KERAS", None)
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, env=full_env)


BUILD_LSTM = """
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from magenta.models.music_vae import lstm_utils
    x = tf.placeholder(tf.float32, [2, 5, 3])
    out, _ = tf.nn.dynamic_rnn(lstm_utils.rnn_cell([4], 1.0, False), x, dtype=tf.float32)
    print("built", out.shape)
"""


def test_keras3_breaks_magenta_rnn_cells():
    proc = python(BUILD_LSTM, TF_USE_LEGACY_KERAS="0")
    assert proc.returncode != 0
    assert "not available with Keras 3" in proc.stderr


def test_legacy_keras_shim_lets_magenta_build_lstm():
    proc = python("import bgmaker_configs; bgmaker_configs.register()\n" + textwrap.dedent(BUILD_LSTM) + "\nprint(tf.keras.__name__)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "built (2, 5, 4)" in proc.stdout
    assert "tf_keras" in proc.stdout


def test_keras3_request_is_refused_with_clear_message():
    proc = python("import bgmaker_configs; bgmaker_configs.register()", TF_USE_LEGACY_KERAS="0")
    assert proc.returncode != 0
    assert "Magenta needs Keras 2" in proc.stderr


UNBATCH_ZERO_DEPTH = """
    import tensorflow as tf
    ds = tf.data.Dataset.from_tensors((tf.ones([3, 64, 9]), tf.zeros([3, 64, 0]))).unbatch()
    print(sum(1 for _ in ds))
"""


def test_unbatch_of_zero_size_component_crashes_tensorflow():
    proc = python(UNBATCH_ZERO_DEPTH)
    assert proc.returncode == -11, (
        f"TF no longer segfaults here (exit {proc.returncode}); the unbatch shim may be removable")


def test_get_dataset_runs_for_drums_with_shim(tmp_path):
    """Magenta's own get_dataset on DrumsConverter examples: batches, controls never used."""
    proc = python(f"""
        import sys
        import bgmaker_configs
        bgmaker_configs.register()  # compat shims + configs, before Magenta
        import tensorflow as tf
        from magenta.models.music_vae import configs, data
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import drum_midi
        path = {str(tmp_path / 'ns.tfrecord')!r}
        with tf.io.TFRecordWriter(path) as w:
            for i in range(3):
                w.write(drum_midi.rock_beat(bars=8, variant=i).SerializeToString())
        config = configs.update_config(bgmaker_configs.register()['hierdec-drum_4bar'],
                                       dict(eval_examples_path=path))
        config.hparams.batch_size = 2
        inputs, outputs, controls, lengths = next(iter(data.get_dataset(config, is_training=False)))
        print(tuple(inputs.shape), tuple(outputs.shape), tuple(controls.shape), lengths.numpy().tolist())
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(2, 64, 10) (2, 64, 512) (2, 64, 1) [64, 64]" in proc.stdout


def test_numpy_without_bool_alias_breaks_magenta_and_shim_restores_it():
    drop_alias = "import numpy as np\nif hasattr(np, 'bool'): del np.bool\n"
    use_magenta = "from magenta.models.music_vae import data\nprint(data.np_onehot([1, 2], 3).dtype)\n"
    broken = python(drop_alias + "import os; os.environ['TF_USE_LEGACY_KERAS']='1'\n" + use_magenta)
    assert broken.returncode != 0 and "bool" in broken.stderr
    fixed = python(drop_alias + "import bgmaker_configs; bgmaker_configs.register()\n" + use_magenta)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert fixed.stdout.strip().endswith("bool")


def test_apply_is_idempotent():
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from bgmaker import compat
    from magenta.models.music_vae import data
    before = data.convert_to_tensors_op
    compat.apply()
    compat._applied = False
    compat.apply()
    assert data.convert_to_tensors_op is before
