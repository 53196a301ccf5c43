"""Every runtime shim BGMaker needs to run Magenta 2.1.4 on Python 3.11 / TF 2.21, and its speed patches.

This is the only module that patches third-party code, and importing it (or
any other bgmaker module) patches nothing: `apply()` is the one explicit call,
made where a model is built or a Magenta app starts (bgmaker_configs.register,
a Run's `magenta_config`, BeatGenerator, data conversion, the humanizer), so
that `--help`, listing runs and argument errors answer without TensorFlow.
The modules that import Magenta at their top (bgmaker_configs.architectures,
bgmaker.generation.seeded_sampling) refuse to load before it
(`require_applied`), with a message instead of Magenta's Keras 3 error.
The experiments' Keras networks need only Keras 2: `use_legacy_keras`, called
where one is built (bgmaker.experiments.networks.load_keras).
Each patch names its cause and has a test that shows it is needed or that
the path it guards works (tests/test_compat.py for the shims Magenta cannot
run without, tests/test_training_speed.py for the speed patches);
`patched()` lists what this process has patched. `apply()` is idempotent.

- Required: Keras 2 (`use_legacy_keras`), `np.bool`, the zero-size unbatch
  segfault (`avoid_zero_depth_unbatch`); plus a quiet pydub.
- Speed: one segment-sum instead of Magenta's per-sequence Python loop in the
  reconstruction loss (`vectorize_sequence_loss_sum`, always on: same values),
  and the LSTM cell switch (`lstm_precision`, driven by the `lstm_precision`
  hparam).
- Training: the `shuffle_buffer` hparam reaches Magenta's input pipeline
  (`honour_shuffle_buffer`), and BGMaker's session hooks (CPU budget,
  progress log, milestone weights, warm start) reach Magenta's training loop
  (`extra_training_hooks`); a cluster's worker that starts before its chief
  looks for the chief's weights every second, not every 30 s
  (`poll_for_chief`).
- Sampling: BGMaker's seeded decoders take the place of Magenta's categorical
  ones inside a built model (`recast_categorical_decoders`).
"""
import contextlib
import os
import sys

_applied = False
_restored_numpy_bool = False


class ShimsNotApplied(ImportError):
    """A module that imports Magenta was imported before `apply()`."""


def require_applied(module):
    """Raise ShimsNotApplied unless `apply()` has run: `module` imports Magenta at its top.

    Why not apply the shims here: importing is free (no patching, no
    TensorFlow); the shims are one explicit call where a model is built.
    Without them Magenta fails to import with a Keras 3 error that does not
    say why, or, with Keras 2 chosen by hand, runs without the patches below.
    """
    if not _applied:
        raise ShimsNotApplied(
            f"{module} imports Magenta, which needs BGMaker's compat shims first: call "
            "bgmaker.compat.apply() (or bgmaker_configs.register()) before importing it")


def applied():
    """True once `apply()` has run in this process."""
    return _applied


def patched():
    """The third-party names this process has replaced (module.name), in no particular order.

    Read from the markers each patch leaves (`_bgmaker_shim`), so it answers
    without importing Magenta: a module not yet imported is not patched.
    """
    found = []
    targets = {"magenta.models.music_vae.data": ("convert_to_tensors_op", "get_dataset"),
               "magenta.models.music_vae.lstm_utils": ("rnn_cell",)}
    for module_name, names in targets.items():
        module = sys.modules.get(module_name)
        for name in names:
            if module is not None and getattr(getattr(module, name, None), "_bgmaker_shim", False):
                found.append(f"{module_name}.{name}")
    lstm_models = sys.modules.get("magenta.models.music_vae.lstm_models")
    if lstm_models is not None and getattr(lstm_models.BaseLstmDecoder.reconstruction_loss, "_bgmaker_shim", False):
        found.append("magenta.models.music_vae.lstm_models.BaseLstmDecoder.reconstruction_loss")
    session_manager = sys.modules.get("tensorflow.python.training.session_manager")
    if session_manager is not None and getattr(session_manager.SessionManager.__init__, "_bgmaker_shim", False):
        found.append("tensorflow.python.training.session_manager.SessionManager.__init__")
    if _restored_numpy_bool:
        found.append("numpy.bool")
    return found


def apply():
    """Apply every shim (safe to call many times).

    With BGMAKER_STOCK=1 only the shims Magenta cannot run without are applied
    (`apply_required`), so Magenta runs as released: benchmarks/bench_train.py
    uses it to measure stock Magenta next to BGMaker.
    """
    global _applied
    if _applied:
        return
    if stock_mode():
        apply_required()
        _applied = True
        return
    use_legacy_keras()
    thread_pools_per_session()
    restore_numpy_bool()  # before TensorFlow: its import reaches numpy.ma, which needs np.bool
    import_tensorflow_quietly()
    quiet_pydub_ffmpeg_warning()
    avoid_zero_depth_unbatch()
    vectorize_sequence_loss_sum()
    honour_shuffle_buffer()
    _applied = True


def stock_mode():
    """BGMAKER_STOCK=1: run Magenta as released (no speed patches, Magenta's own LSTM cell, TF's Grappler)."""
    return os.environ.get("BGMAKER_STOCK") == "1"


def apply_required():
    """Only the shims Magenta cannot run without (benchmarks use this for "stock Magenta")."""
    use_legacy_keras()
    quiet_pydub_ffmpeg_warning()
    restore_numpy_bool()
    avoid_zero_depth_unbatch()


def thread_pools_per_session():
    """Give each TensorFlow session the intra-op thread pool its ConfigProto asks for.

    Cause: by default the CPU device's intra-op pool is the process's, sized by
    the first session made, so a later session's intra_op_parallelism_threads is
    ignored. Latent refinement (bgmaker.generation.refine) runs one thread so that
    its codes do not depend on the machine's core count, while the generator's
    session beside it keeps its threads.
    TensorFlow reads TF_OVERRIDE_GLOBAL_THREADPOOL when a session makes its
    devices, so this must run before the first session; sessions that ask for
    nothing still get one thread per CPU, as before.
    """
    os.environ.setdefault("TF_OVERRIDE_GLOBAL_THREADPOOL", "1")


def use_legacy_keras():
    """Make `tf.keras` resolve to Keras 2 (the tf-keras package).

    Cause: TF >= 2.16 ships Keras 3 as `tf.keras`; Magenta's RNN cells
    (`tf.compat.v1.nn.rnn_cell`, tf_slim layers, `tf.layers.Dense`) are Keras 2
    objects and fail under Keras 3. TensorFlow reads TF_USE_LEGACY_KERAS when
    Keras is first loaded, so this must run before TensorFlow is imported,
    and before tf_keras is: imported first, it leaves tensorflow_probability
    (which Magenta imports) without `tensorflow.compat.v2.keras`. That is why
    the experiments call it before they import tf_keras
    (bgmaker.experiments.networks.load_keras), and `apply()` calls it first.
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
            "call bgmaker.compat.apply() before using tf.keras, or set TF_USE_LEGACY_KERAS=1")


def import_tensorflow_quietly():
    """Import TensorFlow with its native start-up lines kept off stderr, unless BGMAKER_VERBOSE=1.

    Cause: TensorFlow 2.21 logs "Could not find cuda drivers" (and absl's
    "All log messages before absl::InitializeLog()") from C++ while it loads,
    before TF_CPP_MIN_LOG_LEVEL applies, on every CPU-only machine. `bgmaker`
    commands set TF_CPP_MIN_LOG_LEVEL=3 unless --verbose (bgmaker.cli.quiet);
    then the descriptor 2 is pointed at /dev/null for the import alone. A
    failed import restores stderr before its error propagates.
    """
    if "tensorflow" in sys.modules or os.environ.get("BGMAKER_VERBOSE") == "1" \
            or os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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
    global _restored_numpy_bool
    import numpy as np
    if not hasattr(np, "bool"):
        np.bool = np.bool_
        _restored_numpy_bool = True


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


def vectorize_sequence_loss_sum():
    """Sum each sequence's reconstruction loss with one segment-sum op, not one slice per sequence.

    Cause: Magenta's `BaseLstmDecoder.reconstruction_loss` ends with a Python
    loop over the batch (`for i in range(batch_size): reduce_sum(r_loss[b:e])`),
    about 23 graph ops per sequence with their gradients. The hierarchical
    decoder calls it once per bar-half (8 times), so at batch 512 the training
    graph has 105,900 ops, ~94,000 of them these slices: graph construction,
    Grappler and every step's executor all pay for them
    (benchmarks/bench_train.py measures it). This replaces the method with
    Magenta's own body up to the flat per-step loss, then sums it per
    sequence with `unsorted_segment_sum`: the same values (tested against
    the original), ~1/8 of the ops at batch 512.
    """
    from magenta.common import flatten_maybe_padded_sequences
    import magenta.contrib.seq2seq as contrib_seq2seq
    from magenta.models.music_vae import lstm_models
    import tensorflow.compat.v1 as tf

    original = lstm_models.BaseLstmDecoder.reconstruction_loss
    if getattr(original, "_bgmaker_shim", False):
        return

    def reconstruction_loss(self, x_input, x_target, x_length, z=None, c_input=None):
        batch_size = int(x_input.shape[0])
        has_z, has_control = z is not None, c_input is not None
        z = tf.zeros([batch_size, 0]) if z is None else z
        repeated_z = tf.tile(tf.expand_dims(z, axis=1), [1, tf.shape(x_input)[1], 1])
        if c_input is None:
            c_input = tf.zeros([batch_size, tf.shape(x_input)[1], 0])
        if tf.get_static_value(self._sampling_probability) == 0.0:  # teacher forcing
            helper = contrib_seq2seq.TrainingHelper(
                tf.concat([x_input, repeated_z, c_input], axis=2), x_length)
        else:  # scheduled sampling
            auxiliary_inputs = None
            if has_z or has_control:
                auxiliary_inputs = tf.zeros([batch_size, tf.shape(x_input)[1], 0])
                if has_z:
                    auxiliary_inputs = tf.concat([auxiliary_inputs, repeated_z], axis=2)
                if has_control:
                    auxiliary_inputs = tf.concat([auxiliary_inputs, c_input], axis=2)
            helper = contrib_seq2seq.ScheduledOutputTrainingHelper(
                inputs=x_input, sequence_length=x_length, auxiliary_inputs=auxiliary_inputs,
                sampling_probability=self._sampling_probability, next_inputs_fn=self._sample)
        decode_results = self._decode(z, helper=helper, input_shape=helper.inputs.shape[2:])
        flat_x_target = flatten_maybe_padded_sequences(x_target, x_length)
        flat_rnn_output = flatten_maybe_padded_sequences(decode_results.rnn_output, x_length)
        r_loss, metric_map = self._flat_reconstruction_loss(flat_x_target, flat_rnn_output)
        # The one change: flat step t belongs to sequence segment_ids[t].
        segment_ids = tf.repeat(tf.range(batch_size), x_length)
        r_loss = tf.math.unsorted_segment_sum(r_loss, segment_ids, batch_size)
        return r_loss, metric_map, decode_results

    reconstruction_loss._bgmaker_shim = True
    reconstruction_loss._bgmaker_original = original
    reconstruction_loss.__doc__ = original.__doc__
    lstm_models.BaseLstmDecoder.reconstruction_loss = reconstruction_loss


def honour_shuffle_buffer():
    """Let the hparam `shuffle_buffer` size the training shuffle in Magenta's `get_dataset`.

    Cause: `data.get_dataset` shuffles the cached training examples with a
    fixed buffer of 10 x batch_size (640 at batch 64). Fed the windows of a
    split in performance order, a batch then comes from a handful of
    performances, about half of it from one drummer (reports/batch_mix.py
    measures it). With `shuffle_buffer` = N > 0 the buffer holds N examples
    instead (N >= the split's size: a full reshuffle every epoch); 0 keeps
    Magenta's 10 x batch_size. Only the call inside `get_dataset` is resized,
    and only while it runs.
    """
    import tensorflow as tf
    from magenta.models.music_vae import data

    original = data.get_dataset
    if getattr(original, "_bgmaker_shim", False):
        return

    def get_dataset(config, *args, **kwargs):
        buffer = int(config.hparams.values().get("shuffle_buffer", 0) or 0)
        if buffer <= 0:
            return original(config, *args, **kwargs)
        dataset_class = tf.data.Dataset
        shuffle = dataset_class.shuffle

        stock_buffer = 10 * config.hparams.batch_size

        def resized_shuffle(self, buffer_size, *a, **k):
            # Only the examples' shuffle (Magenta's 10 x batch_size); list_files shuffles too.
            if isinstance(buffer_size, int) and buffer_size == stock_buffer:
                buffer_size = max(buffer_size, buffer)
            return shuffle(self, buffer_size, *a, **k)

        dataset_class.shuffle = resized_shuffle
        try:
            return original(config, *args, **kwargs)
        finally:
            dataset_class.shuffle = shuffle

    get_dataset._bgmaker_shim = True
    get_dataset.__doc__ = original.__doc__
    data.get_dataset = get_dataset


CHIEF_POLL_SECONDS = 1.0


def poll_for_chief(seconds=CHIEF_POLL_SECONDS):
    """A cluster's worker checks every `seconds` whether the chief has initialised the weights (TF: every 30 s).

    Cause: a non-chief worker's MonitoredTrainingSession waits for the
    chief through a SessionManager built with TensorFlow's default
    `recovery_wait_secs=30`, and Magenta's loop (tf_slim.training.train)
    offers no way to pass another; a worker started beside its chief then
    idles up to 30 s after the weights are ready (bgmaker.training.cluster).
    Only the default changes; a caller that passes the argument keeps its value.
    """
    from tensorflow.python.training import session_manager

    cls = session_manager.SessionManager
    if getattr(cls.__init__, "_bgmaker_shim", False):
        return
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        if len(args) < 5:  # recovery_wait_secs is the fifth parameter
            kwargs.setdefault("recovery_wait_secs", seconds)
        original(self, *args, **kwargs)

    __init__._bgmaker_shim = True
    __init__.__doc__ = original.__doc__
    cls.__init__ = __init__


def recast_categorical_decoders(model, cls):
    """Give every plain CategoricalLstmDecoder inside `model` the subclass `cls`; return those decoders.

    Cause: Magenta builds its decoders inside its Config objects (the
    hierarchical decoder keeps its core decoder in a private attribute), with
    no way to ask for another sampler. BGMaker's seeded samplers
    (bgmaker.generation.seeded_sampling) are subclasses that only replace
    `_sample` and add no constructor state, so rewriting the instances'
    class in place is safe. The model's decoder objects are walked by value;
    only this model changes (callers pass a deep copy).
    """
    from magenta.models.music_vae import base_model, lstm_models

    recast = []

    def walk(obj, depth=0):
        if type(obj) is lstm_models.CategoricalLstmDecoder:
            obj.__class__ = cls
            recast.append(obj)
        if depth > 4:
            return
        for value in vars(obj).values():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, base_model.BaseDecoder):
                    walk(item, depth + 1)

    walk(model)
    return recast


@contextlib.contextmanager
def extra_training_hooks(hooks, session_config=None):
    """Within this block, Magenta's training loop also runs these SessionRunHooks (and this session config).

    Cause: `music_vae_train.train` builds its hooks and calls
    `tf_slim.training.train` itself, with no way to pass more. BGMaker's
    training needs a few (bgmaker.training.hooks: CPU budget, progress log,
    milestone weights, warm start); they are appended to that one call.
    session_config: a function returning the ConfigProto of the training
    session, called when the session is made (a cluster's worker filters its
    devices: bgmaker.training.cluster); None keeps Magenta's (none: the
    process's tf.config settings).
    """
    from magenta.models.music_vae import music_vae_train

    tf_slim = music_vae_train.tf_slim
    original = tf_slim.training.train

    def train(*args, **kwargs):
        kwargs["hooks"] = list(kwargs.get("hooks") or []) + list(hooks)
        if session_config is not None:
            kwargs["config"] = session_config()
        return original(*args, **kwargs)

    tf_slim.training.train = train
    try:
        yield
    finally:
        tf_slim.training.train = original


# --- LSTM precision ---------------------------------------------------------

LSTM_PRECISIONS = ("auto", "fp32", "fp32-matmul", "bf16")
_lstm_precision = "fp32"


def bf16_hardware(cpuinfo="/proc/cpuinfo"):
    """How this CPU multiplies bf16 matrices in hardware: "amx_bf16", "avx512_bf16" or None (emulated).

    oneDNN takes AMX tiles where the CPU has them and AVX512-BF16 dot products
    otherwise: two different kernels, so the paired check that bf16 training
    learns as fp32 does (reports/bf16_training.py) is kept per kind.
    """
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return next((kind for kind in ("amx_bf16", "avx512_bf16") if kind in flags), None)


def cpu_has_fast_bf16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU multiplies bf16 matrices in hardware (AMX-BF16 or AVX512-BF16).

    Without either, TensorFlow emulates bf16 matmuls in fp32 plus conversions,
    which is slower than plain fp32 (benchmarks/bench_lstm_cell.py measures it).
    """
    return bf16_hardware(cpuinfo) is not None


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name as /proc/cpuinfo gives it ("unknown" where it cannot be read).

    Training records it beside every progress line: sessions land on different
    CPUs, and a CPU-hour on one is not a CPU-hour on another.
    """
    try:
        with open(cpuinfo) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    except OSError:
        return "unknown"


def resolve_lstm_precision(precision):
    """'auto' -> 'bf16' on CPUs with hardware bf16 matmul, else 'fp32' (LSTMBlockCell); 'fp32' under BGMAKER_STOCK=1."""
    if precision not in LSTM_PRECISIONS:
        raise ValueError(f"unknown LSTM precision {precision!r}; choose one of {', '.join(LSTM_PRECISIONS)}")
    if stock_mode():
        return "fp32"
    if precision == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return precision


@contextlib.contextmanager
def lstm_precision(precision):
    """Within this block Magenta's `lstm_utils.rnn_cell` builds the cell for `precision`.

    'fp32' is Magenta's own LSTMBlockCell (Eigen kernel). 'bf16' and
    'fp32-matmul' are `MatmulLSTMCell`: the same variables and math, with the
    gate matmul as a plain MatMul op (oneDNN) in that dtype. MusicVAE builds
    every LSTM (encoder, conductor, core decoder) through `rnn_cell` inside
    its `build`, so wrapping `build` covers them all, in training and in
    generation alike; outside the block Magenta builds its own cell again.
    Under BGMAKER_STOCK=1 it is always 'fp32'. Yields the resolved name.
    """
    global _lstm_precision
    resolved = resolve_lstm_precision(precision)
    _install_rnn_cell_switch()
    previous, _lstm_precision = _lstm_precision, resolved
    try:
        yield resolved
    finally:
        _lstm_precision = previous


def _install_rnn_cell_switch():
    from magenta.contrib import rnn as contrib_rnn
    from magenta.models.music_vae import lstm_utils

    original = lstm_utils.rnn_cell
    if getattr(original, "_bgmaker_shim", False):
        return

    class ContribRnnWithCell:
        """magenta.contrib.rnn as lstm_utils sees it, with LSTMBlockCell replaced."""

        def __init__(self, cell):
            self.LSTMBlockCell = cell

        def __getattr__(self, name):
            return getattr(contrib_rnn, name)

    def rnn_cell(*args, **kwargs):
        # Magenta's rnn_cell builds `contrib_rnn.LSTMBlockCell` by module
        # attribute; for the other precisions, lstm_utils sees a stand-in module
        # while it runs, so its wrappers (dropout, residual, MultiRNNCell) stay
        # Magenta's own. (Patching the class in magenta.contrib.rnn itself would
        # break LSTMBlockCell's own `super(LSTMBlockCell, self)`.)
        if _lstm_precision == "fp32":
            return original(*args, **kwargs)
        dtype = "bfloat16" if _lstm_precision == "bf16" else "float32"
        cell_class = _matmul_lstm_cell_class()
        lstm_utils.contrib_rnn = ContribRnnWithCell(lambda num_units: cell_class(num_units, compute_dtype=dtype))
        try:
            return original(*args, **kwargs)
        finally:
            lstm_utils.contrib_rnn = contrib_rnn

    rnn_cell._bgmaker_shim = True
    rnn_cell.__doc__ = original.__doc__
    lstm_utils.rnn_cell = rnn_cell


def matmul_lstm_cell(num_units, compute_dtype="bfloat16"):
    """A `MatmulLSTMCell` (the class is built lazily: defining it imports TensorFlow)."""
    return _matmul_lstm_cell_class()(num_units, compute_dtype=compute_dtype)


_MATMUL_CELL = None


def _matmul_lstm_cell_class():
    global _MATMUL_CELL
    if _MATMUL_CELL is not None:
        return _MATMUL_CELL
    import tensorflow.compat.v1 as tf
    from magenta.contrib import rnn as contrib_rnn

    class MatmulLSTMCell(contrib_rnn.LSTMBlockCell):
        """LSTMBlockCell's math with the gate matmul in `compute_dtype` (bf16 by default).

        Why: LSTMBlockCell's fused kernel multiplies through Eigen in fp32
        only, so oneDNN's bf16 (AMX) path never sees it. Here the one
        [x, h] x W matmul is a MatMul op on bf16 copies of its operands
        (accumulating in fp32); bias, gates and cell state stay fp32. Its
        gradients are bf16 matmuls too, so the gradient flowing back through
        h is rounded to bf16 at every step, and the kernel is cast once per
        step (a cost, not an error). Variables and their updates stay fp32. It subclasses
        LSTMBlockCell and reuses its `build`, so variables keep the same
        names ("kernel", "bias"), shapes, initializers and gate order
        (i, c, f, o): a checkpoint trained with either cell loads into the
        other.
        """

        def __init__(self, num_units, compute_dtype="bfloat16", **kwargs):
            super().__init__(num_units, **kwargs)
            self._matmul_dtype = tf.as_dtype(compute_dtype)

        def call(self, inputs, state):
            if self._use_peephole:
                raise NotImplementedError("MatmulLSTMCell has no peephole connections")
            cs_prev, h_prev = state
            dtype = self._matmul_dtype
            xh = tf.concat([tf.cast(inputs, dtype), tf.cast(h_prev, dtype)], axis=1)
            gates = tf.matmul(xh, tf.cast(self._kernel, dtype))
            gates = tf.nn.bias_add(tf.cast(gates, tf.float32), self._bias)
            i, ci, f, o = tf.split(gates, 4, axis=1)
            cs = tf.sigmoid(i) * tf.tanh(ci) + tf.sigmoid(f + self._forget_bias) * cs_prev
            if self._cell_clip > 0:
                cs = tf.clip_by_value(cs, -self._cell_clip, self._cell_clip)
            h = tf.tanh(cs) * tf.sigmoid(o)
            return h, tf.nn.rnn_cell.LSTMStateTuple(cs, h)

    _MATMUL_CELL = MatmulLSTMCell
    return _MATMUL_CELL
