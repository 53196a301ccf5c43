"""The listening pair of docs/humanize.md: one GMD test beat on the grid, humanized, and as its drummer played it.

  .venv/bin/python reports/humanize_listening.py [--style rock] [--seed 0]

Picks a 4-bar window (bar-aligned, every hit counted once) of a GMD *test*
performance of the style (seeded), quantizes it to the grid at one velocity
(what BGMaker's drum models write), plays it with each humanizer that is
there (the template, and the shipped GrooVAE when models/humanize has one:
bgmaker.humanize, as `bgmaker humanize` does), and writes, under
docs/humanize/, mono WAV (fluidsynth, 22.05 kHz) and PNG of:

  grid.*        the quantized beat, every hit at velocity 80 (no humanization)
  template.*    played by the template humanizer
  groovae.*     played by the GrooVAE (when shipped)
  drummer.*     the drummer's own performance of the same hits

plus listening.json naming the performance and window, so the files can be
made again on any machine with GMD.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "docs" / "humanize"
SAMPLE_RATE = 22050


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="rock")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np

    from bgmaker import humanize
    from bgmaker.data import groove, windows
    from bgmaker.drums import BARS, DECODED_VELOCITY
    from bgmaker.humanize.template import gmd_performances
    from bgmaker.render.audio import render_wav
    from bgmaker.render.grid import plot_grid

    candidates = []
    for style, ns in gmd_performances("test"):
        if style == args.style and "_beat_" in ns.filename:
            try:
                found = windows.extract_windows(ns, bars=BARS, hop_bars=BARS, expressive=True)
            except windows.UnusableSequenceError:
                continue
            candidates += [(ns.filename, w) for w in found if w.grid.sum() >= 24]
    filename, window = candidates[np.random.default_rng(args.seed).integers(len(candidates))]
    drummer = window.sequence
    step = drummer.total_time / (BARS * 16)
    grid = type(drummer)()
    grid.CopyFrom(drummer)
    for n in grid.notes:  # on the grid at one velocity: what the drum models write
        s = groove.step_of(n.start_time, step)
        n.start_time, n.end_time, n.velocity = s * step, (s + 1) * step, DECODED_VELOCITY
    beats = {"grid": grid, "drummer": drummer}
    for name in ("template", "groovae"):
        try:
            humanizer = humanize.load(name)
        except FileNotFoundError as e:
            print(f"{name}: skipped ({e})")
            continue
        beats[name] = humanize.humanize([grid], humanizer, 1.0, args.seed, style=args.style if name == "template" else None)[0]
    OUT.mkdir(parents=True, exist_ok=True)
    qpm = drummer.tempos[0].qpm
    for name, ns in beats.items():
        ns.notes.sort(key=lambda n: n.start_time)
        for n in ns.notes:  # a hit played before the window's first line starts with it
            n.start_time = max(0.0, n.start_time)
        render_wav(ns, OUT / f"{name}.wav", bpm=qpm, sample_rate=SAMPLE_RATE)
        _to_mono(OUT / f"{name}.wav")
        plot_grid([ns], OUT / f"{name}.png", titles=[f"{name}: {Path(filename).name}, bars {window.start_bar + 1}-"
                                                      f"{window.start_bar + BARS}"])
        print(f"wrote {OUT / name}.wav/.png")
    (OUT / "listening.json").write_text(json.dumps(dict(
        performance=filename, start_bar=window.start_bar, bars=BARS, qpm=qpm, seed=args.seed, style=args.style,
        files=sorted(f"{n}.wav" for n in beats)), indent=1) + "\n")
    return 0


def _to_mono(path):
    """Average a stereo WAV's channels in place (half the bytes in git; a drum kit is near mono here)."""
    import wave

    import numpy as np
    with wave.open(str(path)) as w:
        channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes())
    if channels == 1 or width != 2:
        return
    audio = np.frombuffer(frames, np.int16).reshape(-1, channels).mean(axis=1).round().astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.tobytes())


if __name__ == "__main__":
    sys.exit(main())
