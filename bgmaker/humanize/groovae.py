"""The trained humanizer: a GrooVAE that plays given hits with a drummer's velocities and timing.

The model (bgmaker_configs.architectures.groovae_humanize, Magenta's
GrooVAE) reads a window of hits with no velocity or timing, encodes it to z
and decodes, step by step, (hit, velocity, offset) for each of the 9 drums.
Its decoder is autoregressive: each step reads the previous step's output.
Left to itself it would also choose the hits (Bernoulli draws), and could
add or drop one; a humanizer must not change what the user wrote.

`HitForcedGrooveDecoder` is Magenta's GrooveLstmDecoder with one change at
inference: the hits of each step are the input's, not drawn, so the next
step reads the hits the user wrote and every velocity and offset belongs to
one of them. With `force` off it takes its own most likely hits (logit > 0)
instead, which is how the evaluation measures how often the decoder
disagrees with the input (`GrooveHumanizer.own_hits`). Nothing is random:
z is the encoder's mean and the hits are given, so a window is always
played the same way (the `seed` of `play` is accepted for the template's
sake and changes nothing here).
"""
import numpy as np

from bgmaker.data.groove import N_CLASSES, windows_of

_COLLECTION = "bgmaker_forced_hits"
HIT_FLOOR = 0.005  # the smallest p(hit) a forced hit's velocity and offset are divided by (reports/humanize_hit_floor.md)


def _decoder_class():
    from bgmaker import compat
    compat.apply()
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import lstm_models

    class HitForcedGrooveDecoder(lstm_models.GrooveLstmDecoder):
        """GrooveLstmDecoder whose sampled hits are the input's (force 1) or its own most likely (force 0)."""

        def build(self, hparams, output_depth, is_training=True):
            super().build(hparams, output_depth, is_training)
            shape = [hparams.batch_size, hparams.max_seq_len, output_depth // 3]
            with tf.name_scope(None):
                def local(name, value_shape, dtype):
                    return tf.Variable(tf.zeros(value_shape, dtype), trainable=False, use_resource=True,
                                       name=f"bgmaker_{name}", collections=[tf.GraphKeys.LOCAL_VARIABLES, _COLLECTION])
                self._forced = [local("forced_hits", shape, tf.float32), local("force", [], tf.float32),
                                local("forced_step", [], tf.int32)]

        def _sample(self, rnn_output, temperature=1.0):
            hits_var, force_var, step_var = self._forced
            logits, velocities, offsets = tf.split(rnn_output, 3, axis=1)
            with tf.control_dependencies([rnn_output]):  # steps run in order: count after this step's output
                step = step_var.assign_add(1) - 1
            step = tf.minimum(step, tf.shape(hits_var)[1] - 1)
            given = hits_var.read_value()[:tf.shape(rnn_output)[0], step]
            own = tf.cast(logits > 0, tf.float32)
            velocities, offsets = tf.nn.sigmoid(velocities), tf.nn.tanh(offsets)
            # Given a hit: the decoder's velocity and offset outputs were trained with 0 where there is no hit,
            # so they estimate p(hit) x the value given a hit; the hit is certain here, so divide by p(hit)
            # (floored: HIT_FLOOR). Where there is no hit, 0, as in the inputs the decoder was trained on.
            p_hit = tf.maximum(tf.nn.sigmoid(logits), HIT_FLOOR)
            forced_velocities = given * tf.minimum(velocities / p_hit, 1.0)
            forced_offsets = given * tf.clip_by_value(offsets / p_hit, -1.0, 1.0)
            hits = force_var * given + (1 - force_var) * own
            velocities = force_var * forced_velocities + (1 - force_var) * velocities
            offsets = force_var * forced_offsets + (1 - force_var) * offsets
            return tf.concat([hits, velocities, offsets], axis=1)

    return HitForcedGrooveDecoder


class GrooveHumanizer:
    """A trained humanize model, loaded once. `play(hits)` -> (velocity, offset), as the template's."""

    name = "groovae"

    def __init__(self, checkpoint, batch_size=64, config=None):
        import bgmaker_configs
        bgmaker_configs.register()  # the compat shims, before Magenta is imported
        import tensorflow.compat.v1 as tf
        from magenta.models.music_vae import TrainedModel

        from bgmaker import models
        from bgmaker_configs import HUMANIZE_MODEL_NAMES, MODEL_WINDOWS
        from bgmaker_configs.architectures import groovae_humanize
        self.checkpoint = models.resolve_checkpoint(checkpoint)
        config = config or models.run_record(self.checkpoint).get("model")
        if config not in HUMANIZE_MODEL_NAMES:
            raise models.ModelMismatchError(f"{self.checkpoint} is not a humanize model "
                                            f"(trained as {config!r}; expected one of {', '.join(HUMANIZE_MODEL_NAMES)})")
        self.config_name = config
        bars, _ = MODEL_WINDOWS[config]
        built = models.config_for(groovae_humanize(bars, _decoder_class()()), self.checkpoint)
        # fp32 LSTMs whatever the CPU ("auto" would be bf16 on CPUs with hardware bf16): the same playing, and the
        # same shipped figures (check.json), on every machine; a humanize run is small enough not to miss bf16.
        built.hparams.lstm_precision = "fp32"
        self.window_steps = built.hparams.max_seq_len
        self.batch_size = batch_size
        self._model = TrainedModel(built, batch_size=batch_size, checkpoint_dir_or_path=self.checkpoint)
        session = self._session = self._model._sess
        with session.graph.as_default():
            hits_var, force_var, step_var = session.graph.get_collection(_COLLECTION)
            self._hits_in = tf.placeholder(tf.float32, hits_var.shape)
            self._force_in = tf.placeholder(tf.float32, [])
            self._reset = tf.group(hits_var.assign(self._hits_in), force_var.assign(self._force_in),
                                   step_var.assign(0))

    def _decode(self, hits, force):
        """Decoder outputs [n, steps, 27] for hit windows [n, steps, 9] (one TensorFlow run per batch)."""
        n, steps = len(hits), self.window_steps
        inputs = [np.concatenate([h, np.zeros_like(h), np.zeros_like(h)], axis=1).astype(np.float32) for h in hits]
        _, mu, _ = self._model.encode_tensors(inputs, [steps] * n)
        out = []
        for i in range(0, n, self.batch_size):
            chunk = np.zeros((self.batch_size, steps, N_CLASSES), np.float32)
            part = hits[i:i + self.batch_size]
            chunk[:len(part)] = part
            self._session.run(self._reset, {self._hits_in: chunk, self._force_in: float(force)})
            out.extend(self._model.decode_to_tensors(mu[i:i + self.batch_size], length=steps))
        return np.asarray(out)

    def _windows(self, hits):
        hits = np.asarray(hits, bool)
        split = [windows_of(grid, self.window_steps) for grid in hits]
        return hits.shape, np.concatenate(split).astype(np.float32), len(split[0])

    def play(self, hits, seed=0, styles=None):
        """(velocity, offset) [n, steps, 9] (MIDI velocity; 16th steps, + = late) for hit grids [n, steps, 9].

        Longer grids are played in consecutive windows of the model's length.
        """
        shape, windows, per_grid = self._windows(hits)
        out = self._decode(windows, force=True).reshape(shape[0], per_grid * self.window_steps, 3 * N_CLASSES)
        out = out[:, :shape[1]]
        velocity = np.clip(np.round(out[..., N_CLASSES:2 * N_CLASSES] * 127), 1, 127)
        offset = np.clip(-out[..., 2 * N_CLASSES:] / 2, -0.5, 0.5)  # Magenta's +1 = half a step early
        hits = np.asarray(hits, bool)
        return np.where(hits, velocity, 0.0), np.where(hits, offset, 0.0)

    def own_hits(self, hits):
        """The hits [n, steps, 9] the decoder would play for these inputs if it chose them itself."""
        shape, windows, per_grid = self._windows(hits)
        out = self._decode(windows, force=False).reshape(shape[0], per_grid * self.window_steps, 3 * N_CLASSES)
        return out[:, :shape[1], :N_CLASSES] > 0.5

    def close(self):
        self._session.close()
