"""Reproducible temperature sampling for MusicVAE's categorical decoders.

Why: Magenta's CategoricalLstmDecoder draws every 16th-note step from tfp's
OneHotCategorical, whose randomness comes from stateful TensorFlow random ops:
the same z decodes differently on every call, the noise depends on how many
runs came before in the process and on the beat's row in the batch, and a
graph seed only fixes the first run after loading.

Here a decoded beat is a pure function of (z, temperature, seed, its key). Each
step is an exact draw from softmax(logits / T) by inverse-CDF sampling, with its
one uniform number taken from an integer hash of (seed, the row's key, the step
number). The caller sets the seed and one key per row and the step counter
restarts at 0 before every run, so the noise follows the item, not its batch
position. BeatGenerator keys a prior sample by its z's bytes (`row_keys`) and a
beat that starts from a file by the bytes of its window (`generator.item_key`),
not by its encoded z, whose low bits change with the batch size: so
`decode([z_a, z_b])[1] == decode([z_b])[0]`, an interpolation's endpoints are
exactly the inputs' reconstructions, and the batch size is only a speed knob. (Keying on the logits' bits instead does not work: TensorFlow's
CPU matmul rounds differently for rows in different positions of a batch.)

The step counter relies on the decoder steps running one after another, which
holds for our configs: autoregressive decoders, where every step's input is
the previous step's sample (a hierarchical decoder with
`disable_autoregression=True` would race).

Only sampling is replaced; the trained variables and the rest of the graph are
Magenta's. Use `seeded_config(config)` before building a TrainedModel and
`key_setter(session)` to set the keys before each decoder run. Scoring graphs
(bgmaker.evaluation.scoring) use `logit_keyed_model(model, seed)` instead.
Putting these decoders in place of Magenta's inside a built model is a patch,
so it lives in bgmaker.compat (`recast_categorical_decoders`); this module
holds the sampling itself. Import it after `bgmaker.compat.apply()`.
"""
import copy
import zlib

import numpy as np

from bgmaker import compat

# The decoders below subclass Magenta's, which cannot be imported on TF 2.21 without the shims;
# the shims are applied where a model is built (BeatGenerator, bgmaker_configs.register), not here.
compat.require_applied(__name__)

import tensorflow.compat.v1 as tf  # noqa: E402
from magenta.models.music_vae import lstm_models  # noqa: E402

_COLLECTION = "bgmaker_sampling_keys"
_MASK32 = 0xFFFFFFFF


def _mix32(x):
    """A 32-bit integer hash (xor-shift-multiply rounds) on int64 tensors holding uint32s."""
    for _ in range(2):
        x = tf.bitwise.bitwise_and(
            tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16)) * 0x45D9F3B, _MASK32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def row_keys(z):
    """A 32-bit key per latent vector: the CRC of its float32 bytes."""
    z = np.ascontiguousarray(z, dtype=np.float32)
    return np.array([zlib.crc32(row.tobytes()) for row in z], dtype=np.int64)


def _key_variables(batch_size):
    """(seed, row keys [batch_size], step counter): local, uncheckpointed variables, one set per graph."""
    graph = tf.get_default_graph()
    found = graph.get_collection(_COLLECTION)
    if found:
        return found
    with tf.name_scope(None):
        def variable(name, shape):
            return tf.Variable(tf.zeros(shape, tf.int64), trainable=False, use_resource=True,
                               name=f"bgmaker_sampling_{name}",
                               collections=[tf.GraphKeys.LOCAL_VARIABLES, _COLLECTION])
        return [variable("seed", []), variable("row_keys", [batch_size]), variable("step", [])]


def key_setter(session):
    """`set_keys(seed, keys)`: seed the next decoder run of `session`, one key per row (one tiny run)."""
    with session.graph.as_default():
        seed_var, rows_var, step_var = session.graph.get_collection(_COLLECTION)
        seed_in = tf.placeholder(tf.int64, [], name="bgmaker_sampling_seed_in")
        rows_in = tf.placeholder(tf.int64, rows_var.shape, name="bgmaker_sampling_rows_in")
        assign = tf.group(seed_var.assign(seed_in), rows_var.assign(rows_in), step_var.assign(0))
    batch_size = int(rows_var.shape[0])

    def set_keys(seed, keys):
        padded = np.zeros(batch_size, np.int64)
        padded[:len(keys)] = np.asarray(keys, np.int64) & _MASK32
        session.run(assign, {seed_in: int(seed) & _MASK32, rows_in: padded})

    return set_keys


def _inverse_cdf_sample(rnn_output, temperature, h, output_depth):
    """One-hot draws from softmax(rnn_output / T), the uniform number of each row from its hash h [batch]."""
    # The 24 high bits -> a uniform strictly inside (0, 1), exact in float32.
    u = (tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) + 0.5) / float(1 << 24)
    cdf = tf.cumsum(tf.nn.softmax(rnn_output / temperature), axis=-1)
    below = tf.cast(cdf < u[:, None] * cdf[:, -1:], tf.int32)  # scaled: the cdf may end at 1 - eps
    choice = tf.minimum(tf.reduce_sum(below, axis=-1), output_depth - 1)
    return tf.one_hot(choice, output_depth, dtype=tf.float32)


class SeededCategoricalLstmDecoder(lstm_models.CategoricalLstmDecoder):
    """CategoricalLstmDecoder whose `_sample` is a hash-keyed inverse-CDF draw."""

    def build(self, hparams, output_depth, is_training=True):
        super().build(hparams, output_depth, is_training)
        self._keys = _key_variables(hparams.batch_size)

    def _sample(self, rnn_output, temperature=1.0):
        seed_var, rows_var, step_var = self._keys
        # The step must follow this step's logits, which follow the previous sample.
        with tf.control_dependencies([rnn_output]):
            step = step_var.assign_add(1)
        row = _mix32(tf.bitwise.bitwise_xor(_mix32(rows_var.read_value()), _mix32(seed_var.read_value())))
        h = _mix32(tf.bitwise.bitwise_xor(row, _mix32(step + 0x9E3779B1)))
        return _inverse_cdf_sample(rnn_output, temperature, h, self._output_depth)


class LogitKeyedCategoricalLstmDecoder(lstm_models.CategoricalLstmDecoder):
    """CategoricalLstmDecoder whose `_sample` draws with a hash of (seed, the bits of the row's logits).

    For scoring graphs (bgmaker.evaluation.scoring's free-running mode), where
    the hierarchical decoder runs its 8 segment loops side by side: a shared
    step counter would race, and Magenta's stateful sampler gives a
    different draw on every run. A hash of the logits needs no state: the
    same window in the same batch position has the same logits to the bit
    on every run on one machine (not across batch positions, which is why
    BeatGenerator keys on z instead). `sampling_seed` is set by
    logit_keyed_model.
    """

    sampling_seed = 0

    def _sample(self, rnn_output, temperature=1.0):
        bits = tf.bitwise.bitwise_and(tf.cast(tf.bitcast(rnn_output, tf.int32), tf.int64), _MASK32)
        position = tf.range(tf.shape(rnn_output)[-1], dtype=tf.int64)
        mixed = _mix32(tf.bitwise.bitwise_xor(bits, _mix32(position + 0x9E3779B1)))
        row = tf.bitwise.bitwise_and(tf.reduce_sum(mixed, axis=-1), _MASK32)  # order-free, < 2^41: no overflow
        h = _mix32(tf.bitwise.bitwise_xor(row, _mix32(tf.constant(self.sampling_seed & _MASK32, tf.int64))))
        return _inverse_cdf_sample(rnn_output, temperature, h, self._output_depth)


def _swap_decoders(model, cls):
    """Give every plain CategoricalLstmDecoder inside `model` the subclass `cls`; return them.

    The class rewrite is a patch of Magenta's objects, so it is compat's
    (`recast_categorical_decoders`); a model without such a decoder is ours to refuse.
    """
    swapped = compat.recast_categorical_decoders(model, cls)
    if not swapped:
        raise ValueError("this model's decoder is not a CategoricalLstmDecoder; "
                         "BeatGenerator only supports categorical drum models")
    return swapped


def logit_keyed_model(model, seed):
    """A deep copy of a MusicVAE model whose categorical decoders sample by LogitKeyedCategoricalLstmDecoder."""
    model = copy.deepcopy(model)
    for decoder in _swap_decoders(model, LogitKeyedCategoricalLstmDecoder):
        decoder.sampling_seed = int(seed)
    return model


def seeded_config(config):
    """A deep copy of a Magenta Config whose categorical decoders sample reproducibly.

    Gives each plain CategoricalLstmDecoder of the model the seeded subclass
    (_swap_decoders). Raises ValueError when the model has no such decoder
    (e.g. a multi-track or NADE model).
    """
    config = copy.deepcopy(config)
    _swap_decoders(config.model, SeededCategoricalLstmDecoder)
    return config
