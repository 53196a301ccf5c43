"""Train one experiment on one dataset: a plain seeded loop, read top to bottom.

An "epoch" here is at most `EPOCH_WINDOWS` training windows (the CPU budget; the original epochs were
full passes), drawn from a seeded stream that reshuffles the whole split each time it runs out. After
every epoch the model is scored on a fixed, seeded validation subset (`VAL_WINDOWS`): its own
objective (which picks the best epoch) and the L2 of its prediction (comparable across rows, for the
curves). The best epoch's weights are what the table scores; `snapshot_epochs` also keeps the best
weights within the first k epochs (03 is read off 04's run that way: same model, seed and batches,
constant learning rate, so 04's first 8 epochs are 03's run).

A NaN/Inf training loss stops the run and is recorded (`nan_at`), as the original row 01 reports.

TensorFlow is imported inside the functions, after `train` has chosen Keras 2 (networks.load_keras):
importing this module loads neither.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from bgmaker.experiments.networks import build, load_keras

EPOCH_WINDOWS = 512
BATCH_SIZE = 64
VAE_EPOCH_WINDOWS = 192   # the DoubleConv VAE costs ~10x an LSTM per window
VAE_BATCH_SIZE = 32
VAL_WINDOWS = 128
PLATEAU_FACTOR, PLATEAU_PATIENCE, MIN_LR = 0.5, 1, 1e-5


@dataclass
class TrainedNetwork:
    """A trained experiment: its network(s), the per-epoch history, and its best epoch's weights loaded."""

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
        import tensorflow as tf
        out = []
        for i in range(0, len(x), batch_size):
            out.append(_prediction(self, tf.constant(x[i:i + batch_size]), sample=False).numpy())
        return np.concatenate(out) if out else np.zeros_like(x)

    def sample(self, n, seed=0, temperature=1.0):
        """n windows decoded from z ~ N(0, temperature^2 I) (VAEs only)."""
        import tensorflow as tf
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
    import tensorflow as tf
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
    import tensorflow as tf
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
    """Train `experiment` on train_rolls.x, choose its best epoch on val_rolls.x; a TrainedNetwork.

    Runs with TensorFlow's op determinism on (so a seed repeats the run exactly) and switches it back
    off afterwards: it is process-wide, and MusicVAE's graphs elsewhere in the process (generation,
    evaluation, the web page) use unseeded random ops that it would refuse.
    """
    load_keras()  # Keras 2 before TensorFlow loads any Keras
    import tensorflow as tf
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
    load_keras().utils.set_random_seed(seed)
    run = _Training(e, train_rolls.x, val_rolls.x, seed, epoch_windows, batch_size)
    epochs = epochs or e.run_epochs
    history, nan_at, snapshots = [], None, {}
    cpu0 = time.process_time()
    for epoch in range(1, epochs + 1):
        t0 = time.process_time()
        losses = run.train_epoch()
        if not math.isfinite(losses[-1]):
            nan_at = f"epoch {epoch}, step {len(losses)}"
            history.append(dict(epoch=epoch, train_loss=float("nan"), val_loss=float("nan"), val_l2=float("nan"),
                                lr=run.step_lr, beta=float(run.beta.numpy()), seconds=time.process_time() - t0))
            log(f"  {e.name}: loss {losses[-1]} at {nan_at}; stopping")
            break
        val_loss, val_l2 = run.validate()
        if not math.isfinite(val_loss):
            nan_at = f"epoch {epoch} (validation)"
        history.append(dict(epoch=epoch, train_loss=float(np.mean(losses)), val_loss=val_loss, val_l2=val_l2,
                            lr=run.step_lr, beta=float(run.beta.numpy()), seconds=time.process_time() - t0))
        log(f"  {e.name} epoch {epoch}/{epochs}: train {np.mean(losses):.5f}  val {val_loss:.5f}  "
            f"val L2 {val_l2:.5f}  lr {run.step_lr:.2g}  ({time.process_time() - t0:.0f} CPU-s)")
        if nan_at:
            break
        run.keep_if_best(epoch, val_loss)
        for k in snapshot_epochs:
            if epoch == k:
                snapshots[k] = (run.best_epoch, run.best_weights)
        run.lower_lr_on_plateau(epoch, val_loss)
        if e.early_stopping_patience and run.since_best >= e.early_stopping_patience:
            log(f"  {e.name}: early stop, no better validation for {run.since_best} epochs")
            break
    trained = TrainedNetwork(e, run.built, history, run.best_epoch, nan_at, snapshots, time.process_time() - cpu0,
                           run.pos_weight)
    if run.best_epoch:
        trained.set_weights(run.best_weights)
    return trained


class _Training:
    """One run's model, optimizer, batches and schedules, the steps of an epoch, and its best epoch so far.

    Everything seeded is made here in one fixed order (the model's weights, the validation subset, the
    batch order, the VAE noise), so a seed repeats the run.
    """

    def __init__(self, e, x_train, x_val, seed, epoch_windows, batch_size):
        import tensorflow as tf
        self.e = e
        steps, keys = x_train.shape[1:]
        self.built = build(e, keys, steps)
        self.models = _models(self.built)
        epoch_windows = epoch_windows or (VAE_EPOCH_WINDOWS if e.is_vae else EPOCH_WINDOWS)
        batch_size = min(batch_size or (VAE_BATCH_SIZE if e.is_vae else BATCH_SIZE), len(x_train))
        self.steps_per_epoch = max(1, min(epoch_windows, len(x_train)) // batch_size)
        rng = np.random.default_rng(seed)
        self.x_val = x_val[np.sort(rng.permutation(len(x_val))[:VAL_WINDOWS])]
        self.batches = _batches(x_train, batch_size, rng)
        positives = float(x_train.mean())
        self.pos_weight = (1.0 - positives) / max(positives, 1e-6)

        self.optimizer = load_keras().optimizers.Adam(e.learning_rate, clipnorm=e.clipnorm)
        eps_gen = tf.random.Generator.from_seed(seed)
        self.beta = tf.Variable(1.0, trainable=False)  # the KL term's weight, warmed up over kl_warmup_epochs
        self.train_step, self.val_step = _step_functions(e, self.built, self.pos_weight, self.optimizer, self.beta,
                                                         eps_gen)

        self.lr, self.step_lr, self.global_step = e.learning_rate, e.learning_rate, 0
        self.warmup_steps = e.lr_warmup_epochs * self.steps_per_epoch
        self.kl_steps = e.kl_warmup_epochs * self.steps_per_epoch
        self.best, self.best_epoch, self.since_best = math.inf, 0, 0
        self.best_weights = [m.get_weights() for m in self.models]
        self.best_for_plateau, self.since_lr_drop = math.inf, 0

    def train_epoch(self):
        """One epoch of steps on the next batches, the learning rate and beta warmed up by step; the losses,
        ending at the first NaN/Inf one."""
        import tensorflow as tf
        losses = []
        for _ in range(self.steps_per_epoch):
            batch = next(self.batches)
            self.global_step += 1
            self.step_lr = self.lr * min(1.0, self.global_step / self.warmup_steps) if self.warmup_steps else self.lr
            self.optimizer.learning_rate.assign(self.step_lr)
            self.beta.assign(min(1.0, self.global_step / self.kl_steps) if self.kl_steps else 1.0)
            losses.append(float(self.train_step(tf.constant(batch))))
            if not math.isfinite(losses[-1]):
                break
        return losses

    def validate(self):
        """(objective, L2 of the prediction) on the validation subset, means over its windows."""
        import tensorflow as tf
        losses, l2s, n = 0.0, 0.0, 0
        for i in range(0, len(self.x_val), 128):
            xb = tf.constant(self.x_val[i:i + 128])
            loss, l2 = self.val_step(xb)
            losses += float(loss) * len(xb)
            l2s += float(l2) * len(xb)
            n += len(xb)
        return losses / n, l2s / n

    def keep_if_best(self, epoch, val_loss):
        if val_loss < self.best:
            self.best, self.best_epoch, self.since_best = val_loss, epoch, 0
            self.best_weights = [m.get_weights() for m in self.models]
        else:
            self.since_best += 1

    def lower_lr_on_plateau(self, epoch, val_loss):
        """After the warm-up, learning rate x PLATEAU_FACTOR (not under MIN_LR) once PLATEAU_PATIENCE epochs
        pass without a better validation objective (the original's ReduceLROnPlateau)."""
        if not (self.e.reduce_lr_on_plateau and epoch > self.e.lr_warmup_epochs):
            return
        if val_loss < self.best_for_plateau:
            self.best_for_plateau, self.since_lr_drop = val_loss, 0
        else:
            self.since_lr_drop += 1
            if self.since_lr_drop > PLATEAU_PATIENCE - 1:
                self.lr, self.since_lr_drop = max(MIN_LR, self.lr * PLATEAU_FACTOR), 0


def _batches(x, batch_size, rng):
    """Training batches without end: a seeded order of the whole split, reshuffled each time it runs out."""
    order, cursor = rng.permutation(len(x)), 0
    while True:
        if cursor + batch_size > len(order):
            order, cursor = rng.permutation(len(x)), 0
        yield x[np.sort(order[cursor:cursor + batch_size])]
        cursor += batch_size


def _step_functions(e, built, pos_weight, optimizer, beta, eps_gen):
    """(train_step, val_step), tf.functions of one batch: train_step takes one optimizer step (a VAE's noise
    drawn from eps_gen) and returns the loss; val_step returns the objective at beta 1 and the L2."""
    import tensorflow as tf
    models = _models(built)
    variables = [v for m in models for v in m.trainable_variables]

    @tf.function
    def train_step(x):
        eps = None
        if e.is_vae:
            latent = models[1].input_shape[1:]
            eps = eps_gen.normal(tf.concat([tf.shape(x)[:1], latent], 0))
        with tf.GradientTape() as tape:
            loss, _, _, _ = objective(e, built, x, pos_weight, beta, eps, training=True)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function
    def val_step(x):
        loss, _, _, prediction = objective(e, built, x, pos_weight, 1.0, None, training=False)
        return loss, tf.reduce_mean(tf.square(prediction - x))

    return train_step, val_step
