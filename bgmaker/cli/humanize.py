"""Play any drum MIDI like a drummer: every hit keeps its place and drum, and gets a velocity and a timing.

  bgmaker humanize beat.mid                          # -> out/humanize-<time>/beat_humanized.mid/.wav/.png
  bgmaker humanize a.mid b.mid --humanize template --style funk --seed 3
  bgmaker humanize beat.mid --amount 0.5             # half the humanizer's deviations
  bgmaker humanize --fit-template                    # refit models/humanize/template.npz from GMD's train split

What Magenta Studio's Groove plug-in does, for 4/4 drum files of any length
at one tempo: each file is read on the 16th grid and played by the humanizer
(bgmaker.humanize: the shipped GrooVAE, or the template drawn from GMD's
drummers), which sets velocities and timing and never adds or drops a hit.
`--amount 0` writes a grid-exact copy. Files that cannot be humanized (not
4/4, tempo changes, no drums) are named with the reason; the rest are still
written, and the exit status is 1 if any failed.
"""
import time
from pathlib import Path

from bgmaker.errors import UserError

ACCEPTS_EXTRA_ARGS = False


def add_arguments(parser):
    from bgmaker.cli.generate import humanize_arguments
    parser.add_argument("inputs", nargs="*", metavar="MIDI", help="drum MIDI file(s) to humanize")
    parser.add_argument("--fit-template", action="store_true",
                        help="refit the template humanizer on GMD's train split into models/humanize/ and exit")
    humanize_arguments(parser, seed=True, switch=False)
    parser.set_defaults(humanize="auto")
    g = parser.add_argument_group("output")
    g.add_argument("--output-dir", "-o", default=None, help="where to write (default: <repo>/out/humanize-<date-time>)")
    g.add_argument("--drum-map", default="gm", help="output pitches: gm (default), roland, or 9 pitches")
    g.add_argument("--renderer", choices=("auto", "fluidsynth", "builtin"), default="auto", help="WAV renderer")
    g.add_argument("--no-audio", action="store_true", help="write no WAV files")
    g.add_argument("--no-png", action="store_true", help="write no PNG drum grids")


def main(args):
    from bgmaker import compat, humanize, paths
    from bgmaker.cli.generate import _finish, check_humanize_args
    from bgmaker.generation import jobs
    compat.quiet_pydub_ffmpeg_warning()
    if args.fit_template:
        from bgmaker.humanize.template import fit_gmd_template
        path = humanize.shipped_dir() / humanize.TEMPLATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fit_gmd_template(path, log=lambda m: print(f"bgmaker humanize: {m}", flush=True))
        print(f"bgmaker humanize: wrote {paths.as_typed(path)}")
        return 0
    if not args.inputs:
        raise UserError("give one or more drum MIDI files (or --fit-template)")
    check_humanize_args(args)
    out = Path(args.output_dir or paths.REPO_ROOT / "out" / f"humanize-{time.strftime('%Y%m%d-%H%M%S')}")
    jobs.check_output_dir(out)
    t0 = time.perf_counter()
    humanizer = humanize.load(args.humanize)
    check_humanize_args(args, humanizer)
    job = jobs.humanize_files(args.inputs, humanizer, args.amount, args.seed or 0, args.style)
    print(f"humanized {len(job.beats)} file(s) with {humanizer.name} (amount {args.amount:g}"
          + (f", style {args.style}" if args.style else "") + f") in {time.perf_counter() - t0:.2f} s", flush=True)
    args.bpm = None
    return _finish(args, job, out, jobs.tempo_of(job), t0)
