"""What a training run has done so far, read and written without TensorFlow.

<run_dir>/progress.jsonl: one record per log interval of every training
process (step, examples seen, mean loss, cumulative CPU and wall seconds), so
the sums go on over restarts and the file is the run's learning curve
against CPU time. <run_dir>/milestones/index.jsonl: the weight snapshots kept
along the way (bgmaker.training.hooks writes both).
"""
import json
import os
from pathlib import Path

PROGRESS_FILE = "progress.jsonl"
TASKS_DIR = "cluster"  # <run_dir>/cluster/<job>-<task>.jsonl: the steps each task of a cluster ran
MILESTONES_DIR = "milestones"
MILESTONE_INDEX = "index.jsonl"


def read_progress(run_dir):
    """The records of <run_dir>/progress.jsonl (a torn last line, from a kill, is ignored)."""
    path = Path(run_dir) / PROGRESS_FILE
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def spent(run_dir):
    """(cpu_seconds, wall_seconds) a run has used so far, over all its processes."""
    records = read_progress(run_dir)
    return (records[-1]["cpu_s"], records[-1]["wall_s"]) if records else (0.0, 0.0)


def read_milestones(run_dir):
    """The milestone weight snapshots of a run, oldest first (dicts with checkpoint, step, cpu_s, ...)."""
    path = Path(run_dir) / MILESTONES_DIR / MILESTONE_INDEX
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        record["checkpoint"] = str(Path(run_dir) / MILESTONES_DIR / record["checkpoint"])
        out.append(record)
    return out


def append(path, record):
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_task_steps(run_dir):
    """{"worker:0": steps, ...}: the training steps each task of a cluster ran, summed over its starts.

    Each task appends (start, steps so far in that start) to
    <run_dir>/cluster/<job>-<task>.jsonl (bgmaker.training.hooks.TaskStepsHook);
    a start's last record counts. On machines that do not share the run
    folder each holds its own tasks' files.
    """
    folder = Path(run_dir) / TASKS_DIR
    totals = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        last = {}
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            last[record["start"]] = record["steps"]
        job, _, task = path.stem.rpartition("-")
        totals[f"{job}:{task}"] = sum(last.values())
    return totals
