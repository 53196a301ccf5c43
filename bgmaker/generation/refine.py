"""Refine an input beat's latent code against the decoder, so the model plays the user's beat back faithfully.

Why: the encoder's mean is an amortized guess. On the shipped low-KL models
(about 51 bits per window) decoding it drifts from the input: GMD's rock test
windows come back at ~0.5 step accuracy, and grooves outside the training
style come back as something else. The decoder itself says which code
explains the beat best, so each input's code is refined by gradient descent,
starting at the encoder's mean (semi-amortized / iterative inference: Kim et
al. 2018, Marino et al. 2018):

    z* = argmin_z  -log p(x | z) + lam * |z|^2 / 2

with -log p(x | z) the decoder's teacher-forced reconstruction loss of the
window (Magenta's `decoder.reconstruction_loss`, summed over its 64 steps,
in nats) and lam * |z|^2 / 2 the prior's pull (N(0, I) up to lam), which
keeps z where the decoder is used to being. Every weight is frozen; only z
moves, by Adam (`steps` fixed, `learning_rate`), each row on its own: a
row's update never reads another row, so a beat's refined code does not
depend on what else is in the batch. Nothing is random: the same input
gives the same code to the bit, in any process and whatever the batch (the
session's comment and MIN_BATCH say what that takes).

`Refiner` builds that graph once on a loaded model's config and checkpoint
(bgmaker.generation.generator.BeatGenerator owns one), and `refine()` runs
the steps, returning the codes and the loss curve.
"""
import copy
import time
import zlib

import numpy as np

# Chosen on validation windows of every GMD style and of rock, for both shipped models
# (reports/refine.md): the knee of accuracy against steps; lambda 1 pulls z to a third of the
# encoder's norm and gains less; a learning rate of 0.2 gains no more at 100 steps and moves |z| further.
DEFAULT_STEPS = 100
DEFAULT_LEARNING_RATE = 0.05
DEFAULT_PRIOR_WEIGHT = 0.1
# The web page's default: most of the gain, chosen for its 1.5 s budget at ~45 ms a step; the one-thread
# session (below) costs one beat ~2-2.5x that on these CPUs (~110 ms a step with training paused), so the page
# shows the refinement's progress.
INTERACTIVE_STEPS = 25
# ... at 4x the learning rate: at 25 steps it gains +0.022 to +0.042 step accuracy over 0.05 on the four validation
# sets (reports/refine.md), and the paths between its codes, with generate's end keys, are as smooth on v1_all and
# 0.003 a step rougher on v2_rock_beat, more real on both (reports/refine_paths.md).
INTERACTIVE_LEARNING_RATE = 0.2
ADAM = dict(beta1=0.9, beta2=0.999, epsilon=1e-8)
# The smallest batch the generator's graphs run (its encoder and decoder, its refiner): a batch of one row is a
# matrix-vector product, whose kernel sums in another order than the matrix-matrix one, and the refinement's Adam
# grows that ~1e-6 into different beats (shipped v2_rock_beat, 16 validation windows x 100 steps: 2 of 16 beats
# differed between refiner batch 1 and batch 5 or 16). From two rows up a row's codes are the same to the bit
# whatever the batch and the row's place in it (refiner batches 2, 3, 5, 8 compared).
MIN_BATCH = 2


class Refiner:
    """The teacher-forced loss of windows under latent codes z, and its gradient in z, on one checkpoint."""

    def __init__(self, config, checkpoint, batch_size):
        batch_size = max(batch_size, MIN_BATCH)
        import tensorflow.compat.v1 as tf
        from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

        from bgmaker.evaluation.scoring import restore
        hparams = copy.deepcopy(config.hparams)
        hparams.batch_size = batch_size
        hparams.sampling_schedule, hparams.sampling_rate = "constant", 0.0  # teacher-forced
        converter = config.data_converter
        self.batch_size, self.z_size = batch_size, hparams.z_size
        self.steps, self.depth = hparams.max_seq_len, converter.output_depth
        model = copy.deepcopy(config.model)
        self.graph = tf.Graph()
        with self.graph.as_default():
            model.build(hparams, converter.output_depth, is_training=False)
            self._target = tf.placeholder(tf.float32, [batch_size, self.steps, self.depth])
            self._length = tf.placeholder(tf.int32, [batch_size])
            self._z = tf.placeholder(tf.float32, [batch_size, self.z_size])
            self._prior_weight = tf.placeholder(tf.float32, [])
            # As MusicVAE._compute_model_loss: the decoder reads the target shifted right by one step.
            shifted = tf.pad(self._target[:, :-1], [(0, 0), (1, 0), (0, 0)])
            r_loss = model.decoder.reconstruction_loss(shifted, self._target, self._length, self._z)[0]
            self._r_loss = r_loss
            self._objective = r_loss + self._prior_weight * 0.5 * tf.reduce_sum(tf.square(self._z), axis=1)
            # Repeatable codes, to the bit, in any process: Grappler's memory optimizer rewrites large sums of
            # gradient terms into accumulators (gradients/AddN_*/tmp_var) that add the terms in the order they
            # arrive, which the executor's scheduling decides; codes then moved ~1e-7 a step and Adam grew that
            # into different beats by ~10 steps (24 windows x 100 steps differed in every pair of processes).
            # With that optimizer off, AddN sums in a fixed order. Gated gradients, and a session of one thread in
            # pools of its own (bgmaker.compat.thread_pools_per_session), keep every kernel on one fixed path.
            # Measured: 24 windows x 100 steps the same in 3 of 3 processes; one beat ~110 ms a step on these
            # CPUs with training paused (the process's 2-thread pools: ~85 ms, also repeatable, but then the
            # figures would depend on the machine's core count).
            self._gradient = tf.gradients(tf.reduce_sum(self._objective), self._z, gate_gradients=True)[0]
            saver = tf.train.Saver(tf.global_variables())
            session_config = tf.ConfigProto(
                inter_op_parallelism_threads=1, intra_op_parallelism_threads=1, use_per_session_threads=True)
            session_config.graph_options.rewrite_options.memory_optimization = RewriterConfig.NO_MEM_OPT
            self._session = tf.Session(config=session_config)
            restore(tf, self._session, saver, checkpoint)
            self._session.run(tf.local_variables_initializer())

    def _run(self, fetches, target, length, z, prior_weight):
        return self._session.run(fetches, {self._target: target, self._length: length, self._z: z,
                                           self._prior_weight: prior_weight})

    def refine(self, targets, z0, steps=DEFAULT_STEPS, learning_rate=DEFAULT_LEARNING_RATE,
               prior_weight=DEFAULT_PRIOR_WEIGHT, progress=None, snapshots=(), anchor_weight=0.0, noise=None,
               weights=None, free_dims=None):
        """Refined codes [n, z_size] for windows `targets` [n, steps, depth] from codes `z0` [n, z_size].

        Returns (z, history): history has the reconstruction loss [n] before
        and after, the seconds taken, and `snapshots`: {step: codes [n, z_size]}
        for each step asked (the codes a shorter refinement would have given).
        `steps` 0 returns z0 unchanged. anchor_weight: adds anchor_weight * |z - z0|^2 / 2 to the objective,
        which holds the codes near where they started (the encoder's means); generate leaves it at 0, since
        on validation it bought smoother interpolations only with the accuracy gain (reports/refine_anchor.md).
        noise: [n, z_size] standard deviations (e.g. a scale times the encoder's sigma): each step's gradient is
        then taken at z + noise * e, e ~ N(0, I), so the codes descend the loss expected over a posterior around
        them (Kim et al. 2018 refine the ELBO so) and settle where the decoder is flat rather than in a sharp
        dip. e comes from a generator seeded by the row's own target, so a row's code still depends on nothing
        else in the batch. generate leaves it None: on validation it made the paths between refined codes no
        smoother and cost accuracy (reports/refine_paths.md).
        weights: [n, k] with targets [n, k, steps, depth]: each code explains k windows at once, minimising
        sum_j weights[i, j] * (-log p(x_ij | z) + prior_weight * |z|^2 / 2) (a point between two beats refined
        on both, as reports/refine_paths_coupled.py tries; weights summing to 1 keep the prior's pull); the
        loss in history is the weighted sum of the windows' losses. Each code's k rows share a run, so the
        batch must hold k rows.
        free_dims: [z_size] of 0/1: only these latent dimensions move (reports/refine_paths_coupled.py).
        Neither is used by generate: on validation no path built with them was as smooth as the encoder
        means' (reports/refine_paths_coupled.md).
        """
        targets = np.asarray(targets, np.float32)
        if weights is None:
            targets, k = targets[:, None], 1
        else:
            weights = np.asarray(weights, np.float64)
            k = weights.shape[1]
            if weights.shape != targets.shape[:2]:
                raise ValueError(f"weights {weights.shape} do not match targets {targets.shape[:2]}")
            if k > self.batch_size:
                raise ValueError(f"{k} windows a code do not fit the refiner's batch of {self.batch_size}")
        per = self.batch_size // k  # codes a run
        z0 = np.asarray(z0, np.float32).reshape(len(targets), self.z_size)
        if noise is not None:
            noise = np.broadcast_to(np.asarray(noise, np.float64), z0.shape)
        start = time.perf_counter()
        out, before, after = [], [], []
        taken = {s: [] for s in snapshots if 0 <= s <= steps}
        for begin in range(0, len(targets), per):
            real = min(per, len(targets) - begin)
            target = _pad(targets[begin:begin + real].reshape((real * k,) + targets.shape[2:]), self.batch_size)
            length = np.r_[np.full(real * k, self.steps), np.zeros(self.batch_size - real * k)].astype(np.int32)
            share = None if weights is None else weights[begin:begin + real]

            def run(fetch, z):
                """fetch for codes z [real, z_size], each fed to its k rows, summed over them by weight."""
                rows = self._run(fetch, target, length, _pad(np.repeat(z, k, axis=0), self.batch_size).astype(
                    np.float32), prior_weight)[:real * k]
                if share is None:
                    return rows
                return (rows.reshape((real, k) + rows.shape[1:]) * share.reshape((real, k) + (1,) * (rows.ndim - 1))
                        ).sum(axis=1)

            z = z0[begin:begin + real].astype(np.float64)
            origin = z.copy()
            if noise is not None:
                spread = noise[begin:begin + real]
                streams = [np.random.default_rng(zlib.crc32(row.tobytes())) for row in targets[begin:begin + real]]
            m, v = np.zeros_like(z), np.zeros_like(z)
            before.append(run(self._r_loss, z))
            if 0 in taken:
                taken[0].append(z.astype(np.float32))
            for t in range(1, steps + 1):
                at = z
                if noise is not None:
                    at = z + spread * np.stack([stream.standard_normal(self.z_size) for stream in streams])
                g = run(self._gradient, at).astype(np.float64)
                if anchor_weight:
                    g += anchor_weight * (z - origin)
                if free_dims is not None:
                    g = g * free_dims
                m = ADAM["beta1"] * m + (1 - ADAM["beta1"]) * g
                v = ADAM["beta2"] * v + (1 - ADAM["beta2"]) * g * g
                m_hat, v_hat = m / (1 - ADAM["beta1"] ** t), v / (1 - ADAM["beta2"] ** t)
                z -= learning_rate * m_hat / (np.sqrt(v_hat) + ADAM["epsilon"])
                if t in taken:
                    taken[t].append(z.astype(np.float32))
                if progress:
                    progress(begin + real, len(targets), t, steps)
            z = z.astype(np.float32)
            after.append(run(self._r_loss, z))
            out.append(z)
        return np.concatenate(out), dict(r_loss_before=np.concatenate(before), r_loss_after=np.concatenate(after),
                                         seconds=time.perf_counter() - start,
                                         snapshots={s: np.concatenate(v) for s, v in taken.items()})

    def close(self):
        self._session.close()


def _pad(batch, size):
    return np.concatenate([batch, np.zeros((size - len(batch),) + batch.shape[1:], batch.dtype)])
