"""Where BGMaker finds the dataset and puts its outputs.

Every location is an environment variable with a default relative to the
checkout, so the CLI, scripts, notebook and tests agree without flags.
"""
import contextlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def gmd_dir():
    """The Groove MIDI Dataset folder: $BGMAKER_GMD_DIR, else ../shared/data/groove."""
    return Path(os.environ.get("BGMAKER_GMD_DIR", REPO_ROOT.parent / "shared" / "data" / "groove"))


def data_dir():
    """Converted NoteSequence TFRecords: $BGMAKER_DATA_DIR, else <repo>/data."""
    return Path(os.environ.get("BGMAKER_DATA_DIR", REPO_ROOT / "data"))


def runs_dir():
    """Training runs (checkpoints, summaries): $BGMAKER_RUNS_DIR, else <repo>/runs."""
    return Path(os.environ.get("BGMAKER_RUNS_DIR", REPO_ROOT / "runs"))


def models_dir():
    """Shipped weights-only models (bgmaker export): $BGMAKER_MODELS_DIR, else <repo>/models."""
    return Path(os.environ.get("BGMAKER_MODELS_DIR", REPO_ROOT / "models"))


def state_dir():
    """Long-lived training state (the campaign's and the recipe runs' data and checkpoints).

    $BGMAKER_STATE_DIR, else ~/.local/state/bgmaker: outside the checkout, so
    a run survives a fresh clone or a re-laid work tree on the same machine
    and resumes where it stopped.
    """
    default = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "bgmaker"
    return Path(os.environ.get("BGMAKER_STATE_DIR", default))


def as_typed(path):
    """`path` as a user in the checkout would type it: relative to the working directory when under it.

    Messages and commands that a user copies (check.json's command, "use it
    with --checkpoint ...") show paths this way.
    """
    relative = os.path.relpath(path)
    return Path(path).as_posix() if relative.startswith("..") else Path(relative).as_posix()


def portable(path):
    """`path` as a committed report shows it: relative to the checkout when inside it, else under `~` when
    in the home folder (the state directory's default), else absolute. So a report made on one machine
    names the same places on another."""
    path = Path(path).absolute()
    for base, shown in ((REPO_ROOT, None), (Path.home(), "~")):
        try:
            relative = path.relative_to(base)
        except ValueError:
            continue
        return relative.as_posix() if shown is None else f"{shown}/{relative.as_posix()}"
    return path.as_posix()


@contextlib.contextmanager
def replaced_atomically(path):
    """Yield a temporary path beside `path` to write; when the block ends without error it replaces `path`.

    Why: every record, report, template and dataset BGMaker writes is read
    by later work (a resumed campaign, the tests, a user), so a killed or
    failing writer must leave the old file or the new one, never half of one.
    The temporary file sits in the same folder (os.replace is atomic only
    within one file system), is hidden, and carries the process id: a
    cluster's workers may share a folder. On an error it is removed. Opened
    plainly (not by mkstemp, which makes files owner-only), it gets the
    umask's permissions like any other file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomically(path, text):
    """Write `text` to `path` through replaced_atomically; returns `path`."""
    with replaced_atomically(path) as tmp:
        tmp.write_text(text)
    return Path(path)
