"""`bgmaker` command line: one subcommand per job, each a thin module in this package.

Every subcommand is `bgmaker/cli/<name>.py` with `add_arguments(parser)` and
`main(args) -> int`; it parses, calls one library function, and prints. The
modules keep TensorFlow out of their top-level imports, so `bgmaker --help`,
`bgmaker runs` and argument errors answer in about a second. A user error
(bad run name, missing file, unusable MIDI, mismatched checkpoint) is printed
as one line, `bgmaker <cmd>: error: ...`, exit 2. TensorFlow's and Magenta's
log noise is kept off stderr unless `--verbose` is given (training commands,
whose log is their progress, set QUIET = False). Both rules live in
bgmaker.console, which the library's own `python -m` entry points share.
"""
import argparse
import importlib
import sys

from bgmaker.console import VERBOSE_HELP, exit_status, quiet, split_verbose  # quiet: magenta_apps, reports/fp16.py

# name -> (module, one-line help)
COMMANDS = {
    "runs": ("bgmaker.cli.runs", "list the named training runs"),
    "convert": ("bgmaker.cli.convert", "convert GMD MIDI into NoteSequence TFRecords for a run"),
    "train": ("bgmaker.cli.train", "train a named run with Magenta's music_vae_train"),
    "generate": ("bgmaker.cli.generate", "sample, interpolate, reconstruct and vary drum beats"),
    "humanize": ("bgmaker.cli.humanize", "play any drum MIDI like a drummer: velocities and timing, same hits"),
    "evaluate": ("bgmaker.cli.evaluate", "evaluate a trained run on GMD's held-out split"),
    "priors": ("bgmaker.cli.priors", "fit a model's latent priors (styles) and attribute vectors (--more) beside it"),
    "export": ("bgmaker.cli.export", "save a run's checkpoint as a small weights-only model (models/<run>)"),
    "experiments": ("bgmaker.cli.experiments", "regenerate the naive piano-roll autoencoder experiments table"),
    "campaign": ("bgmaker.cli.campaign", "resume the long training behind the shipped models (humanize, v1_all, v2_rock_beat)"),
    "serve": ("bgmaker.cli.serve", "the web beat machine: a page to generate, edit, hear, interpolate and export beats"),
}


def own_flags(name, argv=None):
    """The flags after subcommand `name` on this process's command line, plus --verbose when given anywhere.

    What a job that starts itself afresh in another process (a stock recipe,
    Beam's own environment) passes on: `bgmaker -v convert --beam` ->
    ["--beam", "--verbose"].
    """
    verbose, argv = split_verbose(sys.argv[1:] if argv is None else argv)
    rest = argv[argv.index(name) + 1:] if name in argv else argv
    return rest + (["--verbose"] if verbose else [])


def build_parser(commands=COMMANDS):
    parser = argparse.ArgumentParser(prog="bgmaker", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help=VERBOSE_HELP)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in commands.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                           parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module, _prog=f"bgmaker {name}")
    return parser


def main(argv=None):
    verbose, argv = split_verbose(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if extra and not getattr(args._module, "ACCEPTS_EXTRA_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    quiet(verbose or not getattr(args._module, "QUIET", True))
    return exit_status(args._prog, lambda: args._module.main(args))


if __name__ == "__main__":
    sys.exit(main())
