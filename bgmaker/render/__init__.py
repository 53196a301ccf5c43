"""Rendering 4-bar beats (NoteSequences) for people: MIDI for a DAW, WAV to listen, PNG to look at.

No TensorFlow here: rendering an existing MIDI file must not pay for a model.
`render_beats` writes all three for many beats the way `bgmaker generate`
does: WAVs in worker threads (fluidsynth runs as a subprocess, the built-in
synth is numpy, both release the GIL) while the main thread draws the PNGs,
because matplotlib is not thread-safe.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bgmaker.render import kit, midi
from bgmaker.render.audio import RENDERERS, render_wav
from bgmaker.render.grid import plot_grid
from bgmaker.render.kit import DRUM_MAPS, drum_map
from bgmaker.render.midi import DEFAULT_BPM, at_tempo, concatenate, write_midi


@dataclass
class Output:
    """One beat to write as <stem>.mid/.wav/.png; `panels` (4-bar beats) replace it in the picture."""
    beat: object
    stem: str
    title: object = None      # a str, or one per panel
    panels: list = None
    first_bars: list = None   # bar number of each panel's first bar (default 1)
    written: dict = field(default_factory=dict)  # kind -> (path, note), filled by render_beats


def render_beats(outputs, bpm=DEFAULT_BPM, drum_map_name="gm", audio=True, png=True, renderer="auto"):
    """Write every Output's files; returns the outputs with `written` filled, in order."""
    for o in outputs:
        o.written["midi"] = (write_midi(o.beat, f"{o.stem}.mid", bpm=bpm, drum_map_name=drum_map_name), "")
    workers = max(1, min(len(outputs), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        wavs = [pool.submit(render_wav, o.beat, f"{o.stem}.wav", bpm, renderer) for o in outputs] if audio else []
        if png:
            for o in outputs:
                o.written["png"] = (plot_grid(o.panels or [o.beat], f"{o.stem}.png", titles=o.title,
                                                  first_bars=o.first_bars), "")
        for o, wav in zip(outputs, wavs):
            o.written["wav"] = wav.result()
    return outputs


__all__ = ["DEFAULT_BPM", "DRUM_MAPS", "RENDERERS", "Output", "at_tempo", "concatenate", "drum_map", "kit",
           "midi", "plot_grid", "render_beats", "render_wav", "write_midi"]
