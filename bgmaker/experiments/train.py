"""Train one experiment on one dataset: a plain seeded loop, read top to bottom.

An "epoch" here is at most `EPOCH_WINDOWS` training windows (the CPU budget; the original epochs were
full passes), drawn from a seeded stream that reshuffles the whole split each time it runs out. After
every epoch the model is scored on a fixed, seeded validation subset (`VAL_WINDOWS`): its own
objective (which picks the best epoch) and the L2 of its prediction (comparable across rows, for the
curves). The best epoch's weights are what the table scores; `snapshot_epochs` also keeps the best
weights within the first k epochs (03 is read off 04's run that way: same model, seed and batches,
constant learning rate, so 04's first 8 epochs are 03's run).

A NaN/Inf training loss stops the run and is recorded (`nan_at`), as the original row 01 reports.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from bgmaker import compat

# tf.keras is chosen once per process when TensorFlow first loads Keras: make it Keras 2, as Magenta needs,
# so these models and MusicVAE can share a process (the tests, a notebook).
compat.use_legacy_keras()

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from bgmaker.experiments.models import build

EPOCH_WINDOWS = 512
BATCH_SIZE = 64
VAE_EPOCH_WINDOWS = 192   # the DoubleConv VAE costs ~10x an LSTM per window
VAE_BATCH_SIZE = 32
VAL_WINDOWS = 128
PLATEAU_FACTOR, PLATEAU_PATIENCE, MIN_LR = 0.5, 1, 1e-5


@dataclass
class TrainedModel:
    experiment: object
    built: object                     # keras Model, or (encoder, decoder)
    history: list                     # per epoch: dict(epoch, train_loss, val_loss, val_l2, lr, beta, seconds)
    best_epoch: int
    nan_at: str = None                # "epoch e, step s" where the loss first went NaN/Inf
    snapshots: dict = field(default_factory=dict)   # k -> (best epoch within k, weights)
    cpu_seconds: float = 0.0
    pos_weight: float = 1.0

    # Inference. Predictions are in the target's space: probabilities for logit models, the raw
    # output for L2 models (what the original thresholded or read as a probability).
    def predict(self, x, batch_size=256):
        out = []
        for i in range(0, len(x), batch_size):
            out.append(_prediction(self, tf.constant(x[i:i + batch_size]), sample=False).numpy())
        return np.concatenate(out) if out else np.zeros_like(x)

    def sample(self, n, seed=0, temperature=1.0):
        """n windows decoded from z ~ N(0, temperature^2 I) (VAEs only)."""
        encoder, decoder = self.built
        z = np.random.default_rng(seed).standard_normal((n,) + tuple(decoder.input_shape[1:])) * temperature
        y = decoder(tf.constant(z, tf.float32), training=False)
        return (tf.sigmoid(y) if self.experiment.output_is_logit else y).numpy()

    def set_weights(self, weights):
        for m, w in zip(_models(self.built), weights):
            m.set_weights(w)


def _models(built):
    return built if isinstance(built, tuple) else (built,)


def _prediction(trained, x, sample):
    e = trained.experiment
    if e.is_vae:
        encoder, decoder = trained.built
        mu, _ = encoder(x, training=False)
        y = decoder(mu, training=False)
    else:
        y = trained.built(x, training=False)
    return tf.sigmoid(y) if e.output_is_logit else y


def objective(experiment, built, x, pos_weight, beta, eps=None, training=False):
    """The experiment's loss on a batch, per cell: (loss, reconstruction term, KL term, prediction).

    l2: mean (y - x)^2. bce: mean of tf.nn.weighted_cross_entropy_with_logits(x, y, pos_weight)
    (positives weighted by the training split's negatives/positives). VAEs add beta x KL(q(z|x) || N(0, I))
    summed over latent units and divided by the cells of a window, so both terms are per cell;
    vae_bce clamps log sigma^2 to `logvar_clamp` first.
    """
    e = experiment
    if e.is_vae:
        encoder, decoder = built
        mu, logvar = encoder(x, training=training)
        if e.logvar_clamp:
            logvar = tf.clip_by_value(logvar, *e.logvar_clamp)
        z = mu + tf.exp(0.5 * logvar) * eps if eps is not None else mu
        y = decoder(z, training=training)
        cells = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        kl = -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar), axis=[1, 2, 3]) / cells
        kl = tf.reduce_mean(kl)
    else:
        y = built(x, training=training)
        kl = tf.constant(0.0)
    if e.loss in ("l2", "vae_l2"):
        recon = tf.reduce_mean(tf.square(y - x))
        prediction = y
    else:
        recon = tf.reduce_mean(tf.nn.weighted_cross_entropy_with_logits(x, y, pos_weight))
        prediction = tf.sigmoid(y)
    return recon + beta * kl, recon, kl, prediction


def train(experiment, train_rolls, val_rolls, seed=0, epochs=None, epoch_windows=None, batch_size=None,
          snapshot_epochs=(), log=print):
    """Train `experiment` on train_rolls.x, choose its best epoch on val_rolls.x; a TrainedModel.

    Runs with TensorFlow's op determinism on (so a seed repeats the run exactly) and switches it back
    off afterwards: it is process-wide, and MusicVAE's graphs elsewhere in the process (generation,
    evaluation, the web page) use unseeded random ops that it would refuse.
    """
    from tensorflow.python.framework import config as tf_config
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        return _train(experiment, train_rolls, val_rolls, seed, epochs, epoch_windows, batch_size,
                      snapshot_epochs, log)
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()


def _train(experiment, train_rolls, val_rolls, seed, epochs, epoch_windows, batch_size, snapshot_epochs, log):
    e = experiment
    keras.utils.set_random_seed(seed)
    x_train = train_rolls.x
    steps, keys = x_train.shape[1:]
    built = build(e, keys, steps)
    models = _models(built)
    variables = [v for m in models for v in m.trainable_variables]
    epochs = epochs or e.run_epochs
    epoch_windows = epoch_windows or (VAE_EPOCH_WINDOWS if e.is_vae else EPOCH_WINDOWS)
    batch_size = min(batch_size or (VAE_BATCH_SIZE if e.is_vae else BATCH_SIZE), len(x_train))
    steps_per_epoch = max(1, min(epoch_windows, len(x_train)) // batch_size)
    rng = np.random.default_rng(seed)
    x_val = val_rolls.x[np.sort(rng.permutation(len(val_rolls.x))[:VAL_WINDOWS])]
    positives = float(x_train.mean())
    pos_weight = (1.0 - positives) / max(positives, 1e-6)

    optimizer = keras.optimizers.Adam(e.learning_rate, clipnorm=e.clipnorm)
    eps_gen = tf.random.Generator.from_seed(seed)
    beta_var = tf.Variable(1.0, trainable=False)

    @tf.function
    def train_step(x):
        eps = None
        if e.is_vae:
            latent = models[1].input_shape[1:]
            eps = eps_gen.normal(tf.concat([tf.shape(x)[:1], latent], 0))
        with tf.GradientTape() as tape:
            loss, _, _, _ = objective(e, built, x, pos_weight, beta_var, eps, training=True)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function
    def val_step(x):
        loss, _, _, prediction = objective(e, built, x, pos_weight, 1.0, None, training=False)
        return loss, tf.reduce_mean(tf.square(prediction - x))

    def validate():
        losses, l2s, n = 0.0, 0.0, 0
        for i in range(0, len(x_val), 128):
            xb = tf.constant(x_val[i:i + 128])
            loss, l2 = val_step(xb)
            losses += float(loss) * len(xb)
            l2s += float(l2) * len(xb)
            n += len(xb)
        return losses / n, l2s / n

    order, cursor = rng.permutation(len(x_train)), 0
    history, best, best_epoch, nan_at, snapshots = [], math.inf, 0, None, {}
    best_weights = [m.get_weights() for m in models]
    lr, since_best, since_lr_drop, best_for_plateau = e.learning_rate, 0, 0, math.inf
    warmup_steps = e.lr_warmup_epochs * steps_per_epoch
    kl_steps = e.kl_warmup_epochs * steps_per_epoch
    cpu0, global_step = time.process_time(), 0
    for epoch in range(1, epochs + 1):
        t0, losses = time.process_time(), []
        for s in range(steps_per_epoch):
            if cursor + batch_size > len(order):
                order, cursor = rng.permutation(len(x_train)), 0
            batch = x_train[np.sort(order[cursor:cursor + batch_size])]
            cursor += batch_size
            global_step += 1
            step_lr = lr * min(1.0, global_step / warmup_steps) if warmup_steps else lr
            optimizer.learning_rate.assign(step_lr)
            beta_var.assign(min(1.0, global_step / kl_steps) if kl_steps else 1.0)
            loss = float(train_step(tf.constant(batch)))
            if not math.isfinite(loss):
                nan_at = f"epoch {epoch}, step {s + 1}"
                break
            losses.append(loss)
        if nan_at:
            history.append(dict(epoch=epoch, train_loss=float("nan"), val_loss=float("nan"), val_l2=float("nan"),
                                lr=step_lr, beta=float(beta_var.numpy()), seconds=time.process_time() - t0))
            log(f"  {e.name}: loss {loss} at {nan_at}; stopping")
            break
        val_loss, val_l2 = validate()
        if not math.isfinite(val_loss):
            nan_at = f"epoch {epoch} (validation)"
        history.append(dict(epoch=epoch, train_loss=float(np.mean(losses)), val_loss=val_loss, val_l2=val_l2,
                            lr=step_lr, beta=float(beta_var.numpy()), seconds=time.process_time() - t0))
        log(f"  {e.name} epoch {epoch}/{epochs}: train {np.mean(losses):.5f}  val {val_loss:.5f}  "
            f"val L2 {val_l2:.5f}  lr {step_lr:.2g}  ({time.process_time() - t0:.0f} CPU-s)")
        if nan_at:
            break
        if val_loss < best:
            best, best_epoch, since_best = val_loss, epoch, 0
            best_weights = [m.get_weights() for m in models]
        else:
            since_best += 1
        for k in snapshot_epochs:
            if epoch == k:
                snapshots[k] = (best_epoch, best_weights)
        if e.reduce_lr_on_plateau and epoch > e.lr_warmup_epochs:
            if val_loss < best_for_plateau:
                best_for_plateau, since_lr_drop = val_loss, 0
            else:
                since_lr_drop += 1
                if since_lr_drop > PLATEAU_PATIENCE - 1:
                    lr, since_lr_drop = max(MIN_LR, lr * PLATEAU_FACTOR), 0
        if e.early_stopping_patience and since_best >= e.early_stopping_patience:
            log(f"  {e.name}: early stop, no better validation for {since_best} epochs")
            break
    trained = TrainedModel(e, built, history, best_epoch, nan_at, snapshots, time.process_time() - cpu0, pos_weight)
    if best_epoch:
        trained.set_weights(best_weights)
    return trained
