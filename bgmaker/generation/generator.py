"""Generate 4-bar drum beats from a trained model: sample, encode/decode, interpolate, vary.

`BeatGenerator` loads Magenta's `TrainedModel` once and keeps it, so a
notebook or a long-lived process pays the model build (seconds) once and then
decodes many beats per second; the CLI (`bgmaker generate`), the benchmark and
the tests all go through it.

Reproducibility: every method takes a `seed`. The latent vectors are drawn
with `numpy.random.default_rng(seed)` and the decoder's temperature sampling
is seeded too (bgmaker.generation.seeded_sampling), so a beat is a pure function of
(z, temperature, seed): the same call gives byte-identical MIDI in any
process, `sample(4, seed=s)` is the first half of `sample(8, seed=s)`, and an
interpolation's endpoints are exactly `reconstruct(a)` and `reconstruct(b)`.

An input beat's latent code is refined against the decoder before it is
decoded (bgmaker.generation.refine: from the encoder's mean, `refine_steps`
Adam steps on the teacher-forced loss plus a small prior term), so
`reconstruct`, `variations` and `interpolate` play the user's beat back
faithfully; `refine_steps=0` gives the encoder's mean, as Magenta does.
Refinement is deterministic (bit-identical codes from call to call and in
any process; across batch sizes equal to float32 rounding:
bgmaker.generation.refine), so all of the above still holds.

Input beats (MIDI paths or NoteSequences) are cut into 4-bar windows by
bgmaker.data.windows, the same windows training uses (bar-aligned, 1-bar hop,
silent windows dropped); the first window is used, or the one starting at
`start_bar`. An input with no such window (no drums, not 4/4, shorter than
4 bars, unreadable) raises UnusableMidiError naming the file, where Magenta
raises NoExtractedExamplesError or music_vae_generate just exits.
"""
import hashlib
import secrets

import numpy as np

from bgmaker.data.midi import find_window  # noqa: F401  (re-exported: the window a generator encodes)

DEFAULT_TEMPERATURE = 0.5  # music_vae_generate's default
DEFAULT_BATCH_SIZE = 8
DEFAULT_NOISE = 0.3  # variations: std of the noise added to a beat's code, in units of the prior's std
# sample: how many times a beat identical to a train window is drawn again before it is kept (sample_new_z)
COPY_GUARD_TRIES = 8


# What an evaluation's settings record of path_keys, so a report made with other keys is told apart
PATH_KEYS = "the nearer end's sampling key at each point between the ends (generator.path_keys)"


def path_keys(key_a, key_b, steps):
    """The sampling keys of an interpolation's `steps` points: the ends keep their own (so they are exactly the
    ends' reconstructions), and each point between takes the nearer end's (the first half a's, the rest b's).

    Why: at temperature 0.5 the decoder samples, and a key per point made neighbouring beats differ by
    independent sampling draws as well as by where they sit on the path; with the nearer end's key, a step
    next to an end differs from it by the path alone, and the draws change once, mid-way. On validation
    (reports/refine_paths.md, 64 pairs a model) this made the paths between refined codes smoother than a
    key per point (v1_all 0.058 -> 0.050 Hamming cells a step, v2_rock_beat 0.064 -> 0.052) and as smooth
    as one key shared by the points between, with their in-between beats more real than either.
    """
    return [key_a if i < steps / 2 else key_b for i in range(steps)]


def random_seed():
    """A fresh seed for callers that want variety but must be able to repeat it."""
    return secrets.randbits(31)


def item_key(*parts):
    """A 32-bit sampling key for one decoded item, from what identifies it (bytes, str, int).

    The decoder's sampling noise is keyed per item (bgmaker.generation.seeded_sampling):
    an input beat by the bytes of its window, the steps between an interpolation's
    ends by the nearer end's key (path_keys). So the same seed gives the same beats whatever
    the batch size, and an interpolation's ends are the inputs' reconstructions.
    """
    h = hashlib.blake2b(digest_size=4)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"|")
    return int.from_bytes(h.digest(), "little")


def _slerp(p0, p1, t):
    """Spherical interpolation; linear when the two vectors are (anti)parallel."""
    cos = np.dot(p0 / np.linalg.norm(p0), p1 / np.linalg.norm(p1))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1.0 - t) * p0 + t * p1
    return (np.sin((1.0 - t) * omega) * p0 + np.sin(t * omega) * p1) / np.sin(omega)


def interpolation_z(mu_a, mu_b, steps):
    """The `steps` latent points [steps, z_size] of an interpolation from mu_a to mu_b, ends included.

    Slerp at evenly spaced t, with the ends exactly mu_a and mu_b, so the
    ends decode to the inputs' reconstructions. BeatGenerator.interpolate and
    the evaluation (bgmaker.evaluation.evaluate) both take their paths from here.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    z = np.stack([_slerp(mu_a, mu_b, t) for t in np.linspace(0.0, 1.0, steps)])
    z[0], z[-1] = mu_a, mu_b
    return z


def vary(code, n, noise=DEFAULT_NOISE, seed=0):
    """n latent points near `code` [z_size]: code + noise * N(0, I), drawn from `seed`.

    Row 0 gets noise too (at noise 0 every row is `code`). BeatGenerator.variations
    and the evaluation's variation realism both take their points from here.
    """
    return code + noise * np.random.default_rng(seed).standard_normal((n, np.shape(code)[-1]))


def cymbal_extremes(beats):
    """Indices (most, least) of the beats with the highest and lowest crash + ride density.

    Ties go to the earlier beat; with all beats equal, (0, 1) so that the two ends differ.
    """
    from bgmaker.metrics.structure import cymbal_density
    from bgmaker.data.windows import to_grid
    density = np.array([float(cymbal_density(to_grid(ns))) for ns in beats])
    most, least = int(np.argmax(density)), int(np.argmin(density))
    if most == least:
        most, least = 0, 1
    return most, least


class BeatGenerator:
    """A trained 4-bar drum MusicVAE, loaded once.

    Build it with `BeatGenerator.load(run=..., checkpoint=...)`, which asks
    bgmaker.models which checkpoint and config to use (and why: `self.choice`).
    The constructor takes a config (a CONFIG_MAP name or a Magenta Config) and
    a checkpoint (prefix, model folder, train/ dir or run dir); `hparams` is
    the override string the checkpoint was trained with (default: the one
    recorded beside it). `batch_size`: beats decoded per TensorFlow run; it
    changes speed, never the beats.

    Not thread-safe: each decode sets the sampling keys, then runs the graph.
    """

    def __init__(self, config, checkpoint, hparams=None, batch_size=DEFAULT_BATCH_SIZE, run=None,
                 refine_steps=None, refine_learning_rate=None, refine_prior_weight=None, refine_batch_size=None):
        from bgmaker import compat, models
        from bgmaker.errors import ModelMismatchError
        from bgmaker.generation.refine import MIN_BATCH
        # No graph of ours runs a batch of one row: its matrix-vector kernels round otherwise, and the
        # refinement grows that into other beats; so a one-file command and the page get the codes of a batch.
        batch_size = max(batch_size, MIN_BATCH)
        compat.apply()  # this builds a Magenta model: the shims before Magenta is imported (idempotent)
        from bgmaker.generation import seeded_sampling
        from bgmaker_configs.architectures import windows_converter
        import tensorflow.compat.v1 as tf
        from magenta.models.music_vae import TrainedModel

        self.checkpoint = models.resolve_checkpoint(checkpoint)
        self.config_name = run.name if run is not None else (config if isinstance(config, str) else None)
        self.config = seeded_sampling.seeded_config(models.config_for(config, self.checkpoint, hparams, run))
        self.z_size = self.config.hparams.z_size
        self.length = self.config.hparams.max_seq_len
        try:
            self._model = TrainedModel(self.config, batch_size=batch_size, checkpoint_dir_or_path=self.checkpoint)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:  # shapes check_fits cannot see
            reason = str(e).strip().splitlines()
            reason = next((line for line in reason if "shape" in line or "not found" in line), reason[0])
            raise ModelMismatchError(f"checkpoint {self.checkpoint} does not load into config "
                                     f"'{self.config_name}': {reason.strip()[:200]}") from None
        # TrainedModel keeps its session private; the sampling-key variables in its graph are ours.
        self._session = self._model._sess
        self._set_keys = seeded_sampling.key_setter(self._session)
        self.batch_size = batch_size
        self.choice = None
        # Input windows are encoded with the converter that keeps a stored window whole
        # (same tensors as every BGMaker config's; see bgmaker_configs.architectures).
        self._window_converter = windows_converter()
        self._window_converter.set_mode("infer")
        from bgmaker.generation import refine
        self.refine_steps = refine.DEFAULT_STEPS if refine_steps is None else int(refine_steps)
        self.refine_learning_rate = refine_learning_rate or refine.DEFAULT_LEARNING_RATE
        self.refine_prior_weight = refine.DEFAULT_PRIOR_WEIGHT if refine_prior_weight is None else refine_prior_weight
        if self.refine_steps < 0:
            raise ValueError(f"refine steps must be 0 or more, got {self.refine_steps}")
        self.refine_batch_size = max(refine_batch_size or batch_size, MIN_BATCH)
        self._refiner = None
        self._latent_map = False  # not looked for yet (bgmaker.generation.priors; None: the model has none)
        self.last_refinement = None  # the refinement history of the last encode (refine.Refiner.refine)
        self.refine_progress = None  # default progress(done, total, step, steps) of every refinement (the page's)

    @classmethod
    def load(cls, run=None, checkpoint=None, config=None, hparams=None, batch_size=DEFAULT_BATCH_SIZE,
             refine_steps=None, refine_learning_rate=None, refine_batch_size=None):
        """The generator for a run and/or a checkpoint (bgmaker.models.locate says which, and why)."""
        from bgmaker import models
        choice = models.locate(run, checkpoint, config)
        generator = cls(config or choice.config, choice.checkpoint, hparams, batch_size,
                        run=choice.run if config is None else None, refine_steps=refine_steps,
                        refine_learning_rate=refine_learning_rate, refine_batch_size=refine_batch_size)
        generator.choice = choice
        return generator

    # -- latent space ------------------------------------------------------

    def window(self, beat, start_bar=None):
        """The 4-bar window of `beat` that encode() uses (a NoteSequence), its model tensors and its key."""
        from bgmaker.errors import UnusableMidiError
        w = find_window(beat, start_bar)
        tensors = self._window_converter.to_tensors(w.sequence)
        if len(tensors.inputs) != 1:  # cannot happen for a bgmaker.data.windows window; say so if it does
            raise UnusableMidiError(f"{w.sequence.filename or 'the input'}: the model's converter made "
                                    f"{len(tensors.inputs)} examples of the window at bar {w.start_bar}")
        return w.sequence, tensors, item_key("window", np.asarray(tensors.inputs[0]).tobytes())

    def encode_with_keys(self, beats, start_bar=None, refine_steps=None, progress=None):
        """(latent codes [n, z_size], sampling keys [n]) of the beats' 4-bar windows.

        The codes are the encoder's means refined against the decoder
        (`refine_steps`, default the generator's; 0: the means themselves).
        progress(done_windows, total_windows, step, steps): called at each refinement step.
        """
        mu, _, keys, targets = self.encoded(beats, start_bar)
        steps = self.refine_steps if refine_steps is None else refine_steps
        progress = progress or self.refine_progress
        if steps:
            mu, self.last_refinement = self.refiner().refine(
                np.asarray(targets), mu, steps, self.refine_learning_rate, self.refine_prior_weight, progress)
        return mu, keys

    def encoded(self, beats, start_bar=None):
        """(mu, sigma, keys, target tensors) of the beats' windows: the encoder's posterior, unrefined, with
        what a caller refining the codes itself needs (the targets for Refiner.refine, as reports/refine_anchor.py)."""
        inputs, lengths, controls, keys, targets = [], [], [], [], []
        for beat in beats:
            _, t, key = self.window(beat, start_bar)
            inputs.append(t.inputs[0])
            lengths.append(t.lengths[0])
            controls.append(t.controls[0])
            targets.append(t.outputs[0])
            keys.append(key)
        _, mu, sigma = self._model.encode_tensors(inputs, lengths, controls)
        return mu, sigma, keys, targets

    def posterior(self, beats, start_bar=None):
        """(mu, sigma) [n, z_size]: the encoder's q(z | x) = N(mu, sigma^2) of each beat's window, unrefined
        (what the decoder was trained on: codes drawn from it; bgmaker.generation.priors fits on both)."""
        mu, sigma, _, _ = self.encoded(beats, start_bar)
        return np.asarray(mu), np.asarray(sigma)

    def refiner(self):
        """The refinement graph on this checkpoint (bgmaker.generation.refine), built on first use.

        Its LSTMs run in fp32 whatever lstm_precision says: on these CPUs fp32 is
        the faster at refinement's small batches (benchmarks/bench_refine.py), and
        a refined code is then the same to the bit whatever the batch (from
        refine.MIN_BATCH rows up), where bf16's moved by ~1e-2. Its batch is
        refine_batch_size (default: batch_size); a larger batch refines more
        windows per second (benchmarks/bench_refine.py; 256 ~2x 64 was measured
        before the one-thread session, which made one beat 2.3x slower and a batch of 64 no slower).
        """
        if self._refiner is None:
            import copy

            from bgmaker.generation.refine import Refiner
            config = copy.deepcopy(self.config)
            config.hparams.lstm_precision = "fp32"
            self._refiner = Refiner(config, self.checkpoint, self.refine_batch_size)
        return self._refiner

    def encode(self, beats, start_bar=None, refine_steps=None, progress=None):
        """Latent codes [n, z_size] of the beats' 4-bar windows (MIDI paths or NoteSequences), refined as
        encode_with_keys says."""
        return self.encode_with_keys(beats, start_bar, refine_steps, progress)[0]

    def decode(self, z, temperature=DEFAULT_TEMPERATURE, seed=None, keys=None):
        """4-bar beats (NoteSequences at 120 qpm) for latent vectors z [n, z_size].

        keys: one sampling key per row (item_key); default: a hash of each z's bytes.
        """
        from bgmaker.drums import DEFAULT_BPM, STEPS_PER_QUARTER
        from bgmaker.generation.seeded_sampling import row_keys
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.z_size)
        keys = row_keys(z) if keys is None else np.asarray(keys, np.int64)
        if len(keys) != len(z):
            raise ValueError(f"{len(keys)} sampling keys for {len(z)} latent vectors")
        seed = random_seed() if seed is None else seed
        beats = []
        for i in range(0, len(z), self.batch_size):  # one run per batch: the keys are per run
            self._set_keys(seed, keys[i:i + self.batch_size])
            beats += self._model.decode(z[i:i + self.batch_size], length=self.length, temperature=temperature)
        for ns in beats:
            qpm = ns.tempos[0].qpm if ns.tempos else DEFAULT_BPM
            ns.total_time = self.length * 60.0 / qpm / STEPS_PER_QUARTER
        return beats

    # -- what users ask for -------------------------------------------------

    def latent_map(self):
        """The model's priors and attribute vectors (bgmaker.generation.priors.LatentMap, fitted by
        `bgmaker priors` into the checkpoint's folder), or None when it has none."""
        if self._latent_map is False:
            from pathlib import Path

            from bgmaker.generation.priors import LatentMap
            self._latent_map = LatentMap.load(Path(self.checkpoint).parent)
        return self._latent_map

    def prior(self, name=None):
        """The prior called `name` (priors.NORMAL, priors.RUN, a GMD style, "beat", "fill", priors.MIXTURE,
        priors.CLUSTERS); None: the model's default (chosen on validation when its priors were fitted; N(0, I)
        for a model without priors)."""
        from bgmaker.generation.priors import NORMAL, UnknownPriorError, normal_prior
        latent = self.latent_map()
        if latent is None:
            if name not in (None, NORMAL):
                raise UnknownPriorError(f"this model ({self.checkpoint}) has no priors, so no '{name}': fit them "
                                        "with `bgmaker priors --run RUN` (or sample from 'normal')")
            return normal_prior(self.z_size)
        return latent.prior(latent.default_prior if name is None else name)

    def steer(self, z, more=None):
        """z plus the model's attribute vectors ({attribute: amount}, bgmaker.generation.priors.parse_more)."""
        if not more:
            return np.asarray(z, np.float32)
        latent = self.latent_map()
        if latent is None:
            from bgmaker.generation.priors import UnknownPriorError
            raise UnknownPriorError(f"this model ({self.checkpoint}) has no attribute vectors: fit them with "
                                    "`bgmaker priors --run RUN`")
        return latent.steer(z, more)

    def sample_z(self, n, seed, prior=None, more=None):
        """n latent vectors from `prior` (self.prior's names), steered by `more`; row i does not depend on n."""
        return self.steer(self.prior(prior).sample(n, seed), more)

    def sample(self, n=1, temperature=DEFAULT_TEMPERATURE, seed=None, prior=None, more=None):
        """n new beats from the prior (by name, default the model's; see prior()), steered by `more`; none a
        train window unchanged (sample_new_z)."""
        seed = random_seed() if seed is None else seed
        return self.sample_new_z(n, temperature, seed, prior, more)[1]

    def sample_new_z(self, n, temperature, seed, prior=None, more=None):
        """(z [n, z_size], beats): sample_z decoded, with the copy guard: a beat identical to one of the model's
        train windows (LatentMap.copies: their grids' hashes ship with the priors) is drawn again, row i's
        attempt k from seed (seed, i, k), up to COPY_GUARD_TRIES times. A small style prior can otherwise hand a
        train window back unchanged (country, 116 windows: 14 of 512 samples; models/v1_all/
        priors_evaluation.md, which measures the priors themselves, unguarded). Row i still does not depend on n.
        """
        z = self.sample_z(n, seed, prior, more)
        beats = self.decode(z, temperature, seed)
        latent = self.latent_map()
        if latent is None or latent.train_hashes is None:
            return z, beats
        from bgmaker.data.windows import to_grid
        for attempt in range(1, COPY_GUARD_TRIES + 1):
            rows = np.flatnonzero(latent.copies(np.stack([to_grid(b) for b in beats]))) if beats else []
            if not len(rows):
                break
            z[rows] = np.concatenate([self.sample_z(1, [seed, int(i), attempt], prior, more) for i in rows])
            for i, beat in zip(rows, self.decode(z[rows], temperature, seed)):
                beats[i] = beat
        return z, beats

    def reconstruct_many(self, beats, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None, more=None):
        """The model's rendition of each beat: decode(encode(beat)), each keyed by its own window; with
        `more`, pushed along the model's attribute vectors first."""
        mu, keys = self.encode_with_keys(beats, start_bar)
        return self.decode(self.steer(mu, more), temperature, seed, keys)

    def reconstruct(self, beat, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None, more=None):
        """The model's rendition of `beat`: decode(encode(beat))."""
        return self.reconstruct_many([beat], temperature, seed, start_bar, more)[0]

    def interpolate(self, a, b, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None):
        """`steps` beats along the slerp from a's latent mean to b's; the ends are reconstruct(a), reconstruct(b)."""
        if steps < 2:
            raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
        mu, keys = self.encode_with_keys([a, b], start_bar)
        return self.interpolate_z(mu[0], mu[1], steps, temperature, seed, keys=keys)

    def interpolate_z(self, z_a, z_b, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None, keys=None):
        """`steps` beats along the slerp between two latent vectors, endpoints included.

        keys: the two ends' sampling keys (default: their z's, as decode uses),
        so the ends decode to exactly the beats decode() gives for them.
        """
        from bgmaker.generation.seeded_sampling import row_keys
        z_a, z_b = np.asarray(z_a, np.float32), np.asarray(z_b, np.float32)
        key_a, key_b = keys if keys is not None else row_keys(np.stack([z_a, z_b]))
        return self.decode(interpolation_z(z_a, z_b, steps), temperature, seed, path_keys(key_a, key_b, steps))

    def sample_with_journey(self, n=8, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None, prior=None, more=None):
        """n samples, plus the interpolation from the most to the least cymbal-heavy of them.

        Returns (beats, journey, (i_most, i_least)); journey is `steps` beats
        (None when n < 2) whose ends are samples i_most and i_least exactly.
        Cymbal-heavy = crash + ride hits per step (bgmaker.metrics.structure):
        the path from a washy ride or crash groove to the tightest one is
        the most audible tour of the latent space a set of samples offers.
        """
        seed = random_seed() if seed is None else seed
        z, beats = self.sample_new_z(n, temperature, seed, prior, more)
        if n < 2:
            return beats, None, None
        most, least = cymbal_extremes(beats)
        return beats, self.interpolate_z(z[most], z[least], steps, temperature, seed), (most, least)

    def variations(self, beat, n=4, noise=DEFAULT_NOISE, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None,
                   more=None):
        """n beats decoded near `beat`: z = mu + noise * N(0, I), noise in units of the prior's std; with
        `more`, pushed along the model's attribute vectors."""
        seed = random_seed() if seed is None else seed
        mu, (key,) = self.encode_with_keys([beat], start_bar)
        z = self.steer(vary(mu[0], n, noise, seed), more)
        # The first is keyed like reconstruct(beat) (noise 0: exactly it); the others draw their own noise.
        return self.decode(z, temperature, seed, [key] + [item_key("variation", key, i) for i in range(1, n)])

    def close(self):
        self._session.close()
        if self._refiner is not None:
            self._refiner.close()
