"""What a BGMaker process prints: TensorFlow's log noise kept off stderr unless asked for, a user's error as one line.

The `bgmaker` command (bgmaker.cli) and the library's own entry points share
it: `python -m bgmaker.training`, `python -m bgmaker.data` and `python -m
bgmaker.experiments`, the child processes the campaign, training and scripts
start. So a child's log and its last stderr line (which a parent may quote)
read exactly as the command's would.

A job's module for `run` has the shape of a `bgmaker` subcommand: PROG (the
name its messages carry), `add_arguments(parser)`, `main(args) -> int`, and
optionally QUIET and ACCEPTS_EXTRA_ARGS.
"""
import argparse
import os
import sys

from bgmaker.errors import UserError

VERBOSE_HELP = "show TensorFlow's and Magenta's logs and warnings on stderr"
# What a user can fix. Unknown names arrive as UnknownNameError (a UserError); a bare KeyError is a bug and keeps
# its traceback.
USER_ERRORS = (UserError, FileNotFoundError, NotADirectoryError, ValueError)


def split_verbose(argv):
    """(verbose, argv without --verbose/-v): accepted anywhere, also after a nested mode."""
    argv = list(argv)
    return any(a in ("--verbose", "-v") for a in argv), [a for a in argv if a not in ("--verbose", "-v")]


def quiet(verbose):
    """Keep TensorFlow's C++ logs, Python deprecation warnings and absl INFO lines off stderr.

    Set before TensorFlow is imported (the jobs import it lazily).
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


def exit_status(prog, job):
    """job()'s exit status, a user's error printed as one line `<prog>: error: ...` (exit 2)."""
    try:
        return job() or 0
    except USER_ERRORS as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bgmaker campaign --status | head -1`: the reader is done; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run(job, argv=None):
    """Run a job's module as its own process (`python -m ...`): parse `argv` (default sys.argv[1:]) with the
    job's flags, quiet the logs as the `bgmaker` command would, call job.main; return the exit status."""
    verbose, argv = split_verbose(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=job.PROG, description=job.__doc__.strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", "-v", action="store_true", help=VERBOSE_HELP)
    job.add_arguments(parser)
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(job, "ACCEPTS_EXTRA_ARGS", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    quiet(verbose or not getattr(job, "QUIET", True))
    return exit_status(job.PROG, lambda: job.main(args))
