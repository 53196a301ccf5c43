"""`bgmaker` command line: one subcommand per job, each a thin module in this package.

Every subcommand is `bgmaker/cli/<name>.py` with `add_arguments(parser)` and
`main(args) -> int`; it parses, calls one library function, and prints. The
modules keep TensorFlow out of their top-level imports, so `bgmaker --help`,
`bgmaker runs` and argument errors answer in about a second. A user error
(bad run name, missing file, unusable MIDI, mismatched checkpoint) is printed
as one line, `bgmaker <cmd>: error: ...`, exit 2. TensorFlow's and Magenta's
log noise is kept off stderr unless `--verbose` is given (training commands,
whose log is their progress, set QUIET = False).
"""
import argparse
import importlib
import os
import sys

from bgmaker.errors import UserError  # noqa: F401  (re-exported for subcommands)

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


def build_parser(commands=COMMANDS):
    parser = argparse.ArgumentParser(prog="bgmaker", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show TensorFlow's and Magenta's logs and warnings on stderr")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's and Magenta's logs and warnings on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in commands.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                           parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module, _prog=f"bgmaker {name}")
    return parser


def quiet(verbose):
    """Keep TensorFlow's C++ logs, Python deprecation warnings and absl INFO lines off stderr.

    Set before TensorFlow is imported (the subcommands import it lazily).
    """
    if verbose:
        os.environ["BGMAKER_VERBOSE"] = "1"
        return
    import logging
    import warnings
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # --verbose shows them
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    for name in ("tensorflow", "absl", "h5py", "numba", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for category in (DeprecationWarning, FutureWarning, UserWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)  # pydub, via note_seq


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in ("--verbose", "-v") for a in argv)  # accepted anywhere, also after a nested mode
    argv = [a for a in argv if a not in ("--verbose", "-v")]
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if extra and not getattr(args._module, "ACCEPTS_EXTRA_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    quiet(verbose or not getattr(args._module, "QUIET", True))
    try:
        return args._module.main(args) or 0
    except (UserError, FileNotFoundError, NotADirectoryError, ValueError) as e:
        # Unknown names arrive as UnknownNameError (a UserError); a bare KeyError is a bug and keeps its traceback.
        print(f"{args._prog}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bgmaker campaign --status | head -1`: the reader is done; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
