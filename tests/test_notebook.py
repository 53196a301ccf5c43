"""The Colab notebook, executed headless with its small settings (BGMAKER_NOTEBOOK_QUICK=1)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "bgmaker.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "strip outputs before committing"


def test_notebook_runs_top_to_bottom(gmd_dir, monkeypatch):
    monkeypatch.setenv("BGMAKER_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()  # raises on any cell error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    shown = {mime for o in outputs for mime in o.get("data", {})}
    assert "image/png" in shown, "no drum grid shown"
    assert "text/html" in shown, "no inline audio player"
    text = "".join(o.get("text", "") for o in outputs)
    assert "32 bars:" in text
