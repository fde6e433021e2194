"""The teaching notebooks in theory/ are stored with the outputs of a complete run (so that they render where
people read them) and still execute top to bottom (nbclient, a fresh python3 kernel, cwd theory/). Each is meant
to finish in under two minutes on a CPU; the per-cell timeout is generous so that a loaded CI machine does not fail
them for speed (speed is not asserted here). `python theory/run_notebooks.py` refreshes the stored outputs."""

import importlib.util
import os

import nbformat
import pytest

THEORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "theory")
_spec = importlib.util.spec_from_file_location("run_notebooks", os.path.join(THEORY, "run_notebooks.py"))
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)


def _amazon_missing() -> str:
    from rmt_alpha.data import load_amazon_domain

    try:
        load_amazon_domain("books")
    except (FileNotFoundError, ValueError) as error:
        return str(error)
    return ""


def _errors(notebook) -> list:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
            if output.output_type == "error"]


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_is_stored_with_the_outputs_of_a_complete_run(name):
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), (
        f"{name} is not stored as one top-to-bottom run: run `python theory/run_notebooks.py {name}`")
    assert not _errors(notebook), f"{name} is stored with an error output"
    assert any(output.get("data", {}).get("image/png") for cell in code for output in cell.outputs), (
        f"{name} is stored without its figures")


@pytest.mark.headline
@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_executes(name):
    if name.startswith("02_"):
        missing = _amazon_missing()
        if missing:
            pytest.skip(f"Amazon Review data absent: {missing}")
    notebook = run_notebooks.execute(name)   # raises CellExecutionError, naming the cell, when any cell fails
    assert not _errors(notebook)
