"""Sample, interpolate, reconstruct and vary 4-bar drum beats; write MIDI, WAV and PNG for each.

  bgmaker generate sample --run v2_rock_beat --num 8
  bgmaker generate interpolate A.mid B.mid --run v2_rock_beat      # 8 x 4 bars + one 32-bar file
  bgmaker generate reconstruct beat.mid --config hierdec-drum_4bar --checkpoint runs/x
  bgmaker generate variations beat.mid --run v2_rock_beat --num 4 --noise 0.3
  bgmaker generate render beat.mid                                 # WAV + PNG of a MIDI file, no model

Every output is a .mid (at --bpm, on --drum-map), a .wav (fluidsynth with a GM
soundfont when installed, else the built-in synth; --renderer) and a .png drum
grid. Interpolations also get interpolation.mid/.wav/.png: all steps back to
back (8 steps x 4 bars = 32 bars). `sample` writes one too, from the most to the
least cymbal-heavy of its beats (--journey-steps, 0 for none). The 4-bar window used from each input MIDI
is written too (input_<name>.*), to compare. Without --seed a random seed is
chosen and printed; the same seed repeats the same beats. Magenta's stock
generator stays available as `music_vae_generate` (see scripts/generate.sh).
"""
import argparse
import math
import time
from pathlib import Path

from bgmaker.generate import DEFAULT_TEMPERATURE  # numpy only: --help stays instant

MODES = ("sample", "interpolate", "reconstruct", "variations", "render")


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines
    modes = parser.add_subparsers(dest="mode", metavar="MODE", required=True)
    helps = {
        "sample": "new beats from the model's prior",
        "interpolate": "a path between two beats (MIDI files), endpoints included, and the whole path as one file",
        "reconstruct": "the model's rendition of each input beat (encode, then decode)",
        "variations": "beats near an input beat (its code plus small noise)",
        "render": "write WAV and PNG (and a re-timed MIDI) for existing MIDI files; loads no model",
    }
    for mode in MODES:
        p = modes.add_parser(mode, help=helps[mode], description=helps[mode])
        if mode == "interpolate":
            p.add_argument("start", help="MIDI file of the first beat")
            p.add_argument("end", help="MIDI file of the last beat")
            p.add_argument("--steps", type=int, default=8,
                           help="beats on the path, endpoints included (default 8)")
        elif mode in ("reconstruct", "render"):
            p.add_argument("inputs", nargs="+", metavar="MIDI", help="input MIDI file(s)")
        elif mode == "variations":
            p.add_argument("input", metavar="MIDI", help="the beat to vary")
        if mode in ("sample", "variations"):
            p.add_argument("--num", type=int, default=8 if mode == "sample" else 4,
                           help="number of beats (default %(default)s)")
        if mode == "sample":
            p.add_argument("--journey-steps", type=int, default=8,
                           help="also write the interpolation from the most to the least cymbal-heavy "
                                "sample (crash + ride), this many 4-bar steps as one file (default 8 = "
                                "32 bars; 0: none)")
        if mode == "variations":
            p.add_argument("--noise", type=float, default=0.3,
                           help="std of the noise added to the beat's code, in prior units (default 0.3)")
        if mode != "render":
            _model_arguments(p)
        if mode in ("interpolate", "reconstruct", "variations"):
            p.add_argument("--start-bar", type=int, default=None,
                           help="use the input's 4-bar window starting at this bar (0-based); "
                                "default: its first non-silent window")
        _output_arguments(p, mode)


DEFAULT_RUN = "v2_rock_beat"  # the run whose model ships in models/


def _model_arguments(p):
    g = p.add_argument_group("model")
    g.add_argument("--run", help=f"a named run (bgmaker runs): its newest checkpoint, else its shipped model "
                                 f"(default without --checkpoint: {DEFAULT_RUN}, the model BGMaker ships)")
    g.add_argument("--config", default=None,
                   help="a Magenta config name, with --checkpoint (default hierdec-drum_4bar)")
    g.add_argument("--checkpoint", help="checkpoint prefix, train/ dir or run dir (default with --run: the run's)")
    g.add_argument("--hparams", default=None,
                   help="hparam overrides the checkpoint was trained with (default: the recorded hparams.txt)")
    g.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                   help="decoder sampling temperature (default %(default)s)")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one, printed)")
    g.add_argument("--batch-size", type=int, default=None,
                   help="beats per TensorFlow run; changes speed, never the beats (default: all, up to 64)")


def _output_arguments(p, mode):
    g = p.add_argument_group("output")
    g.add_argument("--output-dir", "-o", default=None,
                   help=f"where to write (default: <repo>/out/{mode}-<date-time>)")
    g.add_argument("--bpm", type=float, default=None,
                   help="tempo of the MIDI and WAV files (default 120; for render: the file's own)")
    g.add_argument("--drum-map", default="gm",
                   help="output pitches: gm (default), roland, or 9 comma-separated pitches "
                        "(kick, snare, closed hh, open hh, low/mid/high tom, crash, ride)")
    g.add_argument("--renderer", choices=("auto", "fluidsynth", "builtin"), default="auto",
                   help="WAV renderer: fluidsynth if installed with a GM soundfont (auto), or the built-in synth")
    g.add_argument("--no-audio", action="store_true", help="write no WAV files")
    g.add_argument("--no-png", action="store_true", help="write no PNG drum grids")


def main(args):
    from bgmaker import compat
    from bgmaker.cli import UserError

    # `render` loads no model, so bgmaker_configs (which applies every shim) is not imported on that path.
    compat.quiet_pydub_ffmpeg_warning()

    _check(args, UserError)
    from bgmaker import paths
    out = Path(args.output_dir or paths.REPO_ROOT / "out" / f"{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}")
    _check_output_dir(out, UserError)  # before any model loads
    if args.mode == "render":
        return _render_files(args, out)

    from bgmaker import generate
    seed = generate.random_seed() if args.seed is None else args.seed
    t0 = time.perf_counter()
    # Unusable inputs fail before the model build; their windows are written too, to compare.
    windows = {Path(p).stem: generate.find_window(p, getattr(args, "start_bar", None)) for p in _inputs(args)}
    model = _load(args, generate)
    print(f"loaded {model.config_name} from {model.checkpoint} in {time.perf_counter() - t0:.1f} s", flush=True)
    t1 = time.perf_counter()
    opts = dict(temperature=args.temperature, seed=seed)
    journey = None
    if args.mode == "sample":
        if args.journey_steps and args.num >= 2:
            beats, journey, ends = model.sample_with_journey(args.num, args.journey_steps, **opts)
        else:
            beats = model.sample(args.num, **opts)
        names = [f"sample_{i + 1:02d}" for i in range(len(beats))]
    elif args.mode == "interpolate":
        beats = model.interpolate(args.start, args.end, args.steps, start_bar=args.start_bar, **opts)
        names = [f"interpolate_{i + 1:02d}" for i in range(len(beats))]
    elif args.mode == "reconstruct":
        beats = model.decode(model.encode(args.inputs, args.start_bar), **opts)
        names = [f"reconstruct_{i + 1:02d}_{Path(p).stem}" for i, p in enumerate(args.inputs)]
    else:
        beats = model.variations(args.input, args.num, args.noise, start_bar=args.start_bar, **opts)
        names = [f"variation_{i + 1:02d}" for i in range(len(beats))]
    print(f"{args.mode}: {len(beats)} beat(s) of 4 bars in {time.perf_counter() - t1:.2f} s "
          f"(seed {seed}, temperature {args.temperature:g})", flush=True)

    from bgmaker import render
    out.mkdir(parents=True, exist_ok=True)
    outputs = [render.Output(beat, str(out / name), title=f"{name}  seed {seed}  T={args.temperature:g}")
               for name, beat in zip(names, beats)]
    outputs += [render.Output(w.sequence, str(out / f"input_{stem}"),
                              title=f"input {stem}, bars {w.start_bar + 1}-{w.start_bar + 4}")
                for stem, w in windows.items()]
    if args.mode == "interpolate":
        outputs.append(_path_output(beats, out / "interpolation", "start", "end"))
    if journey:
        a, b = names[ends[0]], names[ends[1]]
        outputs.append(_path_output(journey, out / "interpolation", f"{a}, most cymbals", f"{b}, fewest"))
    _write(args, outputs)
    print(f"done in {time.perf_counter() - t0:.1f} s: {out}/")
    span = names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"
    print(f"  {len(names)} beat(s): {out}/{span} (.mid, .wav, .png each)", flush=True)
    if journey:
        print(f"  {len(journey) * 4}-bar interpolation from {a} (most crash + ride) to {b} (fewest): "
              f"{out}/interpolation.mid/.wav/.png", flush=True)
    return 0


def _path_output(beats, stem, first, last):
    """One Output of a path of 4-bar beats back to back, one picture panel per step."""
    from bgmaker import render
    ends = {0: f" ({first})", len(beats) - 1: f" ({last})"}
    titles = [f"step {i + 1}/{len(beats)}{ends.get(i, '')}" for i in range(len(beats))]
    return render.Output(render.concatenate(beats), str(stem), title=titles, panels=beats)


def _check(args, UserError):
    """Argument errors found before loading anything (one line each)."""
    from bgmaker.render import kit
    if args.bpm is not None and not 20 <= args.bpm <= 400:
        raise UserError(f"--bpm must be between 20 and 400, got {args.bpm:g}")
    kit.drum_map(args.drum_map)  # ValueError with the choices
    for name, least in (("num", 1), ("steps", 2)):
        if getattr(args, name, least) < least:
            raise UserError(f"--{name} must be at least {least}")
    if getattr(args, "journey_steps", 0) not in (0,) and args.journey_steps < 2:
        raise UserError("--journey-steps must be 0 (none) or at least 2")
    if args.mode != "render":
        if not math.isfinite(args.temperature) or args.temperature <= 0:
            raise UserError(f"--temperature must be a positive number, got {args.temperature:g}")
        if args.batch_size is not None and args.batch_size < 1:
            raise UserError("--batch-size must be at least 1")
        if not args.run and not args.checkpoint:
            args.run = DEFAULT_RUN
        if args.run and args.config:
            raise UserError("--run already names a config; drop --config")
        ckpt = args.checkpoint
        if ckpt and not (Path(ckpt).exists() or Path(f"{ckpt}.index").exists()):
            raise UserError(f"{ckpt}: no such checkpoint, train/ dir or run dir")
    for path in _inputs(args):
        if not Path(path).is_file():
            raise UserError(f"{path}: no such MIDI file")
    if args.renderer == "fluidsynth" and not args.no_audio:
        from bgmaker.render.audio import fluidsynth_status
        ok, why = fluidsynth_status()
        if not ok:
            raise UserError(f"--renderer fluidsynth: {why}; or use --renderer builtin")


def _check_output_dir(out, UserError):
    """One line, before anything loads, for an output folder that cannot be made or written to."""
    import os
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir {out}: is a file, not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--output-dir {out}: {parent} is a file, so no folder can be made under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--output-dir {out}: {parent} is not writable")


def _inputs(args):
    return [p for p in [getattr(args, a, None) for a in ("start", "end", "input")] + getattr(args, "inputs", [])
            if p is not None]


def _load(args, generate):
    count = {"sample": getattr(args, "num", 0), "interpolate": getattr(args, "steps", 0),
             "reconstruct": len(getattr(args, "inputs", [])), "variations": getattr(args, "num", 0)}[args.mode]
    kwargs = dict(hparams=args.hparams, batch_size=args.batch_size or max(1, min(64, count)))
    if args.run:
        return generate.BeatGenerator.for_run(args.run, args.checkpoint, **kwargs)
    return generate.BeatGenerator(args.config or "hierdec-drum_4bar", args.checkpoint, **kwargs)


def _write(args, outputs, bpm=None):
    """Render every output and say what was written."""
    from bgmaker import render
    from bgmaker.cli import UserError
    t = time.perf_counter()
    try:
        render.render_beats(outputs, bpm=bpm or args.bpm or render.DEFAULT_BPM, drum_map_name=args.drum_map,
                            audio=not args.no_audio, png=not args.no_png, renderer=args.renderer)
    except render.audio.RendererUnavailable as e:
        raise UserError(str(e)) from None
    for o in outputs:
        bars = render.midi.bars(o.beat)
        for kind, (path, note) in o.written.items():
            extra = ", ".join(x for x in ((f"{bars} bars" if bars != 4 else ""), note) if x)
            print(f"  wrote {path}" + (f"  ({extra})" if extra else ""))
    print(f"rendered {len(outputs)} output(s) in {time.perf_counter() - t:.1f} s", flush=True)


def _render_files(args, out):
    import numpy as np

    from bgmaker import render
    from bgmaker.generate import read_midi
    out.mkdir(parents=True, exist_ok=True)
    outputs, tempos = [], set()
    for path in args.inputs:
        ns = read_midi(path)
        if not any(render.kit.drum_class(n) is not None for n in ns.notes):
            from bgmaker.generate import UnusableMidiError
            raise UnusableMidiError(f"{path}: no drum notes of the 9-piece kit to render")
        qpm = ns.tempos[0].qpm if ns.tempos else 120.0
        tempos.add(qpm)
        span = 4 * 4 * 60.0 / qpm  # 4 bars
        ns.total_time = max(span, -(-ns.total_time // span) * span)  # whole 4-bar panels
        panels = [render.midi.excerpt(ns, t, span) for t in np.arange(0.0, ns.total_time - 1e-6, span)]
        titles = [f"{Path(path).name}  bars {4 * i + 1}-{4 * i + 4}" for i in range(len(panels))]
        outputs.append(render.Output(ns, str(out / Path(path).stem), title=titles, panels=panels))
    if args.bpm is None and len(tempos) > 1:
        from bgmaker.cli import UserError
        raise UserError(f"the files have different tempos {sorted(tempos)}; choose one with --bpm")
    _write(args, outputs, bpm=args.bpm or tempos.pop())
    print(f"done: {out}/")
    return 0
