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


def test_notebook_finds_its_code_without_editing_and_says_how_to_get_it(tmp_path, monkeypatch):
    """Issue #13, defect 14: no placeholder URL; outside a checkout, one clear instruction."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(cell.source for cell in nb.cells)
    assert "YOUR-ACCOUNT" not in source
    install = next(cell.source for cell in nb.cells if "def find_checkout" in cell.source)
    namespace = {"os": __import__("os")}
    exec(install.split("repo = find_checkout()")[0], namespace)  # the definitions, not the install itself
    monkeypatch.chdir(NOTEBOOK.parent)
    assert namespace["find_checkout"]() == NOTEBOOK.parents[1]  # opened from a clone: found as is
    monkeypatch.chdir(tmp_path)
    namespace["REPO_URL"] = ""
    with pytest.raises(RuntimeError, match="upload bgmaker.zip"):
        namespace["find_checkout"]()


def test_notebook_training_cell_fails_when_training_fails():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    train = next(cell.source for cell in nb.cells if "bgmaker.cli\", \"train\"" in cell.source)
    assert "raise RuntimeError" in train and "returncode" in train and "| grep" not in train
