"""The naive reconstruction networks of the first experiments, in Keras (tf_keras), as a named registry.

Like Magenta's `configs.CONFIG_MAP`, `EXPERIMENTS[name]` is data: an `Experiment` says which
architecture (`build`), which loss, how many epochs the original ran and how many we run, and which
fixes (if any) it adds over an original row. Every tool (train, table, tests) looks a model up by name.

The original table was PyTorch. Its parameter counts pin the shapes (see the tests):

- a PyTorch RNN/LSTM layer has two bias vectors (b_ih, b_hh), Keras one, so
  PyTorch-convention count = Keras trainable count + gates x units per recurrent layer
  (gates: 1 for a plain RNN, 4 for an LSTM) -- `pytorch_convention_count`;
- BatchNorm's running mean/variance are buffers in PyTorch and non-trainable weights in
  Keras: the trainable counts agree;
- conv layers agree (one bias each).

The models map a window [steps, keys] to [steps, keys] (keys = 88 piano keys or 9 drums): a
sequence-to-sequence reconstruction with no bottleneck in time, as the originals were.

Importing this module loads no Keras: the registry is plain data, and Keras is loaded where a network
is built (`load_keras`).
"""
import functools
from dataclasses import dataclass, field

import numpy as np

from bgmaker import compat

# The original table, verbatim (PyTorch counts at 88 keys; loss is the last reported value).
ORIGINAL_ROWS = {
    "01": dict(model="Naive VAE, five DoubleConv blocks in encoder and decoder", params=7_068_879,
               epochs=100, loss="NaN", notes="predicted probabilities all too low: almost no notes"),
    "02": dict(model="Naive RNN, five RNN layers each side, hidden 64, L2", params=119_344, epochs=100,
               loss="0.0052", notes="best at epoch 50; output mostly one note"),
    "03": dict(model="Naive LSTM, five LSTM layers each side, hidden 128, L2", params=967_360, epochs=100,
               loss="0.0092", notes="best at epoch 97"),
    "04": dict(model="same as 03", params=967_360, epochs=200, loss="0.0057",
               notes="learned something about chords, still messy"),
    "04.3": dict(model="04 + batch norm between layers", params=967_362, epochs=100, loss="0.0062",
                 notes="BCE would not converge; lr 0.001 made the loss plateau"),
    "05": dict(model="two stacked LSTM blocks of 3 layers, hidden [128, 256], batch norm, L2", params=2_487_622,
               epochs=100, loss="0.0060", notes="more monotone but steadier"),
}

KEYS = "keys"  # in a block list: "as many units as the data has keys" (88 piano keys, 9 drums)


# ----------------------------------------------------------------------------------------------------------
# Building blocks

def load_keras():
    """tf_keras, with Keras 2 chosen for the process first.

    TensorFlow fixes its Keras for the process when Keras first loads; Keras 2 (compat.use_legacy_keras)
    lets these networks and MusicVAE share a process (the tests, a notebook). Called where a network is
    built or trained, not at import, so that importing the experiments changes nothing.
    """
    compat.use_legacy_keras()
    import tf_keras
    return tf_keras


@functools.cache
def custom_layers():
    """(ScalarBatchNorm, KeyAffine), defined on first use: a subclass of tf_keras' Layer needs tf_keras loaded."""
    import tensorflow as tf
    keras = load_keras()
    layers = keras.layers

    class ScalarBatchNorm(layers.Layer):
        """PyTorch's BatchNorm1d(1) between recurrent layers: one mean/variance over batch, time and units.

        y = gamma (x - mean) / sqrt(var + eps) + beta with scalar gamma, beta (2 trainable parameters, as the
        original counts say: +2 per batch norm); running mean/var are Keras' non-trainable weights.
        """

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.norm = layers.BatchNormalization(axis=-1, momentum=0.9, epsilon=1e-5)

        def call(self, x, training=None):
            return tf.squeeze(self.norm(x[..., None], training=training), -1)

    class KeyAffine(layers.Layer):
        """logit[k] = w[k] * h[k] + b[k]: turns a recurrent output in (-1, 1) into a per-key logit.

        Only the BCE rows use it (a tanh-bounded output cannot reach a confident probability through a
        sigmoid); 2 x keys parameters, counted in those rows.
        """

        def build(self, shape):
            self.w = self.add_weight(name="w", shape=(shape[-1],), initializer=keras.initializers.Constant(4.0))
            self.b = self.add_weight(name="b", shape=(shape[-1],), initializer="zeros")

        def call(self, h):
            return h * self.w + self.b

    return ScalarBatchNorm, KeyAffine


def double_conv(x, filters, name, relu_out=True):
    """U-Net's DoubleConv: (3x3 conv with bias -> BatchNorm -> ReLU) twice.

    relu_out=False drops the last ReLU (the fixed VAE's output block, whose output is a logit).
    """
    layers = load_keras().layers
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn{i}")(x)
        if i == 1 or relu_out:
            x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


# ----------------------------------------------------------------------------------------------------------
# Architectures

def stacked_rnn(keys, steps, cell="lstm", blocks=((128, 5), (KEYS, 5)), batch_norm=False, logits=False):
    """Recurrent blocks, each `layers` layers of `units` (KEYS: the data's key count), all returning sequences.

    batch_norm: a ScalarBatchNorm between consecutive blocks. The output is the last layer's hidden
    state (what PyTorch's nn.LSTM/nn.RNN returns: tanh-bounded), read directly under L2; with
    logits=True a KeyAffine head makes it a logit for BCE.
    """
    keras = load_keras()
    layers = keras.layers
    ScalarBatchNorm, KeyAffine = custom_layers()
    rnn = {"lstm": layers.LSTM, "rnn": layers.SimpleRNN}[cell]
    inputs = keras.Input((steps, keys), name="roll")
    x = inputs
    for b, (units, n_layers) in enumerate(blocks):
        if b and batch_norm:
            x = ScalarBatchNorm(name=f"bn{b}")(x)
        for i in range(n_layers):
            x = rnn(keys if units == KEYS else units, return_sequences=True, name=f"{cell}{b}_{i}")(x)
    if logits:
        x = KeyAffine(name="logit")(x)
    return keras.Model(inputs, x, name=f"stacked_{cell}")


VAE_FILTERS = (32, 64, 128, 256, 512)


def _pad_to(n, multiple):
    return -n % multiple


def doubleconv_vae(keys, steps, fixed=False, filters=VAE_FILTERS):
    """Five DoubleConv blocks down (max-pool 2x2 between), five up (nearest upsampling 2x2 between).

    The roll is an image [steps, keys, 1], zero-padded to a multiple of 16 on both axes (four pools)
    and cropped back. Encoder: DoubleConv(1->32), (32->64), (64->128), (128->256), (256->512);
    decoder: DoubleConv(512->256), (256->128), (128->64), (64->32), (32->1). At 88 keys with conv
    biases and BatchNorm this is exactly the original's 7,068,879 parameters -- which leaves no
    parameter for a latent projection. So the original (fixed=False) took mu and log sigma^2
    parameter-free from the encoder's 512-channel map h; we take both = h, the only parameter-free
    choice that feeds DoubleConv(512->256). Its output is the last block's ReLU (>= 0), read under L2.

    fixed=True (row 01-fix): separate 1x1-conv heads for mu and log sigma^2 (+525,312 parameters), the
    output block without its last ReLU (a logit for BCE). Log-variance clamping is in the loss.

    Returns (encoder: x -> (mu, logvar), decoder: z -> output).
    """
    keras = load_keras()
    layers = keras.layers
    pad_t, pad_k = _pad_to(steps, 16), _pad_to(keys, 16)
    x_in = keras.Input((steps, keys), name="roll")
    x = layers.Reshape((steps, keys, 1))(x_in)
    x = layers.ZeroPadding2D(((0, pad_t), (0, pad_k)))(x)
    for i, f in enumerate(filters):
        if i:
            x = layers.MaxPool2D(2, name=f"pool{i}")(x)
        x = double_conv(x, f, name=f"enc{i}")
    if fixed:
        mu = layers.Conv2D(filters[-1], 1, name="mu")(x)
        logvar = layers.Conv2D(filters[-1], 1, name="logvar")(x)
    else:
        mu = logvar = x
    encoder = keras.Model(x_in, [mu, logvar], name="encoder")

    latent_shape = tuple(mu.shape[1:])
    z_in = keras.Input(latent_shape, name="z")
    y = z_in
    up_filters = list(filters[-2::-1]) + [1]  # 256, 128, 64, 32, 1
    for i, f in enumerate(up_filters):
        if i:
            y = layers.UpSampling2D(2, name=f"up{i}")(y)
        y = double_conv(y, f, name=f"dec{i}", relu_out=not (fixed and i == len(up_filters) - 1))
    y = layers.Cropping2D(((0, pad_t), (0, pad_k)))(y)
    y = layers.Reshape((steps, keys))(y)
    decoder = keras.Model(z_in, y, name="decoder")
    return encoder, decoder


# ----------------------------------------------------------------------------------------------------------
# The registry

@dataclass(frozen=True)
class Experiment:
    """One row: an architecture, its loss and schedule, and what it fixes over an original row.

    loss: "l2" (mean squared error of the output against the 0/1 roll), "bce" (binary cross-entropy on
    logits, positives weighted by the training set's negatives/positives ratio), "vae_l2" (L2 + KL,
    beta 1, as the original), "vae_bce" (weighted BCE + KL with warm-up and log-variance clamping).
    epochs: the original's; run_epochs: ours (CPU-scaled), in epochs of at most `train.EPOCH_WINDOWS`.
    """
    name: str
    row: str                      # the original row it reproduces or fixes
    description: str
    arch: str                     # "rnn" | "vae"
    arch_kwargs: dict
    loss: str
    epochs: int
    run_epochs: int
    learning_rate: float = 1e-3
    clipnorm: float = None        # gradient clipping by global norm
    lr_warmup_epochs: int = 0     # linear warm-up of the learning rate
    reduce_lr_on_plateau: bool = False
    early_stopping_patience: int = None
    kl_warmup_epochs: int = 0
    logvar_clamp: tuple = None
    fixes: tuple = field(default_factory=tuple)

    @property
    def is_vae(self):
        return self.arch == "vae"

    @property
    def output_is_logit(self):
        return self.loss in ("bce", "vae_bce")


def build(experiment, keys, steps):
    """The Keras model(s) of an experiment: a Model, or (encoder, decoder) for a VAE."""
    if experiment.is_vae:
        return doubleconv_vae(keys, steps, **experiment.arch_kwargs)
    return stacked_rnn(keys, steps, **experiment.arch_kwargs)


def _models(built):
    return built if isinstance(built, tuple) else (built,)


def keras_counts(built):
    """{"trainable", "non_trainable"} parameter counts as Keras reports them (summed over the models)."""
    trainable = sum(int(np.sum([np.prod(w.shape) for w in m.trainable_weights])) for m in _models(built))
    non_trainable = sum(int(np.sum([np.prod(w.shape) for w in m.non_trainable_weights] or [0]))
                        for m in _models(built))
    return dict(trainable=trainable, non_trainable=non_trainable)


def pytorch_convention_count(built):
    """The count PyTorch would print for the same model: Keras trainable + one more bias per recurrent layer.

    PyTorch's RNN/LSTM carry b_ih and b_hh (gates x units each), Keras one bias, so each recurrent
    layer adds gates x units (SimpleRNN: 1 gate, LSTM: 4). BatchNorm statistics are buffers in PyTorch
    (not parameters) and non-trainable in Keras; conv and dense layers agree.
    """
    layers = load_keras().layers
    extra = 0
    for m in _models(built):
        for layer in m.layers:
            if isinstance(layer, layers.LSTM):
                extra += 4 * layer.units
            elif isinstance(layer, layers.SimpleRNN):
                extra += layer.units
    return keras_counts(built)["trainable"] + extra


LSTM_5_5 = dict(cell="lstm", blocks=((128, 5), (KEYS, 5)))
LSTM_STACKED = dict(cell="lstm", blocks=((128, 3), (256, 3), (128, 3), (KEYS, 3)), batch_norm=True)

# Epochs are scaled to the CPU: 100 original epochs -> 6 of ours, 200 -> 12 (epochs of at most
# train.EPOCH_WINDOWS windows each); the VAE, ~10x the compute per window, 100 -> 3.
EXPERIMENTS = {e.name: e for e in [
    Experiment("01", "01", ORIGINAL_ROWS["01"]["model"], "vae", dict(fixed=False), "vae_l2", 100, 3),
    Experiment("02", "02", ORIGINAL_ROWS["02"]["model"], "rnn", dict(cell="rnn", blocks=((64, 5), (KEYS, 5))),
               "l2", 100, 6),
    Experiment("03", "03", ORIGINAL_ROWS["03"]["model"], "rnn", LSTM_5_5, "l2", 100, 6),
    Experiment("04", "04", "03 trained twice as long", "rnn", LSTM_5_5, "l2", 200, 12),
    Experiment("04.3", "04.3", ORIGINAL_ROWS["04.3"]["model"], "rnn", dict(LSTM_5_5, batch_norm=True), "l2", 100, 6),
    Experiment("05", "05", ORIGINAL_ROWS["05"]["model"], "rnn", LSTM_STACKED, "l2", 100, 6),
    # The fixes, each an extra row beside the original it fixes.
    Experiment("01-fix", "01", "01 with mu/log-variance heads, log-variance clamped to [-6, 2], KL warm-up, "
               "gradient clipping (global norm 1), weighted BCE", "vae", dict(fixed=True), "vae_bce", 100, 3,
               clipnorm=1.0, kl_warmup_epochs=2, logvar_clamp=(-6.0, 2.0),
               fixes=("log-variance heads + clamp", "KL warm-up", "gradient clipping", "weighted BCE")),
    Experiment("03-fix", "03", "03 with positive-weighted BCE (per-key logit head)", "rnn",
               dict(LSTM_5_5, logits=True), "bce", 100, 6, fixes=("weighted BCE",)),
    Experiment("04.3-fix", "04.3", "04.3 with weighted BCE, lr warm-up, ReduceLROnPlateau, gradient clipping, "
               "early stopping", "rnn", dict(LSTM_5_5, batch_norm=True, logits=True), "bce", 100, 12,
               clipnorm=1.0, lr_warmup_epochs=1, reduce_lr_on_plateau=True, early_stopping_patience=3,
               fixes=("weighted BCE", "lr warm-up", "ReduceLROnPlateau", "gradient clipping", "early stopping")),
]}
