"""Generate 4-bar drum beats from a trained model: sample, encode/decode, interpolate, vary.

`BeatGenerator` loads Magenta's `TrainedModel` once and keeps it, so a
notebook or a long-lived process pays the model build (seconds) once and then
decodes many beats per second; the CLI (`bgmaker generate`), the benchmark and
the tests all go through it.

Reproducibility: every method takes a `seed`. The latent vectors are drawn
with `numpy.random.default_rng(seed)` and the decoder's temperature sampling
is seeded too (bgmaker.seeded_sampling), so a beat is a pure function of
(z, temperature, seed): the same call gives byte-identical MIDI in any
process, `sample(4, seed=s)` is the first half of `sample(8, seed=s)`, and an
interpolation's endpoints are exactly `reconstruct(a)` and `reconstruct(b)`.

Input beats (MIDI paths or NoteSequences) are cut into 4-bar windows by
bgmaker.windows, the same windows training uses (bar-aligned, 1-bar hop,
silent windows dropped); the first window is used, or the one starting at
`start_bar`. An input with no such window (no drums, not 4/4, shorter than
4 bars, unreadable) raises UnusableMidiError naming the file, where Magenta
raises NoExtractedExamplesError or music_vae_generate just exits.
"""
import os
import secrets
from pathlib import Path

import numpy as np

DEFAULT_TEMPERATURE = 0.5  # music_vae_generate's default
DEFAULT_BATCH_SIZE = 8


class UnusableMidiError(ValueError):
    """An input that gives no 4-bar drum beat; the message names the file and says why."""


def random_seed():
    """A fresh seed for callers that want variety but must be able to repeat it."""
    return secrets.randbits(31)


def read_midi(path):
    """A MIDI file as a NoteSequence, with a one-line error naming the file."""
    import note_seq
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such MIDI file")
    try:
        ns = note_seq.midi_file_to_note_sequence(str(path))
    except note_seq.MIDIConversionError as e:
        raise UnusableMidiError(f"{path}: not a readable MIDI file ({e})") from None
    ns.filename = str(path)
    return ns


def resolve_checkpoint(path):
    """The checkpoint prefix for a checkpoint, a train/ dir or a run dir (which holds train/)."""
    import tensorflow.compat.v1 as tf
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(path):
        for folder in (os.path.join(path, "train"), path):
            latest = tf.train.latest_checkpoint(folder) if os.path.isdir(folder) else None
            if latest:
                return latest
        raise FileNotFoundError(f"{path}: no checkpoint in this folder or its train/")
    if not os.path.exists(path + ".index") and not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such checkpoint (expected {path}.index)")
    return path


def find_window(beat, start_bar=None):
    """The bgmaker.windows Window of `beat` (MIDI path or NoteSequence) to encode.

    The first non-silent bar-aligned 4-bar window, or the one starting at
    `start_bar` (0-based). Needs no model, so the CLI checks its inputs
    before the model build.
    """
    ns = read_midi(beat) if isinstance(beat, (str, os.PathLike)) else beat
    name = ns.filename or ns.id or "the input NoteSequence"
    from bgmaker import windows  # imports TensorFlow (via Magenta): after the cheap checks
    try:
        found = windows.extract_windows(ns)
    except windows.UnusableSequenceError as e:
        raise UnusableMidiError(f"{name}: no 4-bar drum beat: {e}") from None
    if not found:
        raise UnusableMidiError(f"{name}: no 4-bar drum beat: no notes of the 9-piece drum kit")
    if start_bar is None:
        return found[0]
    for w in found:
        if w.start_bar == start_bar:
            return w
    raise UnusableMidiError(f"{name}: no non-silent 4-bar window starts at bar {start_bar} "
                            f"(windows start at bars {', '.join(str(w.start_bar) for w in found)})")


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
    the evaluation (bgmaker.evaluate) both take their paths from here.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    z = np.stack([_slerp(mu_a, mu_b, t) for t in np.linspace(0.0, 1.0, steps)])
    z[0], z[-1] = mu_a, mu_b
    return z


def cymbal_extremes(beats):
    """Indices (most, least) of the beats with the highest and lowest crash + ride density.

    Ties go to the earlier beat; with all beats equal, (0, 1) so that the two ends differ.
    """
    from bgmaker.metrics.structure import cymbal_density
    from bgmaker.windows import to_grid
    density = np.array([float(cymbal_density(to_grid(ns))) for ns in beats])
    most, least = int(np.argmax(density)), int(np.argmin(density))
    if most == least:
        most, least = 0, 1
    return most, least


class BeatGenerator:
    """A trained 4-bar drum MusicVAE, loaded once.

    config_name: a name in Magenta's CONFIG_MAP (after `import bgmaker_configs`),
        or a Magenta Config (the evaluation passes a run's own, bgmaker.reconstruction.model_config).
    checkpoint: a checkpoint prefix, a train/ dir, or a run dir.
    hparams: the override string the checkpoint was trained with; default:
        the one music_vae_train recorded next to it (magenta_apps.recorded_hparams).
    batch_size: beats decoded per TensorFlow run; only affects speed.

    Not thread-safe: each decode sets the sampling keys, then runs the graph.
    """

    def __init__(self, config_name, checkpoint, hparams=None, batch_size=DEFAULT_BATCH_SIZE):
        import bgmaker_configs  # noqa: F401  (shims + configs)
        from magenta.models.music_vae import TrainedModel, configs

        from bgmaker import magenta_apps, seeded_sampling
        from bgmaker_configs.models import STEPS_PER_QUARTER, windows_converter

        if isinstance(config_name, configs.Config):
            config, config_name = config_name, None  # not a registered name
        elif config_name in configs.CONFIG_MAP:
            config = configs.CONFIG_MAP[config_name]
        else:
            raise KeyError(f"unknown config '{config_name}'; known: {', '.join(sorted(configs.CONFIG_MAP))}")
        self.checkpoint = resolve_checkpoint(checkpoint)
        if hparams is None:
            hparams = magenta_apps.recorded_hparams(self.checkpoint)
        self.config = seeded_sampling.seeded_config(config)  # a copy
        if hparams:
            self.config.hparams.parse(hparams)
        self.config_name = config_name
        self.z_size = self.config.hparams.z_size
        self.length = self.config.hparams.max_seq_len
        self._steps_per_quarter = STEPS_PER_QUARTER
        self._model = TrainedModel(self.config, batch_size=batch_size,
                                   checkpoint_dir_or_path=self.checkpoint)
        # TrainedModel keeps its session private; the sampling-key variables in its graph are ours.
        self._session = self._model._sess
        self._set_keys = seeded_sampling.key_setter(self._session)
        self.batch_size = batch_size
        # Input windows are encoded with the converter that keeps a stored window whole
        # (same tensors as every BGMaker config's; see bgmaker_configs.models).
        self._window_converter = windows_converter()
        self._window_converter.set_mode("infer")

    @classmethod
    def for_run(cls, name, checkpoint=None, **kwargs):
        """The generator for a named run (bgmaker_configs.runs).

        By default from the run's newest training checkpoint, else its shipped model.
        """
        import bgmaker_configs
        from magenta.models.music_vae import configs
        run = bgmaker_configs.get_run(name)
        config_name = run.name if run.name in configs.CONFIG_MAP else run.config
        checkpoint = checkpoint or run.checkpoint()  # newest training checkpoint, else the shipped model
        if checkpoint is None:
            raise FileNotFoundError(f"run {name} has no checkpoint in {run.run_dir}/train and no shipped "
                                    f"model in {run.shipped_dir} (train it: scripts/train.sh --run {name})")
        return cls(config_name, checkpoint, **kwargs)

    # -- latent space ------------------------------------------------------

    def window(self, beat, start_bar=None):
        """The 4-bar window of `beat` that encode() uses (a NoteSequence) and its model tensors."""
        w = find_window(beat, start_bar)
        tensors = self._window_converter.to_tensors(w.sequence)
        if len(tensors.inputs) != 1:  # cannot happen for a bgmaker.windows window; say so if it does
            raise UnusableMidiError(f"{w.sequence.filename or 'the input'}: the model's converter made "
                                    f"{len(tensors.inputs)} examples of the window at bar {w.start_bar}")
        return w.sequence, tensors

    def encode(self, beats, start_bar=None):
        """Latent means [n, z_size] of the beats' 4-bar windows (MIDI paths or NoteSequences)."""
        inputs, lengths, controls = [], [], []
        for beat in beats:
            _, t = self.window(beat, start_bar)
            inputs.append(t.inputs[0])
            lengths.append(t.lengths[0])
            controls.append(t.controls[0])
        _, mu, _ = self._model.encode_tensors(inputs, lengths, controls)
        return mu

    def decode(self, z, temperature=DEFAULT_TEMPERATURE, seed=None):
        """4-bar beats (NoteSequences at 120 qpm) for latent vectors z [n, z_size]."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.z_size)
        seed = random_seed() if seed is None else seed
        beats = []
        for i in range(0, len(z), self.batch_size):  # one run per batch: the keys are per run
            chunk = z[i:i + self.batch_size]
            self._set_keys(seed, chunk)
            beats += self._model.decode(chunk, length=self.length, temperature=temperature)
        for ns in beats:
            qpm = ns.tempos[0].qpm if ns.tempos else 120.0
            ns.total_time = self.length * 60.0 / qpm / self._steps_per_quarter
        return beats

    # -- what users ask for -------------------------------------------------

    def sample_z(self, n, seed):
        """n latent vectors from the prior; row i does not depend on n."""
        return np.random.default_rng(seed).standard_normal((n, self.z_size)).astype(np.float32)

    def sample(self, n=1, temperature=DEFAULT_TEMPERATURE, seed=None):
        """n new beats from the prior."""
        seed = random_seed() if seed is None else seed
        return self.decode(self.sample_z(n, seed), temperature, seed)

    def reconstruct(self, beat, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None):
        """The model's rendition of `beat`: decode(encode(beat))."""
        return self.decode(self.encode([beat], start_bar), temperature, seed)[0]

    def interpolate(self, a, b, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None):
        """`steps` beats along the slerp from a's latent mean to b's, endpoints included."""
        if steps < 2:
            raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
        mu = self.encode([a, b], start_bar)
        return self.decode(interpolation_z(mu[0], mu[1], steps), temperature, seed)

    def interpolate_z(self, z_a, z_b, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None):
        """`steps` beats along the slerp between two latent vectors, endpoints included.

        Beats are keyed by seed and z, so the ends decode to exactly the beats
        decode() gives for z_a and z_b at the same seed.
        """
        return self.decode(interpolation_z(np.asarray(z_a), np.asarray(z_b), steps), temperature, seed)

    def sample_with_journey(self, n=8, steps=8, temperature=DEFAULT_TEMPERATURE, seed=None):
        """n samples, plus the interpolation from the most to the least cymbal-heavy of them.

        Returns (beats, journey, (i_most, i_least)); journey is `steps` beats
        (None when n < 2) whose ends are samples i_most and i_least exactly.
        Cymbal-heavy = crash + ride hits per step (bgmaker.metrics.structure):
        the path from a washy ride or crash groove to the tightest one is
        the most audible tour of the latent space a set of samples offers.
        """
        seed = random_seed() if seed is None else seed
        z = self.sample_z(n, seed)
        beats = self.decode(z, temperature, seed)
        if n < 2:
            return beats, None, None
        most, least = cymbal_extremes(beats)
        return beats, self.interpolate_z(z[most], z[least], steps, temperature, seed), (most, least)

    def variations(self, beat, n=4, noise=0.3, temperature=DEFAULT_TEMPERATURE, seed=None, start_bar=None):
        """n beats decoded near `beat`: z = mu + noise * N(0, I), noise in units of the prior's std."""
        seed = random_seed() if seed is None else seed
        mu = self.encode([beat], start_bar)[0]
        z = mu + noise * np.random.default_rng(seed).standard_normal((n, self.z_size))
        return self.decode(z, temperature, seed)

    def close(self):
        self._session.close()
