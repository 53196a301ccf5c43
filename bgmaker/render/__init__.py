"""Rendering 4-bar beats (NoteSequences) for people: MIDI for a DAW, WAV to listen, PNG to look at.

No TensorFlow here: rendering an existing MIDI file must not pay for a model.
`render_beat` writes all three for one beat, the way `bgmaker generate` does.
"""
from bgmaker.render.audio import RENDERERS, render_wav
from bgmaker.render.grid import plot_grid
from bgmaker.render.kit import DRUM_MAPS, drum_map
from bgmaker.render.midi import DEFAULT_BPM, at_tempo, concatenate, write_midi


def render_beat(ns, stem, bpm=DEFAULT_BPM, drum_map_name="gm", audio=True, png=True,
                renderer="auto", title=None, panels=None):
    """Write <stem>.mid (+ .wav, .png); return {kind: (path, note)} of what was written.

    `panels`: beats to draw as stacked 4-bar panels instead of `ns` itself
    (an interpolation's picture shows each step on its own row).
    """
    written = {"midi": (write_midi(ns, f"{stem}.mid", bpm=bpm, drum_map_name=drum_map_name), "")}
    if audio:
        path, used = render_wav(ns, f"{stem}.wav", bpm=bpm, renderer=renderer)
        written["wav"] = (path, used)
    if png:
        written["png"] = (plot_grid(panels or [ns], f"{stem}.png", titles=title), "")
    return written


__all__ = ["DEFAULT_BPM", "DRUM_MAPS", "RENDERERS", "at_tempo", "concatenate", "drum_map",
           "plot_grid", "render_beat", "render_wav", "write_midi"]
