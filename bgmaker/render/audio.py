"""Beats as WAV files: fluidsynth with a General MIDI soundfont, or a built-in drum synth.

Audio must always work, including on machines without fluidsynth, so a small
numpy synthesizer (one synthesized hit per drum class, mixed at the note
times) is the fallback; `renderer="auto"` uses fluidsynth when both the
program and a GM soundfont are installed (Debian: `fluidsynth`,
`timgm6mb-soundfont`; scripts/install.sh adds them where it can). Either way
the WAV lasts exactly the beat's length at the chosen bpm, so it loops; a
cymbal ringing past the last bar line is cut.

Both renderers are deterministic: the same beat gives the same bytes.
"""
import functools
import os
import shutil
import subprocess
import tempfile
import wave

import numpy as np

from bgmaker.render import kit
from bgmaker.render.midi import DEFAULT_BPM, at_tempo, write_midi

RENDERERS = ("auto", "fluidsynth", "builtin")
SAMPLE_RATE = 44100
SOUNDFONTS = (  # small first: TimGM6mb loads in milliseconds, FluidR3 (140 MB) in a second
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


class RendererUnavailable(RuntimeError):
    """The requested renderer cannot run here (the message says what to install)."""


def find_soundfont():
    """$BGMAKER_SOUNDFONT if set, else the first installed GM soundfont of SOUNDFONTS, else None."""
    if os.environ.get("BGMAKER_SOUNDFONT"):
        return os.environ["BGMAKER_SOUNDFONT"]
    return next((p for p in SOUNDFONTS if os.path.isfile(p)), None)


def fluidsynth_status():
    """(available, reason): whether the fluidsynth renderer can run, and why not."""
    if not shutil.which("fluidsynth"):
        return False, "the fluidsynth program is not installed (apt-get install fluidsynth)"
    if os.environ.get("BGMAKER_SOUNDFONT") and not os.path.isfile(os.environ["BGMAKER_SOUNDFONT"]):
        return False, f"BGMAKER_SOUNDFONT={os.environ['BGMAKER_SOUNDFONT']} does not exist"
    if not find_soundfont():
        return False, ("no General MIDI soundfont found (apt-get install timgm6mb-soundfont, "
                       "or set BGMAKER_SOUNDFONT)")
    return True, ""


def render_wav(ns, path, bpm=DEFAULT_BPM, renderer="auto", sample_rate=SAMPLE_RATE):
    """Write `ns` at `bpm` as a 16-bit WAV lasting exactly its total_time; return (path, renderer used)."""
    if renderer not in RENDERERS:
        raise ValueError(f"renderer '{renderer}': choose one of {', '.join(RENDERERS)}")
    beat = at_tempo(ns, bpm)  # GM pitches: what both renderers play
    frames = round(beat.total_time * sample_rate)
    ok, why = fluidsynth_status()
    if renderer == "fluidsynth" and not ok:
        raise RendererUnavailable(f"cannot render with fluidsynth: {why}")
    audio, used = None, "builtin"
    if renderer == "fluidsynth" or (renderer == "auto" and ok):
        try:
            audio, used = _fluidsynth(beat, bpm, sample_rate), "fluidsynth"
        except RendererUnavailable as e:
            if renderer == "fluidsynth":
                raise
            used = f"builtin, because {e}"
    if audio is None:
        audio = synthesize(beat, sample_rate)
    audio = _fit(audio, frames)
    _write_wav(path, audio, sample_rate)
    return str(path), used


def _fit(audio, frames):
    if len(audio) >= frames:
        return audio[:frames]
    return np.concatenate([audio, np.zeros((frames - len(audio),) + audio.shape[1:], audio.dtype)])


def _write_wav(path, audio, sample_rate):
    """16-bit PCM; `audio` is float in [-1, 1], shape [frames] or [frames, channels]."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def read_wav(path):
    """(float audio [frames] or [frames, channels], sample rate) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as w:
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767
    return (pcm if channels == 1 else pcm.reshape(-1, channels)), rate


def _fluidsynth(beat, bpm, sample_rate):
    with tempfile.TemporaryDirectory(prefix="bgmaker-fluidsynth-") as tmp:
        midi_path, wav_path = os.path.join(tmp, "beat.mid"), os.path.join(tmp, "beat.wav")
        write_midi(beat, midi_path, bpm=bpm)
        cmd = ["fluidsynth", "-ni", "-q", "-g", "1.0", "-r", str(sample_rate), "-T", "wav", "-O", "s16",
               "-F", wav_path, find_soundfont(), midi_path]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not os.path.isfile(wav_path):
            raise RendererUnavailable(f"fluidsynth failed (exit {proc.returncode}): "
                                      f"{(proc.stderr or proc.stdout).strip()[-300:]}")
        audio, rate = read_wav(wav_path)
    if rate != sample_rate:
        raise RendererUnavailable(f"fluidsynth wrote {rate} Hz, asked for {sample_rate} Hz")
    return audio


# -- the built-in synthesizer ----------------------------------------------

def synthesize(ns, sample_rate=SAMPLE_RATE):
    """Mono float audio of the drum notes in `ns` (any length; the caller trims)."""
    hits = [(round(n.start_time * sample_rate), c, n.velocity / 127.0)
            for n in ns.notes for c in [kit.drum_class(n)] if c is not None]
    end = max([ns.total_time * sample_rate] + [s + len(_hit(c, sample_rate)) for s, c, _ in hits])
    out = np.zeros(int(end) + 1, np.float32)
    for start, c, gain in hits:
        sound = _hit(c, sample_rate)
        out[start:start + len(sound)] += gain * sound
    return np.tanh(1.2 * out).astype(np.float32)  # soft clip: many hits at once stay in range


def _env(t, decay):
    return np.exp(-t / decay)


def _noise(seed, n):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n)


def _bright(x):
    """A crude high-pass: the difference of neighbouring samples, for hats and cymbals."""
    return np.diff(x, prepend=0.0)


def _sweep(t, f_start, f_end, time_constant, sample_rate):
    """A sine whose pitch falls from f_start to f_end (kick and toms)."""
    freq = f_end + (f_start - f_end) * np.exp(-t / time_constant)
    return np.sin(2 * np.pi * np.cumsum(freq) / sample_rate)


@functools.lru_cache(maxsize=None)
def _hit(drum, sample_rate):
    """One hit of drum class `drum` (kit.DRUM_NAMES order), float32, peak about 0.8."""
    length = {0: 0.5, 1: 0.3, 2: 0.1, 3: 0.5, 7: 1.6, 8: 1.0}.get(drum, 0.6)
    t = np.arange(int(length * sample_rate)) / sample_rate
    phase = lambda f: np.sin(2 * np.pi * f * t)  # noqa: E731
    if drum == 0:  # kick: falling sine and a click
        x = _sweep(t, 150, 48, 0.03, sample_rate) * _env(t, 0.18) + 0.3 * _noise(0, len(t)) * _env(t, 0.004)
    elif drum == 1:  # snare: body tone and a noisy rattle
        x = 0.5 * phase(185) * _env(t, 0.06) + 0.7 * _bright(_noise(1, len(t))) * _env(t, 0.09)
    elif drum in (2, 3):  # hats: bright noise, closed short, open long
        x = _bright(_bright(_noise(drum, len(t)))) * _env(t, 0.025 if drum == 2 else 0.22) * 0.5
    elif drum in (4, 5, 6):  # toms: falling sines, low to high
        f = {4: 95, 5: 130, 6: 175}[drum]
        x = _sweep(t, 1.6 * f, f, 0.05, sample_rate) * _env(t, 0.22)
    else:  # crash (7), ride (8): bright noise plus inharmonic partials
        ring = sum(phase(f) for f in ((540, 810, 1220, 3400) if drum == 7 else (620, 1330, 2860, 5120)))
        noise = _bright(_noise(drum, len(t))) * (0.6 if drum == 7 else 0.25)
        x = (noise + 0.08 * ring) * _env(t, 0.5 if drum == 7 else 0.35)
    x = x * np.minimum(1.0, t * sample_rate / 16)  # 16-sample fade-in: no click from a hard start
    return (0.8 * x / np.max(np.abs(x))).astype(np.float32)
