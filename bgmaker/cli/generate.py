"""Sample, interpolate, reconstruct and vary 4-bar drum beats; write MIDI, WAV and PNG for each.

  bgmaker generate sample --run v2_rock_beat --num 8
  bgmaker generate interpolate A.mid B.mid --run v2_rock_beat      # 8 x 4 bars + one 32-bar file
  bgmaker generate reconstruct beat.mid --config hierdec-drum_4bar --checkpoint runs/x
  bgmaker generate variations beat.mid --run v2_rock_beat --num 4 --noise 0.3
  bgmaker generate render beat.mid                                 # WAV + PNG of a MIDI file, no model
  bgmaker generate sample --num 8 --humanize                       # played like a drummer (bgmaker.humanize)
  bgmaker generate sample --run v1_all --style funk --more density=+1   # a style, then more of something
  bgmaker generate reconstruct beat.mid --more cymbals=-1,kick=+0.5    # your beat, less wash and more kick

Every output is a .mid (at --bpm, on --drum-map), a .wav (fluidsynth with a GM
soundfont when installed, else the built-in synth; --renderer) and a .png drum
grid. Interpolations also get interpolation.mid/.wav/.png: all steps back to
back (8 steps x 4 bars = 32 bars). `sample` writes one too, from the most to the
least cymbal-heavy of its beats (--journey-steps, 0 for none). The 4-bar window used from each input MIDI
is written too (input_<name>.*), to compare. Without --seed a random seed is
chosen and printed; the same seed repeats the same beats, whatever --batch-size.
reconstruct, variations and render take many files: each bad one is named with
its reason, the good ones are still written, and the exit status is 1 if any
failed. --humanize plays the beats with a drummer's velocities and timing
(bgmaker.humanize; the hits stay the model's), --amount scales it. --style / --prior
draw samples from one GMD style's (or the model's own data's) region of the
latent space, and --more pushes beats along the model's attribute vectors
(bgmaker.generation.priors; `bgmaker priors --run RUN --list` shows a model's).
Magenta's stock generator stays available as `music_vae_generate` (see scripts/generate.sh).

The jobs themselves are bgmaker.generation.jobs (the notebook and the web page
call the same functions); this module parses arguments and prints.
"""
import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from bgmaker.errors import UserError
from bgmaker.generation.generator import DEFAULT_NOISE, DEFAULT_TEMPERATURE  # numpy only: --help stays instant

MODES = ("sample", "interpolate", "reconstruct", "variations", "render")
DEFAULT_RUN = "v2_rock_beat"  # the run whose model ships in models/


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines
    modes = parser.add_subparsers(dest="mode", metavar="MODE", required=True)
    helps = {
        "sample": "new beats from the model's prior",
        "interpolate": "a path between two beats (MIDI files), endpoints included, and the whole path as one file",
        "reconstruct": "the model's rendition of each input beat (encode, then decode)",
        "variations": "beats near each input beat (its code plus small noise)",
        "render": "write WAV and PNG (and a re-timed MIDI) for existing MIDI files; loads no model",
    }
    for mode in MODES:
        p = modes.add_parser(mode, help=helps[mode], description=helps[mode])
        if mode == "interpolate":
            p.add_argument("start", help="MIDI file of the first beat")
            p.add_argument("end", help="MIDI file of the last beat")
            p.add_argument("--steps", type=int, default=8,
                           help="beats on the path, endpoints included (default 8)")
        elif mode != "sample":
            p.add_argument("inputs", nargs="+", metavar="MIDI", help="input MIDI file(s)")
        if mode in ("sample", "variations"):
            p.add_argument("--num", type=int, default=8 if mode == "sample" else 4,
                           help="number of beats" + (" per input" if mode == "variations" else "")
                                + " (default %(default)s)")
        if mode == "sample":
            p.add_argument("--journey-steps", type=int, default=8,
                           help="also write the interpolation from the most to the least cymbal-heavy "
                                "sample (crash + ride), this many 4-bar steps as one file (default 8 = "
                                "32 bars; 0: none)")
        if mode == "variations":
            p.add_argument("--noise", type=float, default=DEFAULT_NOISE,
                           help="std of the noise added to the beat's code, in prior units (default %(default)s)")
        if mode == "sample":
            p.add_argument("--prior", default=None, metavar="PRIOR",
                           help="where the codes are drawn: normal (N(0, I), as Magenta), run (the codes of the "
                                "run's train windows), a GMD style (funk, jazz, ...; as --style), beat, fill, "
                                "mixture (the larger styles' priors together) or clusters (64 clusters of the run's "
                                "codes); "
                                "the model's priors are listed by `bgmaker priors --run RUN --list` (default: the "
                                "model's default, chosen on validation; normal for a model without priors)")
        if mode in ("sample", "variations", "reconstruct"):
            p.add_argument("--more", default=None, metavar="ATTR=AMOUNT,...",
                           help="push the beats along the model's attribute vectors, e.g. density=+1,cymbals=-0.5 "
                                "(about -2 to +2; which attributes a model has: bgmaker priors --run RUN --list, "
                                "usually density, cymbals, syncopation, kick, fill)")
        if mode != "render":
            _model_arguments(p)
        humanize_arguments(p, seed=mode == "render")
        if mode in ("interpolate", "reconstruct", "variations"):
            p.add_argument("--start-bar", type=int, default=None,
                           help="use the input's 4-bar window starting at this bar (0-based); "
                                "default: its first non-silent window")
        _output_arguments(p, mode)


def _model_arguments(p):
    from bgmaker.models import drum_config_names
    g = p.add_argument_group("model")
    g.add_argument("--run", help=f"a named run (bgmaker runs): its shipped model in models/RUN, else its newest "
                                 f"training checkpoint (default without --checkpoint: {DEFAULT_RUN})")
    g.add_argument("--config", default=None, choices=drum_config_names(), metavar="CONFIG",
                   help="the drum config the checkpoint was trained as, with --checkpoint: "
                        f"{', '.join(drum_config_names())} (default: the one its bgmaker_run.json records)")
    g.add_argument("--checkpoint", help="checkpoint prefix, model folder, train/ dir or run dir "
                                        "(e.g. runs/v2_rock_beat for a run's newest training checkpoint)")
    g.add_argument("--hparams", default=None,
                   help="hparam overrides the checkpoint was trained with (default: the recorded hparams.txt)")
    g.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                   help="decoder sampling temperature (default %(default)s)")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one, printed)")
    g.add_argument("--batch-size", type=int, default=None,
                   help="beats per TensorFlow run; changes speed, never the beats (default: all, up to 64)")
    from bgmaker.generation.refine import DEFAULT_STEPS
    g.add_argument("--refine-steps", type=int, default=None, metavar="N",
                   help="refine each input beat's latent code against the decoder for N steps before decoding, so "
                        f"the model plays your beat back faithfully (default {DEFAULT_STEPS}; 0: the encoder's "
                        "mean, as Magenta does). Reconstruct, variations and interpolate")


def humanize_arguments(p, seed=False, switch=True):
    """--humanize, --amount, --style (and --seed where the command has none): for generate and bgmaker humanize."""
    from bgmaker.humanize import CHOICES, DEFAULT, MAX_AMOUNT
    g = p.add_argument_group("humanize (velocities and timing like GMD's drummers)")
    g.add_argument("--humanize", nargs="?", const="auto", default=None, metavar="HUMANIZER",
                   help=f"play the beats like a drummer: {', '.join(CHOICES)} (with no value, {DEFAULT}), "
                        "or a humanize model folder. Default: on with the shipped GrooVAE once its test report "
                        "passed the gate (docs/humanize.md), else off")
    if switch:
        g.add_argument("--no-humanize", action="store_true",
                       help="every hit on the grid at one velocity, as the drum model decodes it")
    g.add_argument("--amount", type=float, default=1.0,
                   help=f"how much of the humanizer's playing: 0 = on the grid, 1 = as played (default), up to "
                        f"{MAX_AMOUNT:g} = exaggerated")
    g.add_argument("--style", default=None,
                   help="a GMD style (rock, funk, jazz, ...): sample draws its codes from the style's prior (as "
                        "--prior STYLE), and the template humanizer plays with the style's feel (default: all styles)")
    if seed:
        g.add_argument("--seed", type=int, default=None, help="random seed of the template's draws (default 0)")


def resolve_humanize(args):
    """args.humanize after the defaults: --no-humanize -> None; not given -> "auto" for the model's beats when
    humanize.default_on() (render plays existing files as written unless asked)."""
    from bgmaker import humanize
    if getattr(args, "no_humanize", False):
        if args.humanize:
            raise UserError("--humanize and --no-humanize exclude each other")
        args.humanize = None
    elif args.humanize is None and args.mode != "render" and humanize.default_on():  # render plays files as written
        args.humanize, args.humanize_by_default = "auto", True
    return args.humanize


def apply_humanize(args, job, seed):
    """Humanize `job` as the arguments say; print what was done (or how to get it)."""
    from bgmaker import humanize
    from bgmaker.generation import jobs
    if not args.humanize:
        return job
    humanizer = humanize.load(args.humanize)
    check_humanize_args(args, humanizer)
    t = time.perf_counter()
    # a sampled style the template has no cell for is played with every style's feel
    style = args.style if args.style in (getattr(humanizer, "styles", None) or ()) else None
    jobs.humanize(job, humanizer, args.amount, seed, style)
    print(f"humanized {len(job.beats)} beat(s) with {humanizer.name} (amount {args.amount:g}"
          + (f", style {style}" if style else "") + f") in {time.perf_counter() - t:.2f} s"
          + ("; the default since it passed its gate, --no-humanize for the grid"
             if getattr(args, "humanize_by_default", False) else ""), flush=True)
    return job


def check_humanize_args(args, humanizer=None):
    """One-line errors for the humanize arguments: their values before anything loads, --style against the humanizer."""
    from bgmaker.humanize import MAX_AMOUNT
    if humanizer is None and hasattr(args, "no_humanize"):
        resolve_humanize(args)
    style_picks_prior = getattr(args, "mode", None) == "sample"  # there --style is the prior's too
    if not getattr(args, "humanize", True) and (args.amount != 1.0 or (args.style and not style_picks_prior)):
        raise UserError("--amount and --style are for --humanize")
    if not 0 <= args.amount <= MAX_AMOUNT:
        raise UserError(f"--amount must be between 0 and {MAX_AMOUNT:g}, got {args.amount:g}")
    styles = getattr(humanizer, "styles", None)
    if args.style and humanizer is not None and not style_picks_prior:
        if styles is None:
            raise UserError(f"--style is for the template humanizer; {humanizer.name} plays every style alike")
        if args.style not in styles:
            from bgmaker.errors import UnknownNameError
            raise UnknownNameError(f"unknown style '{args.style}'; the template knows: {', '.join(styles)}")


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
    from bgmaker import compat, paths
    from bgmaker.generation import jobs

    compat.quiet_pydub_ffmpeg_warning()
    _check(args)
    out = Path(args.output_dir or paths.REPO_ROOT / "out" / f"{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}")
    jobs.check_output_dir(out)  # before any model loads
    t0 = time.perf_counter()
    if args.mode == "render":
        job = jobs.render_files(args.inputs)
        bpm = args.bpm or jobs.tempo_of(job)
        if job.beats and bpm is None:
            raise UserError("the files have different tempos; choose one with --bpm")
        apply_humanize(args, job, args.seed or 0)
        return _finish(args, job, out, bpm, t0)

    from bgmaker.generation.generator import random_seed
    seed = random_seed() if args.seed is None else args.seed
    failures, windows = [], []
    if args.mode in ("reconstruct", "variations", "interpolate"):  # read once, before the model loads
        inputs = args.inputs if args.mode != "interpolate" else [args.start, args.end]
        usable, failures = jobs.read_inputs(inputs, args.start_bar)
        if args.mode == "interpolate" and failures:
            raise UserError("; ".join(f"{name}: {reason}" for name, reason in failures))
        if not usable:
            _report_failures(failures)
            raise UserError(f"none of the {len(inputs)} input(s) gives a 4-bar drum beat")
        windows = [w.sequence for _, w in usable]  # named by their file (NoteSequence.filename)
    model = _load(args)
    print(f"model: {model.choice.why}", flush=True)
    print(f"loaded {model.config_name or 'the model'} from {model.checkpoint} in {time.perf_counter() - t0:.1f} s",
          flush=True)
    t1 = time.perf_counter()
    opts = dict(temperature=args.temperature, seed=seed)
    if args.mode != "interpolate":
        opts["more"] = args.more
        if args.more:  # unknown attribute names, before any refinement runs
            model.steer(np.zeros((1, model.z_size), np.float32), args.more)
    if args.mode == "sample":
        prior = _sample_prior(model, args)  # the model's default when not given; UnknownPriorError names the choices
        print(f"prior: {prior.name}" + (f" ({prior.windows} train windows)" if prior.windows else " (N(0, I))")
              + (f", each beat the best of {prior.draws} draws by the style critic" if prior.critic is not None
                 and prior.draws > 1 else "")
              + (f"; more: {', '.join(f'{k} {v:+g}' for k, v in args.more.items())}" if args.more else ""),
              flush=True)
        job = jobs.sample(model, args.num, journey_steps=args.journey_steps, prior=prior.name, **opts)
    elif args.mode == "interpolate":
        job = jobs.interpolate(model, windows[0], windows[1], args.steps, **opts)
    elif args.mode == "reconstruct":
        job = jobs.reconstruct(model, windows, **opts)
    else:
        job = jobs.variations(model, windows, args.num, args.noise, **opts)
    job.failures = failures + job.failures
    print(f"{args.mode}: {len(job.beats)} beat(s) of 4 bars in {time.perf_counter() - t1:.2f} s "
          f"(seed {seed}, temperature {args.temperature:g})", flush=True)
    apply_humanize(args, job, seed)
    if not args.humanize:
        print("humanize: off, every hit on the grid at one velocity"
              + ("" if args.no_humanize else " (--humanize plays them like a drummer)"), flush=True)
    return _finish(args, job, out, args.bpm, t0)


def _sample_prior(model, args):
    """The prior `sample` draws from: --prior, else --style's (a style the model has no prior for, but the
    template humanizer knows, is played with that style's feel from the model's default prior), else the
    model's default."""
    from bgmaker.generation.priors import UnknownPriorError
    try:
        return model.prior(args.prior)
    except UnknownPriorError:
        if not args.style or args.prior != args.style or not args.humanize:
            raise
        from bgmaker import humanize
        if args.style not in (getattr(humanize.load(args.humanize), "styles", None) or ()):
            raise
        print(f"prior: this model has no '{args.style}' prior; the humanizer plays its feel", flush=True)
        return model.prior(None)


def _finish(args, job, out, bpm, t0):
    """Write the job's files, say where everything is, name every failed input; exit 1 if any failed."""
    from bgmaker.generation import jobs
    from bgmaker.render.audio import RendererUnavailable
    from bgmaker.render.midi import bars
    if job.beats:
        t = time.perf_counter()
        try:
            outputs = jobs.write(job, out, bpm=bpm, drum_map=args.drum_map, audio=not args.no_audio,
                                 png=not args.no_png, renderer=args.renderer)
        except RendererUnavailable as e:
            raise UserError(str(e)) from None
        for o in outputs:
            n = bars(o.beat)
            for kind, (path, note) in o.written.items():
                extra = ", ".join(x for x in ((f"{n} bars" if n != 4 else ""), note) if x)
                print(f"  wrote {path}" + (f"  ({extra})" if extra else ""))
        print(f"rendered {len(outputs)} output(s) in {time.perf_counter() - t:.1f} s", flush=True)
        print(f"done in {time.perf_counter() - t0:.1f} s: {out}/")
        names = [b.name for b in job.beats]
        span = names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"
        kinds = ", ".join([".mid"] + [".wav"] * (not args.no_audio) + [".png"] * (not args.no_png))
        print(f"  {len(names)} {'file' if job.mode in ('render', 'humanize') else 'beat'}(s): {out}/{span} ({kinds} each)",
              flush=True)
        if job.mode == "sample" and job.path:
            a, b = (names[i] for i in job.journey_ends)
            print(f"  {len(job.path.panels) * 4}-bar interpolation from {a} (most crash + ride) to {b} (fewest): "
                  f"{out}/interpolation.mid/.wav/.png", flush=True)
    if job.failures:
        _report_failures(job.failures)
        total = len(getattr(args, "inputs", None) or [args.start, args.end])
        print(f"{args._prog}: {len(job.failures)} of {total} input(s) failed", file=sys.stderr)
        return 1
    return 0


def _report_failures(failures):
    for path, reason in failures:
        print(f"  failed {path}: {reason}", file=sys.stderr)


def _check(args):
    """Argument errors found before loading anything (one line each)."""
    from bgmaker.drums import MAX_BPM, MIN_BPM
    from bgmaker.render import kit
    if args.bpm is not None and not MIN_BPM <= args.bpm <= MAX_BPM:
        raise UserError(f"--bpm must be between {MIN_BPM} and {MAX_BPM}, got {args.bpm:g}")
    kit.drum_map(args.drum_map)  # ValueError with the choices
    for name, least in (("num", 1), ("steps", 2)):
        if getattr(args, name, least) < least:
            raise UserError(f"--{name} must be at least {least}")
    if getattr(args, "journey_steps", 0) not in (0,) and args.journey_steps < 2:
        raise UserError("--journey-steps must be 0 (none) or at least 2")
    check_humanize_args(args)
    if getattr(args, "more", None) is not None:
        from bgmaker.generation.priors import parse_more  # numpy only
        try:
            args.more = parse_more(args.more)
        except ValueError as e:
            raise UserError(str(e)) from None
    if args.mode == "sample":
        if args.prior and args.style and args.prior != args.style:
            raise UserError(f"--prior {args.prior} and --style {args.style} disagree; give one")
        args.prior = args.prior or args.style
    if args.mode != "render":
        if not math.isfinite(args.temperature) or args.temperature <= 0:
            raise UserError(f"--temperature must be a positive number, got {args.temperature:g}")
        if args.batch_size is not None and args.batch_size < 1:
            raise UserError("--batch-size must be at least 1")
        if args.refine_steps is not None and args.refine_steps < 0:
            raise UserError(f"--refine-steps must be 0 or more, got {args.refine_steps}")
        if not args.run and not args.checkpoint:
            args.run = DEFAULT_RUN
        if args.run and args.config:
            raise UserError("--run already names a config; drop --config")
        ckpt = args.checkpoint
        if ckpt and not (Path(ckpt).exists() or Path(f"{ckpt}.index").exists()):
            raise UserError(f"{ckpt}: no such checkpoint, model folder, train/ dir or run dir")
        if args.run:
            import bgmaker_configs
            if bgmaker_configs.get_run(args.run).humanizes:  # UnknownRunError listing the runs, before anything loads
                raise UserError(f"--run {args.run} is the humanizer, not a drum model: use --humanize with a drum "
                                f"model's --run (default {DEFAULT_RUN})")
    if args.mode == "interpolate":
        for path in (args.start, args.end):
            if Path(path).is_dir():
                raise UserError(f"{path}: a directory, not a MIDI file")
            if not Path(path).exists():
                raise UserError(f"{path}: no such MIDI file")
    if args.renderer == "fluidsynth" and not args.no_audio:
        from bgmaker.render.audio import fluidsynth_status
        ok, why = fluidsynth_status()
        if not ok:
            raise UserError(f"--renderer fluidsynth: {why}; or use --renderer builtin")


def _load(args):
    from bgmaker.generation.generator import BeatGenerator
    count = {"sample": getattr(args, "num", 0), "interpolate": getattr(args, "steps", 0),
             "reconstruct": len(getattr(args, "inputs", [])),
             "variations": getattr(args, "num", 0)}[args.mode]
    return BeatGenerator.load(run=args.run, checkpoint=args.checkpoint, config=args.config, hparams=args.hparams,
                              batch_size=args.batch_size or max(1, min(64, count)), refine_steps=args.refine_steps)
