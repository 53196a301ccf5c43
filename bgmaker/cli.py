"""`bgmaker` command line: one subcommand per job, each a thin module.

Subcommand modules expose `add_arguments(parser)` and `main(args) -> int`
and keep TensorFlow out of their top-level imports, so `bgmaker --help` and
argument errors answer instantly. A user error (bad run name, missing file,
unusable MIDI) is printed as one line, `bgmaker <cmd>: error: ...`, exit 2.
"""
import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS = {
    "runs": ("bgmaker.runs_cli", "list the named training runs"),
    "convert": ("bgmaker.convert", "convert GMD MIDI into NoteSequence TFRecords for a run"),
    "train": ("bgmaker.train", "train a named run with Magenta's music_vae_train"),
    "generate": ("bgmaker.generate_cli", "sample, interpolate, reconstruct and vary drum beats"),
    "evaluate": ("bgmaker.evaluate_cli", "evaluate a trained run on GMD's held-out split"),
    "export": ("bgmaker.export", "save a run's checkpoint as a small weights-only model (models/<run>)"),
    "campaign": ("bgmaker.campaign", "resume the long training behind the shipped models (v1_all -> v2_rock_beat)"),
}


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def build_parser(commands=COMMANDS):
    parser = argparse.ArgumentParser(prog="bgmaker", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in commands.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            continue  # a subcommand still being built is simply not offered
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.add_arguments(p)
        p.set_defaults(_module=module, _prog=f"bgmaker {name}")
    return parser


def main(argv=None):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if extra and not getattr(args._module, "ACCEPTS_EXTRA_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args._module.main(args) or 0
    except (UserError, FileNotFoundError, ValueError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{args._prog}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
