"""Every-window extraction: exact counts on synthetic drum MIDI of known length."""
import note_seq
import pytest

import bgmaker_configs

bgmaker_configs.register()  # compat shims + configs, before Magenta
from bgmaker.data import windows
from bgmaker_configs import architectures

import drum_midi


def hats(bars, silent_bars=()):
    """Closed hi-hat on every 8th, except in `silent_bars`: every bar identical."""
    ns = note_seq.NoteSequence(ticks_per_quarter=220)
    ns.tempos.add(qpm=120)
    for bar in range(bars):
        if bar in silent_bars:
            continue
        for s in range(0, 16, 2):
            t = (bar * 16 + s) * 0.125
            ns.notes.add(pitch=drum_midi.CLOSED_HH, velocity=90, start_time=t, end_time=t + 0.1, is_drum=True)
    ns.total_time = bars * 2.0
    return ns


def counting(bars):
    """A different kick count in every bar, so no two windows are equal."""
    ns = hats(bars)
    for bar in range(bars):
        for k in range(bar % 16 + 1):
            t = bar * 2.0 + k * 0.125
            ns.notes.add(pitch=drum_midi.KICK, velocity=100, start_time=t, end_time=t + 0.1, is_drum=True)
    return ns


@pytest.mark.parametrize("bars,expected", [(4, 1), (5, 2), (8, 5), (16, 13)])
def test_every_window_one_bar_hop(bars, expected):
    found = windows.extract_windows(counting(bars))
    assert len(found) == expected
    assert [w.start_bar for w in found] == list(range(expected))
    for w in found:
        assert w.grid.shape == (64, 9)
        assert w.sequence.total_time == pytest.approx(8.0)  # 4 bars at 120 bpm


def test_identical_windows_kept_once():
    assert len(windows.extract_windows(hats(8))) == 1  # every bar the same
    # rock_beat has a crash every 4 bars: windows at bars 0 and 4 are identical
    assert len(windows.extract_windows(drum_midi.rock_beat(bars=8))) == 4


def test_silent_bar_does_not_split_windows_and_silence_is_dropped():
    ns = counting(3)  # bars 0-2 busy, 3-7 silent apart from ...
    ns.total_time = 16.0
    for s in range(0, 16, 4):  # ... a hit in bar 6
        ns.notes.add(pitch=drum_midi.SNARE, velocity=90, start_time=12.0 + s * 0.125,
                     end_time=12.1 + s * 0.125, is_drum=True)
    found = windows.extract_windows(ns)
    # starts 0..4; every one touches bar 0-2 or bar 6: none silent, all distinct
    assert [w.start_bar for w in found] == [0, 1, 2, 3, 4]
    stock = architectures.drums_converter()
    stock.set_mode("eval")
    assert len(stock.to_tensors(ns).outputs) < len(found)  # Magenta splits at the silent bars


def test_each_stored_window_is_one_example_for_the_run_converter():
    conv = architectures.windows_converter()
    for w in windows.extract_windows(counting(12)):
        tensors = conv.to_tensors(w.sequence)
        assert len(tensors.outputs) == 1 and tensors.lengths[0] == 64


def test_grid_marks_classes():
    grid = windows.to_grid(drum_midi.rock_beat(bars=4))
    assert grid[0, 0] and grid[4, 1] and grid[0, 7]  # kick, snare on 2, crash on 1
    assert grid[:, 2].sum() + grid[:, 3].sum() == 32  # hats on every 8th


@pytest.mark.parametrize("make,reason", [
    (lambda: counting(3), "3 bar(s) long, shorter than 4 bars"),
    (lambda: note_seq.NoteSequence(), "no drum notes"),
])
def test_unusable_sequences_say_why(make, reason):
    with pytest.raises(windows.UnusableSequenceError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        windows.extract_windows(make())


def test_non_drum_and_odd_meter():
    ns = counting(8)
    for n in ns.notes:
        n.is_drum = False
    with pytest.raises(windows.UnusableSequenceError, match="no drum notes"):
        windows.extract_windows(ns)
    ns = counting(8)
    ns.time_signatures.add(numerator=3, denominator=4)
    with pytest.raises(windows.UnusableSequenceError, match="3/4, not 4/4"):
        windows.extract_windows(ns)
