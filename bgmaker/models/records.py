"""Run and model folders: where they are, what their record says, and writing it.

A **run folder** (`runs/<run>/`, under $BGMAKER_RUNS_DIR) is where a run
trains: Magenta's `music_vae_train` keeps its checkpoints in the folder's
`train/`. A **shipped model folder** (`models/<run>/`, under
$BGMAKER_MODELS_DIR) holds the weights `bgmaker export` keeps. Each carries a
**run record**, `bgmaker_run.json`: what the run was trained with and every
start of it (bgmaker.training.train.record_run), with `exported_from` and,
for a model the campaign shipped, `shipped` added. A **carried milestone** (`models/carry/<run>/`) is a campaign
stage's newest milestone (its best once it stopped) exported the same way, with
`carried` added, so a campaign on another machine goes on from it.

Everything in the package that reads or writes those folders asks here, so
the layout and the record's file name are spelled once (tests/test_structure.py
checks it; the scripts of reports/ still read records by hand). No TensorFlow, and no import of
bgmaker_configs: its Run asks here for its folders.
"""
import json
from pathlib import Path

from bgmaker import paths

RUN_RECORD = "bgmaker_run.json"
TRAIN_DIR = "train"  # music_vae_train's checkpoint folder inside a run folder (Magenta's choice)
CARRY_DIR = "carry"  # models/carry/<run>: a campaign stage's newest milestone, committed between machines


# -- the layout ---------------------------------------------------------------

def run_dir(name, runs_dir=None):
    """The folder run `name` trains in: `runs_dir` (default paths.runs_dir(), i.e. runs/) / name."""
    return Path(runs_dir if runs_dir is not None else paths.runs_dir()) / name


def train_dir(folder):
    """The folder Magenta keeps a run folder's training checkpoints in: <folder>/train."""
    return Path(folder) / TRAIN_DIR


def shipped_dir(name):
    """Where `bgmaker export` puts run `name`'s weights-only model: paths.models_dir() (models/) / name."""
    return paths.models_dir() / name


def carry_dir(name):
    """Where the campaign carries stage `name`'s newest milestone between machines: paths.models_dir() / carry / name.

    Committed like a shipped model but not one (bgmaker.training.campaign.carry): the campaign's own
    state lives outside the checkout and survives only a session on the same machine.
    """
    return paths.models_dir() / CARRY_DIR / name


def is_shipped_dir(folder):
    """True when `folder` is a shipped model's folder, i.e. a folder of paths.models_dir() (models/NAME).

    Such a folder is committed, so what is written about its model (a new
    evaluation) goes to the run's own folder instead.
    """
    return Path(folder).resolve().parent == paths.models_dir().resolve()


def folder_of(checkpoint):
    """The run or model folder a checkpoint belongs to: the run folder for one in a run's train/, else its own."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == TRAIN_DIR else checkpoint.parent


# -- the record -----------------------------------------------------------------

def has_record(folder):
    """True when `folder` holds a run record (a run folder that has started, a shipped model folder)."""
    return (Path(folder) / RUN_RECORD).is_file()


def read_record(folder, missing_ok=False):
    """The run record of `folder` as a dict.

    A folder without one: FileNotFoundError naming the folder, or {} with
    `missing_ok`. A record that is not JSON: ValueError naming the file.
    """
    path = Path(folder) / RUN_RECORD
    if not path.is_file():
        if missing_ok:
            return {}
        raise FileNotFoundError(f"{folder} has no run record ({RUN_RECORD})")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"{path}: not a readable run record ({e})") from None


def write_record(folder, record, default=str):
    """Write `record` as `folder`'s run record, atomically: a killed process leaves the old record or the new one.

    `default` turns what JSON cannot hold into what it can (json.dumps).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths.write_text_atomically(folder / RUN_RECORD, json.dumps(record, indent=2, default=default) + "\n")


def run_record(checkpoint):
    """The run record next to a checkpoint (its folder or the folder above), or {} when none can be read.

    The folder above is a run folder for a checkpoint in its train/ or
    milestones/; a shipped model keeps its record beside its weights.
    """
    start = Path(checkpoint).parent
    for folder in (start, start.parent):
        if has_record(folder):
            try:
                return read_record(folder)
            except ValueError:
                return {}
    return {}
