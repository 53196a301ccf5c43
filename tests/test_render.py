"""Rendering: MIDI timing and length, drum maps, WAV from both renderers, PNG grids.

Real files throughout: beats from tests/drum_midi.py are written, read back
with note_seq/mido/wave, and checked against what the beat says.
"""
import os
import shutil
import struct
import subprocess
import sys

import mido
import note_seq
import numpy as np
import pytest

import drum_midi
from bgmaker import render
from bgmaker.render import audio, grid, kit

FLUIDSYNTH_OK, FLUIDSYNTH_WHY = audio.fluidsynth_status()


def beat_at(*hits, bars=4, qpm=120.0):
    """A beat with (pitch, 16th step) hits, lasting `bars` bars."""
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=qpm)
    step = 60.0 / qpm / 4
    for pitch, s in hits:
        ns.notes.add(pitch=pitch, velocity=100, start_time=s * step, end_time=(s + 1) * step,
                     is_drum=True, instrument=9)
    ns.total_time = bars * 16 * step
    return ns


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_kit_is_magentas_reduced_drum_classes():
    import bgmaker_configs
    bgmaker_configs.register()  # compat shims + configs, before Magenta
    from magenta.models.music_vae.data import REDUCED_DRUM_PITCH_CLASSES
    assert [list(p) for p in kit.PITCH_CLASSES] == REDUCED_DRUM_PITCH_CLASSES
    assert kit.GM_PITCHES == (36, 38, 42, 46, 45, 48, 50, 49, 51)


def test_midi_is_retimed_to_bpm_and_lasts_whole_bars(tmp_path):
    ns = beat_at((36, 0), (38, 4), (42, 50))  # last hit in bar 4, bar 4 mostly silent
    path = render.write_midi(ns, tmp_path / "b.mid", bpm=90)
    back = note_seq.midi_file_to_note_sequence(path)
    assert back.tempos[0].qpm == pytest.approx(90, abs=1e-3)  # MIDI stores whole microseconds per beat
    step = 60.0 / 90 / 4
    assert [(n.pitch, round(n.start_time / step, 2)) for n in back.notes] == [(36, 0), (38, 4), (42, 50)]
    assert all(n.is_drum for n in back.notes)
    assert mido.MidiFile(path).length == pytest.approx(4 * 4 * 60 / 90, abs=1e-3)


def test_drum_maps(tmp_path):
    toms = beat_at((45, 0), (48, 1), (50, 2), (35, 3))  # low, mid, high tom; 35 is in the kick class
    gm = note_seq.midi_file_to_note_sequence(render.write_midi(toms, tmp_path / "gm.mid"))
    roland = note_seq.midi_file_to_note_sequence(
        render.write_midi(toms, tmp_path / "r.mid", drum_map_name="roland"))
    custom = note_seq.midi_file_to_note_sequence(
        render.write_midi(toms, tmp_path / "c.mid", drum_map_name="1,2,3,4,5,6,7,8,9"))
    assert [n.pitch for n in gm.notes] == [45, 48, 50, 36]
    assert [n.pitch for n in roland.notes] == [43, 47, 50, 36]
    assert [n.pitch for n in custom.notes] == [5, 6, 7, 1]
    for bad in ("jazz", "1,2,3", "36,38,42,46,45,48,50,49,300"):
        with pytest.raises(ValueError, match="drum map"):
            kit.drum_map(bad)


def test_concatenated_interpolation_is_32_bars_of_its_steps(tmp_path):
    steps = [drum_midi.rock_beat(bars=4, variant=i) for i in range(7)] + [beat_at((36, 0))]  # last: 1 hit
    whole = render.concatenate(steps)
    assert render.midi.bars(whole) == 32
    path = render.write_midi(whole, tmp_path / "interpolation.mid", bpm=120)
    assert mido.MidiFile(path).length == pytest.approx(32 * 2.0, abs=1e-3)  # 2 s per bar at 120 bpm
    back = note_seq.midi_file_to_note_sequence(path)
    for i, beat in enumerate(steps):
        chunk = sorted((n.pitch, round(n.start_time - 8.0 * i, 4)) for n in back.notes
                       if 8.0 * i <= n.start_time < 8.0 * (i + 1))
        assert chunk == sorted((n.pitch, round(n.start_time, 4)) for n in beat.notes)


def test_builtin_wav_timing_length_and_determinism(tmp_path):
    ns = beat_at((36, 32))  # one kick, on bar 3
    for bpm in (120, 90):
        path, used = render.render_wav(ns, tmp_path / f"k{bpm}.wav", bpm=bpm, renderer="builtin")
        assert used == "builtin"
        wav, rate = audio.read_wav(path)
        assert len(wav) == round(4 * 4 * 60 / bpm * rate)  # exactly 4 bars
        onset = round(32 * 60 / bpm / 4 * rate)
        assert np.all(wav[:onset] == 0), "silence before the only hit"
        assert np.abs(wav[onset:onset + rate // 10]).max() > 0.3, "the kick is loud"
    again, _ = render.render_wav(ns, tmp_path / "again.wav", bpm=90, renderer="builtin")
    assert open(again, "rb").read() == open(tmp_path / "k90.wav", "rb").read()


def test_builtin_synth_sounds_every_drum(tmp_path):
    for c, pitch in enumerate(kit.GM_PITCHES):
        path, _ = render.render_wav(beat_at((pitch, 0), bars=1), tmp_path / f"{c}.wav", renderer="builtin")
        wav, rate = audio.read_wav(path)
        assert np.sqrt(np.mean(wav[: rate // 20] ** 2)) > 0.01, kit.DRUM_NAMES[c]


@pytest.mark.skipif(not FLUIDSYNTH_OK, reason=f"fluidsynth renderer unavailable: {FLUIDSYNTH_WHY}")
def test_fluidsynth_wav_is_nonsilent_and_right_length(tmp_path):
    ns = drum_midi.rock_beat(bars=4)
    path, used = render.render_wav(ns, tmp_path / "f.wav", bpm=100, renderer="fluidsynth")
    assert used == "fluidsynth"
    wav, rate = audio.read_wav(path)
    assert wav.ndim == 2 and len(wav) == round(4 * 4 * 60 / 100 * rate)
    assert np.sqrt(np.mean(wav ** 2)) > 0.005
    assert render.render_wav(ns, tmp_path / "a.wav", renderer="auto")[1] == "fluidsynth"


def test_missing_soundfont_falls_back_or_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMAKER_SOUNDFONT", str(tmp_path / "missing.sf2"))
    ns = drum_midi.rock_beat(bars=4)
    with pytest.raises(audio.RendererUnavailable, match="missing.sf2"):
        render.render_wav(ns, tmp_path / "f.wav", renderer="fluidsynth")
    assert render.render_wav(ns, tmp_path / "a.wav", renderer="auto")[1] == "builtin"


def test_png_grid_size_and_cells(tmp_path):
    ns = drum_midi.rock_beat(bars=4)
    g = grid.velocity_grid(ns)
    assert g.shape == (9, 64)
    assert np.flatnonzero(g[0]).tolist() == [0, 8, 16, 24, 32, 40, 48, 56]  # kick on 1 and 3
    assert np.flatnonzero(g[1]).tolist() == [4, 12, 20, 28, 36, 44, 52, 60]  # snare on 2 and 4
    assert png_size(render.plot_grid([ns], tmp_path / "one.png", titles="a beat")) == grid.PANEL_SIZE
    w, h = grid.PANEL_SIZE
    assert png_size(render.plot_grid([ns] * 8, tmp_path / "eight.png")) == (w, 8 * h)


def test_render_beats_writes_all_three(tmp_path):
    outs = render.render_beats([render.Output(drum_midi.rock_beat(bars=4, variant=i), str(tmp_path / f"b{i}"))
                                for i in range(2)], bpm=110, renderer="builtin")
    for o in outs:
        assert set(o.written) == {"midi", "wav", "png"}
        assert all(os.path.getsize(p) > 0 for p, _ in o.written.values())


def test_render_command_needs_no_tensorflow(tmp_path):
    """`bgmaker generate render` draws and plays a MIDI file without importing TensorFlow."""
    midi = drum_midi.write_midi(drum_midi.rock_beat(bars=8), tmp_path / "beat.mid")
    code = ("import sys; from bgmaker import cli; "
            f"rc = cli.main(['generate', 'render', {str(midi)!r}, '-o', {str(tmp_path / 'out')!r}, "
            "'--renderer', 'builtin']); print('TF', 'tensorflow' in sys.modules); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "TF False" in proc.stdout
    assert png_size(tmp_path / "out" / "beat.png") == (grid.PANEL_SIZE[0], 2 * grid.PANEL_SIZE[1])  # 8 bars
    wav, rate = audio.read_wav(tmp_path / "out" / "beat.wav")
    assert len(wav) == 8 * 2 * rate  # the file's own 120 bpm
