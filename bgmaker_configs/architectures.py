"""BGMaker's models, registered into Magenta's `configs.CONFIG_MAP`.

The 4-bar drum models use the hparams of Magenta's `cat-drums_2bar_small`
stretched to 4 bars (max_seq_len 64) with z_size 512, and Magenta's
DrumsConverter on the 9 reduced drum classes. `cat-drums_4bar` is the flat
baseline with the same data and hparams, so the hierarchical decoder can be
compared with it.

The humanize models (`groovae-humanize_2bar`, `groovae-humanize_4bar`) are
Magenta's `groovae_2bar_humanize` (Gillick et al. 2019: BidirectionalLstmEncoder
+ GrooveLstmDecoder, GrooveConverter(humanize=True), its hparams) on BGMaker's
9 drum classes and expressive windows of 2 or 4 bars (bgmaker.data.windows).
"""
from bgmaker import compat

# Magenta 2.1.4 cannot even be imported on TF 2.21 without the compat shims
# (Keras 2, np.bool). Importing patches nothing: the shims are the explicit
# compat.apply(), which bgmaker_configs.register() and Run.magenta_config()
# call before importing this module; imported earlier, it says so.
compat.require_applied(__name__)

from magenta.common import merge_hparams  # noqa: E402
from magenta.contrib import training as contrib_training  # noqa: E402
from magenta.models.music_vae import base_model, configs, data, lstm_models  # noqa: E402

NONFINITE_LOSS_MESSAGE = "BGMaker: training loss is NaN or Inf"

from bgmaker.drums import BARS, STEPS, STEPS_PER_BAR, STEPS_PER_QUARTER  # noqa: E402,F401  (the one grid definition)
from bgmaker_configs import MODEL_WINDOWS as WINDOWS, TINY_HPARAMS as _TINY  # noqa: E402

TINY_HPARAMS = _TINY  # defined beside the run tables (no Magenta); still importable from here

class _StopOnNonFiniteLoss:
    """Wraps the optimizer MusicVAE.train returns so every gradient waits on a finite loss.

    Why here: Magenta's training loop has no NaN check (and its global-norm
    clipping turns NaN gradients into silent zero updates), and its hooks
    are built inside music_vae_train.train. The check must gate the
    gradients: a check_numerics on the loss alone would never run, because
    backprop does not need the loss value. When the loss is not finite the
    step fails before any variable changes, so no bad checkpoint is written.
    """

    def __init__(self, optimizer):
        self._optimizer = optimizer

    def compute_gradients(self, loss, *args, **kwargs):
        import tensorflow.compat.v1 as tf
        grads_and_vars = self._optimizer.compute_gradients(loss, *args, **kwargs)
        check = tf.debugging.check_numerics(loss, NONFINITE_LOSS_MESSAGE)
        with tf.control_dependencies([check]):
            return [(tf.identity(g) if isinstance(g, tf.Tensor) else g, v) for g, v in grads_and_vars]

    def __getattr__(self, name):
        return getattr(self._optimizer, name)


class MusicVAE(base_model.MusicVAE):
    """Magenta's MusicVAE whose training stops on a NaN or Inf loss, with a choice of LSTM cell.

    The hparam `lstm_precision` (auto, fp32, fp32-matmul, bf16) picks the cell
    every LSTM is built with (bgmaker.compat.lstm_precision); it changes no
    variable, so any checkpoint loads with any value.
    """

    def build(self, hparams, output_depth, is_training=True):
        with compat.lstm_precision(hparams.values().get("lstm_precision", "fp32")) as precision:
            self.lstm_precision = precision
            return super().build(hparams, output_depth, is_training)

    def train(self, *args, **kwargs):
        return _StopOnNonFiniteLoss(super().train(*args, **kwargs))


HPARAMS = dict(
    batch_size=512,
    max_seq_len=STEPS,
    z_size=512,
    enc_rnn_size=[512],
    dec_rnn_size=[256, 256],
    free_bits=48,
    max_beta=0.2,
    sampling_schedule="inverse_sigmoid",
    sampling_rate=1000,
    # Not a model hparam: how the LSTM matmuls run (bgmaker.compat.lstm_precision).
    # auto = bf16 where the CPU multiplies bf16 in hardware (AMX/AVX512-BF16), else fp32.
    lstm_precision="auto",
    # Not a model hparam: examples in the training shuffle buffer (bgmaker.compat.honour_shuffle_buffer).
    # 0 = Magenta's 10 x batch_size; the named runs' recipes set the whole split (bgmaker_configs.recipes).
    shuffle_buffer=0,
)


def drums_converter(**overrides):
    """Magenta's DrumsConverter for 4-bar slices at 16th notes, 9 drum classes."""
    kwargs = dict(
        max_bars=100,  # truncate long performances before slicing, as Magenta's drum configs do
        slice_bars=BARS,
        steps_per_quarter=STEPS_PER_QUARTER,
        quarters_per_bar=STEPS_PER_BAR // STEPS_PER_QUARTER,
        pitch_classes=data.REDUCED_DRUM_PITCH_CLASSES,
        roll_input=True,
    )
    kwargs.update(overrides)
    return data.DrumsConverter(**kwargs)


def windows_converter():
    """The converter for pre-sliced 4-bar windows (bgmaker.data.windows): one example each.

    Same encoding as drums_converter(); it only stops Magenta from re-slicing:
    no 5-slice cap, no split at silent bars, the track padded to the stored
    4 bars (a window may begin or end with a silent bar), and no presplit on
    time changes (which would shrink total_time to the last note and drop a
    window whose last step is silent). A window has one tempo by construction.
    """
    return drums_converter(max_tensors_per_notesequence=None, gap_bars=None,
                           pad_to_total_time=True, presplit_on_time_changes=False)


def hparams(values=None):
    """A fresh HParams object (music_vae_train mutates the config's in place)."""
    return merge_hparams(lstm_models.get_default_hparams(), contrib_training.HParams(**(values or HPARAMS)))


class GrooveWindowConverter(data.GrooveConverter):
    """Magenta's GrooveConverter for one stored expressive window (bgmaker.data.windows, expressive=True).

    Why a wrapper: a window keeps each hit's played time relative to its
    first grid line, so a hit played early on the first step has a negative
    time, which Magenta's quantizer rejects (the window would vanish from
    training). Shifting the window one step later, converting with Magenta's
    code, and dropping that lead step gives Magenta's own tensors for exactly
    the window's steps. A window whose last bar is silent is padded to the
    full length (Magenta stops at the last hit's bar). Notes on pitches outside
    the 9 classes are left out (Magenta raises KeyError on them).
    """

    def __init__(self, steps, **kwargs):
        super().__init__(split_bars=None, max_tensors_per_notesequence=None, **kwargs)
        self._window_steps = steps

    def to_tensors(self, item):
        import copy

        import numpy as np
        qpm = item.tempos[0].qpm if item.tempos else 120.0
        step = 60.0 / qpm / self._steps_per_quarter
        shifted = copy.deepcopy(item)
        del shifted.notes[:]
        for note in item.notes:
            if note.pitch in self.pitch_class_map:
                moved = shifted.notes.add()
                moved.CopyFrom(note)
                moved.start_time += step
                moved.end_time += step
        shifted.total_time = item.total_time + step
        tensors = super().to_tensors(shifted)
        if not tensors.inputs:
            return tensors

        def window(array):
            out = np.zeros((self._window_steps, array.shape[1]), array.dtype)
            kept = array[1:1 + self._window_steps]
            out[:len(kept)] = kept
            return out

        return data.ConverterTensors(inputs=[window(tensors.inputs[0])], outputs=[window(tensors.outputs[0])],
                                     lengths=[self._window_steps])


def groove_converter(bars):
    """GrooveConverter(humanize=True) on one expressive window of `bars` bars, BGMaker's 9 classes in and out."""
    return GrooveWindowConverter(
        steps=bars * STEPS_PER_BAR, steps_per_quarter=STEPS_PER_QUARTER,
        quarters_per_bar=STEPS_PER_BAR // STEPS_PER_QUARTER, humanize=True,
        pitch_classes=data.REDUCED_DRUM_PITCH_CLASSES, inference_pitch_classes=data.REDUCED_DRUM_PITCH_CLASSES)


# Magenta's groovae_2bar_humanize hparams (configs.py), with BGMaker's non-model hparams.
GROOVE_HPARAMS = dict(
    batch_size=512,
    z_size=256,
    enc_rnn_size=[512],
    dec_rnn_size=[256, 256],
    max_beta=0.2,
    free_bits=48,
    dropout_keep_prob=0.3,
    lstm_precision="auto",
    shuffle_buffer=0,
)


def groovae_humanize(bars, decoder=None):
    """The humanize model on `bars`-bar windows; `decoder`: another GrooveLstmDecoder (inference, e.g.
    bgmaker.humanize.groovae's hit-forced one), default Magenta's."""
    return configs.Config(
        model=MusicVAE(lstm_models.BidirectionalLstmEncoder(), decoder or lstm_models.GrooveLstmDecoder()),
        hparams=hparams(dict(GROOVE_HPARAMS, max_seq_len=bars * STEPS_PER_BAR)),
        note_sequence_augmenter=None,
        data_converter=groove_converter(bars),
        train_examples_path=None,
        eval_examples_path=None,
    )


def hierdec_drum_4bar():
    return configs.Config(
        model=MusicVAE(
            lstm_models.BidirectionalLstmEncoder(),
            lstm_models.HierarchicalLstmDecoder(
                lstm_models.CategoricalLstmDecoder(),
                level_lengths=[8, 8],  # 8 half-bars of 8 sixteenths = 64 steps
                disable_autoregression=False)),
        hparams=hparams(),
        note_sequence_augmenter=None,
        data_converter=drums_converter(),
        train_examples_path=None,
        eval_examples_path=None,
    )


def cat_drums_4bar():
    return configs.Config(
        model=MusicVAE(lstm_models.BidirectionalLstmEncoder(),
                       lstm_models.CategoricalLstmDecoder()),
        hparams=hparams(),
        note_sequence_augmenter=None,
        data_converter=drums_converter(),
        train_examples_path=None,
        eval_examples_path=None,
    )


MODELS = {
    "hierdec-drum_4bar": hierdec_drum_4bar,
    "cat-drums_4bar": cat_drums_4bar,
    "groovae-humanize_2bar": lambda: groovae_humanize(2),
    "groovae-humanize_4bar": lambda: groovae_humanize(4),
}


def window_converter(name):
    """The converter that turns one stored window of model `name`'s runs into exactly one example."""
    bars, expressive = WINDOWS[name]
    return groove_converter(bars) if expressive else windows_converter()


def register():
    """Add BGMaker's models to Magenta's CONFIG_MAP (idempotent)."""
    for name, build in MODELS.items():
        if name not in configs.CONFIG_MAP:
            configs.CONFIG_MAP[name] = build()
