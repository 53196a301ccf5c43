"""Feed held-out 4-bar windows through a checkpoint, teacher-forced or free-running.

Why this exists: TrainedModel encodes and samples but never scores a target,
and `music_vae_train --mode=eval` prints only running averages, so neither
gives what an evaluation needs per window: the decoder's prediction at every
step (for onset P/R/F1), its reconstruction loss and the KL of its posterior.
This builds MusicVAE's eval graph from public pieces, the way
`MusicVAE._compute_model_loss` does: encode the window, take a posterior
sample z (as Magenta's eval job does), run `decoder.reconstruction_loss` on
the shifted target. The decoder's `sampling_probability` (from hparams,
fixed at build time) chooses the mode:

- teacher-forced (constant 0): each step sees the true previous step;
- free-running (constant 1): each step sees the decoder's own sample of the
  previous step, as when generating. With the hierarchical decoder this is
  Magenta's eval-job meaning: inside each 8-step segment the decoder feeds
  itself, but a segment's first input is still the true previous step.

The prediction scored at a step is the argmax of its logits, as in Magenta's
`metrics/accuracy`; onset P/R/F1 are computed on those predictions. The
graph is seeded (`seed`) and run on one inter-op thread, so the same seed
gives the same numbers in any process on one machine.

Magenta's own streaming accuracy is read from the same graph and returned
next to ours, so a test can check the two agree.
"""
import copy

import numpy as np

from bgmaker.data.windows import STEPS, to_grid


def model_config(run, checkpoint, lstm_precision=None):
    """A fresh Magenta Config of `run` for evaluating `checkpoint` on stored windows.

    The model is the one the checkpoint was trained as (bgmaker.models.as_trained);
    the hparams are the run's plus the overrides the checkpoint was trained
    with (bgmaker.models.config_for), so tiny test models load.
    lstm_precision: pin how the LSTM matmuls run (default: the config's
    "auto", which is bf16 on CPUs with hardware bf16 and fp32 elsewhere). The
    converter is always `architectures.windows_converter()`: every BGMaker config
    encodes drums the same way, and this one turns each stored window into
    exactly one example, where the stock converter would re-slice it.
    """
    from bgmaker import models as model_folders
    run = model_folders.as_trained(run, str(checkpoint))
    config = model_folders.config_for(run.magenta_config(), str(checkpoint))  # applies the compat shims
    # Magenta and BGMaker's model configs import only now, after the shims.
    from magenta.models.music_vae import configs

    from bgmaker_configs import architectures
    if lstm_precision:
        config.hparams.lstm_precision = lstm_precision
    converter = architectures.windows_converter()
    if (converter.input_depth, converter.output_depth) != (config.data_converter.input_depth,
                                                          config.data_converter.output_depth):
        raise ValueError(f"run {run.name} does not use BGMaker's drum encoding; cannot evaluate it on windows")
    return configs.update_config(config, dict(data_converter=converter))


def window_tensors(converter, sequences):
    """(inputs, outputs) arrays [n, 64, depth] of 4-bar window NoteSequences, one example each."""
    inputs, outputs = [], []
    for ns in sequences:
        t = converter.to_tensors(ns)
        if len(t.outputs) != 1 or len(t.outputs[0]) != STEPS:
            raise ValueError(f"window {ns.id or ns.filename!r} gives {len(t.outputs)} examples "
                             f"of {[len(o) for o in t.outputs]} steps, expected one of {STEPS}")
        inputs.append(t.inputs[0])
        outputs.append(t.outputs[0])
    return np.asarray(inputs, np.float32), np.asarray(outputs, np.float32)


def classes_to_grids(converter, classes):
    """Drum grids [n, 64, 9] of class-index sequences [n, 64], through the converter's own decoding."""
    one_hot = np.eye(converter.output_depth, dtype=np.float32)[classes]
    return np.stack([to_grid(ns) for ns in converter.from_tensors(one_hot)])


def reconstruct(config, checkpoint, sequences, teacher_forced, batch_size=64, seed=0, progress=None):
    """Score `checkpoint` on every window in `sequences` (4-bar NoteSequences).

    Returns a dict of numpy arrays over the n windows:
      target [n, 64] and predicted [n, 64]: class indices (0..511) of the true
        step and of the argmax prediction for it;
      target_grids, predicted_grids [n, 64, 9]: the same as drum grids;
      r_loss [n]: reconstruction loss, sum over steps of the cross-entropy (nats);
      kl_bits [n]: KL(q(z|x) || N(0, I)) in bits;
    and magenta_accuracy: Magenta's tf.metrics accuracy over all windows.
    """
    import tensorflow.compat.v1 as tf
    import tensorflow_probability as tfp
    import tf_slim

    from bgmaker.generation import seeded_sampling  # a Config exists, so the shims are applied

    converter = config.data_converter
    inputs, outputs = window_tensors(converter, sequences)
    n = len(inputs)
    if n == 0:
        raise ValueError("no windows to reconstruct")
    hparams = copy.deepcopy(config.hparams)
    if not hparams.z_size:
        raise ValueError("reconstruction needs a model with a latent code (z_size > 0)")
    hparams.batch_size = batch_size
    hparams.sampling_schedule = "constant"
    hparams.sampling_rate = 0.0 if teacher_forced else 1.0
    # Free-running steps feed back a sample: drawn by a hash of the seed and the step's logits, so the
    # numbers repeat (Magenta's own sampler draws differently on every run; seeded_sampling says why).
    model = seeded_sampling.logit_keyed_model(config.model, seed)

    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        model.build(hparams, converter.output_depth, is_training=False)
        x_in = tf.placeholder(tf.float32, [batch_size, STEPS, converter.input_depth])
        x_out = tf.placeholder(tf.float32, [batch_size, STEPS, converter.output_depth])
        length = tf.placeholder(tf.int32, [batch_size])
        # As MusicVAE._compute_model_loss: the decoder input is the target shifted right by one step.
        x_shifted = tf.pad(x_out[:, :-1], [(0, 0), (1, 0), (0, 0)])
        q_z = model.encode(x_in, length)
        prior = tfp.distributions.MultivariateNormalDiag(
            loc=[0.0] * hparams.z_size, scale_diag=[1.0] * hparams.z_size)
        kl_bits = tfp.distributions.kl_divergence(q_z, prior) / tf.math.log(2.0)
        r_loss, metric_map, decoded = model.decoder.reconstruction_loss(
            x_shifted, x_out, length, q_z.sample())[:3]
        predicted = tf.argmax(decoded.rnn_output, axis=-1)
        values, updates = tf_slim.metrics.aggregate_metric_map(metric_map)
        saver, init_metrics = tf.train.Saver(), tf.local_variables_initializer()

        with tf.Session() as sess:
            restore(tf, sess, saver, checkpoint)
            sess.run(init_metrics)
            results = {"predicted": [], "r_loss": [], "kl_bits": []}
            for begin in range(0, n, batch_size):
                real = min(batch_size, n - begin)
                # pad the last batch with zero-length windows: Magenta's metrics and loss skip them
                feed = {x_in: _pad(inputs[begin:begin + real], batch_size),
                        x_out: _pad(outputs[begin:begin + real], batch_size),
                        length: np.r_[np.full(real, STEPS), np.zeros(batch_size - real)].astype(np.int32)}
                p, r, k, _ = sess.run([predicted, r_loss, kl_bits, list(updates.values())], feed)
                results["predicted"].append(p[:real])
                results["r_loss"].append(r[:real])
                results["kl_bits"].append(k[:real])
                if progress:
                    progress(begin + real, n)
            magenta_accuracy = float(sess.run(values["metrics/accuracy"]))

    out = {k: np.concatenate(v) for k, v in results.items()}
    out["target"] = outputs.argmax(-1)
    out["target_grids"] = classes_to_grids(converter, out["target"])
    out["predicted_grids"] = classes_to_grids(converter, out["predicted"])
    out["magenta_accuracy"] = magenta_accuracy
    return out


def restore(tf, sess, saver, checkpoint):
    """Load `checkpoint`, or say in one line that it belongs to another model or hparams."""
    try:
        saver.restore(sess, str(checkpoint))
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as e:
        first = str(e).strip().splitlines()[0][:300]
        raise ValueError(f"checkpoint {checkpoint} does not fit this model config (another model, or "
                         f"hparams other than its run dir's hparams.txt?): {first}") from None


def _pad(batch, size):
    return np.concatenate([batch, np.zeros((size - len(batch),) + batch.shape[1:], batch.dtype)])
