"""Several evaluations side by side: one Markdown table, one row per model (`bgmaker evaluate --compare`).

The columns are the summary figures that bgmaker.evaluation.summary gives a column title (COMPARE_COLUMNS).
"""
import json
from pathlib import Path

import numpy as np

from bgmaker.evaluation.markdown import table
from bgmaker.evaluation.summary import COMPARE_COLUMNS


def load_evaluation(source, split="test"):
    """The evaluation report of a run name, a run dir, an evaluation dir or an evaluation.json.

    For a run (name or dir), its most recent evaluation on `split`.
    """
    from bgmaker_configs import runs
    path = Path(source)
    if not path.exists() and str(source) in runs.RUNS:
        path = runs.get_run(str(source)).run_dir
    if path.is_file():
        return json.loads(path.read_text())
    if (path / "evaluation.json").is_file():
        return json.loads((path / "evaluation.json").read_text())
    found = sorted((path / "evaluation").glob(f"{split}-*/evaluation.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no {split} evaluation for {source} (looked in {path}); "
                                f"make one with: bgmaker evaluate --run NAME")
    return json.loads(found[-1].read_text())


def compare(sources, split="test"):
    """A Markdown table with one row per evaluated model (run names, dirs or evaluation.json paths)."""
    rows = [load_evaluation(s, split)["summary"] for s in sources]
    return comparison_table(rows)


def comparison_table(rows):
    """One row per summary: model, step and split name the row (left-aligned), the figures follow."""
    align = "lll" + "r" * (len(COMPARE_COLUMNS) - 3)
    return "\n".join(table([title for _, title, _ in COMPARE_COLUMNS],
                           [[_cell(row.get(key), fmt) for key, _, fmt in COMPARE_COLUMNS] for row in rows],
                           align)) + "\n"


def _cell(value, fmt):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return fmt.format(value)
