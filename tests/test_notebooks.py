"""The teaching notebooks in theory/ execute top to bottom (nbclient, a fresh python3 kernel, cwd theory/), and are
stored without outputs. Each is meant to finish in under two minutes on a CPU; the per-cell timeout is generous so
that a loaded CI machine does not fail them for speed (speed is not asserted here)."""

import os

import nbclient
import nbformat
import pytest

THEORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "theory")
NOTEBOOKS = ["01_linear_model.ipynb", "02_choosing_alpha_amazon.ipynb", "03_transformer_alphas.ipynb"]
CELL_TIMEOUT_S = 600


def _amazon_missing() -> str:
    from rmt_alpha.data import load_amazon_domain

    try:
        load_amazon_domain("books")
    except (FileNotFoundError, ValueError) as error:
        return str(error)
    return ""


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    assert all(not cell.outputs and cell.execution_count is None for cell in code), f"{name} carries outputs"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, monkeypatch):
    if name.startswith("02_"):
        missing = _amazon_missing()
        if missing:
            pytest.skip(f"Amazon Review data absent: {missing}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": THEORY}})
    client.execute()   # raises CellExecutionError, naming the cell, when any cell fails
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert not errors
