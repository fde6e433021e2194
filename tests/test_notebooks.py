"""The teaching notebooks in theory/ are stored with the outputs of a complete run (so that they render where
people read them) and still execute top to bottom (nbclient, a fresh python3 kernel, cwd theory/). Each is meant
to finish in under two minutes on a CPU; the per-cell timeout is generous so that a loaded CI machine does not fail
them for speed (speed is not asserted here). `python theory/run_notebooks.py` refreshes the stored outputs.

The notebooks hold no `assert`, so that a student can change any parameter and run on. The numbers a notebook's
text states are checked here instead (`STATED`): each is a pair of the words in a markdown cell and the output line
of a code cell that produces them, and both must be found, in the stored notebook (fast) and in a fresh run
(`headline`). A changed formula or a changed result then fails here, naming the claim, and the text must follow."""

import importlib.util
import os
import re
from typing import NamedTuple

import nbformat
import pytest

THEORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "theory")
_spec = importlib.util.spec_from_file_location("run_notebooks", os.path.join(THEORY, "run_notebooks.py"))
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)


class Stated(NamedTuple):
    """A number the text states (`text`, in a markdown cell) and the printed output that produces it (`output`, in a
    code cell's output). Whitespace is normalised in both, so that a wrapped line still matches."""

    text: str
    output: str


STATED = {
    "00_resolvent.ipynb": [
        Stated("the eigenvalues spread from 0.14 to 2.60 (the law's edges: 0.135 and 2.665)",
               "eigenvalues from 0.143 to 2.602; Marchenko-Pastur edges 0.135 and 2.665"),
        Stated("within a fraction of a percent of $\\delta/\\eta$ at every $\\gamma$",
               "largest relative gap between one draw and delta / eta over the gammas: 0.0046"),
        Stated("give the same $\\delta$ to about $10^{-13}$", "|iteration - ridge_scalars| = 1.6e-15"),
        Stated("agrees to the third decimal", "tr Q / n of the draw = 0.2195"),
        Stated("$\\delta$ for a new point", "fresh points: mean 0.2195"),
        Stated("$\\delta / (1 + \\delta)$ for a point the resolvent was built from",
               "training points: mean 0.1807, sd 0.0101; delta / (1 + delta) = 0.1802"),
        Stated("follows $\\bar Q^2 / h$", "tr Q^2 / p measured 0.3277, Qbar^2 / h 0.3286, Qbar^2 0.3020"),
    ],
}


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


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _markdown(notebook) -> str:
    return _normalised(" ".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown"))


def _printed(notebook) -> str:
    """Everything the code cells printed or returned as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "execute_result":
                parts.append(output.get("data", {}).get("text/plain", ""))
    return _normalised("\n".join(parts))


def _check_stated(name, notebook):
    markdown, printed = _markdown(notebook), _printed(notebook)
    for claim in STATED.get(name, []):
        assert _normalised(claim.text) in markdown, f"{name}: the text no longer says {claim.text!r}"
        assert _normalised(claim.output) in printed, (
            f"{name}: no output {claim.output!r}, which the text's {claim.text!r} rests on")


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
    stderr = [output.text for cell in code for output in cell.outputs
              if output.output_type == "stream" and output.name == "stderr"]
    assert not stderr, f"{name} is stored with output on stderr (a warning?): {stderr[0][:200]!r}"


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_teaches_as_the_course_does(name):
    """Formulas in the text, one parameter cell first, "Try" prompts, and no `assert` to stop a student who changed
    a parameter."""
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert re.search(r"\$[^$]+\$", _markdown(notebook)), f"{name} has no formula in its text"
    assert "# Parameters" in code[0].source, f"{name}: the first code cell is not the parameter cell"
    assert sum("# Parameters" in cell.source for cell in code) == 1, f"{name} has more than one parameter cell"
    assert "## Try" in _markdown(notebook), f"{name} has no Try section"
    asserting = [cell.source.splitlines()[0] for cell in code if re.search(r"^\s*assert\b|np\.testing\.assert",
                                                                           cell.source, re.MULTILINE)]
    assert not asserting, f"{name} asserts in a cell (the tests check its numbers): {asserting}"


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_stored_notebook_states_what_its_outputs_show(name):
    _check_stated(name, nbformat.read(os.path.join(THEORY, name), as_version=4))


@pytest.mark.headline
@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_executes_and_states_what_it_computes(name):
    if "amazon" in name:
        missing = _amazon_missing()
        if missing:
            pytest.skip(f"Amazon Review data absent: {missing}")
    notebook = run_notebooks.execute(name)   # raises CellExecutionError, naming the cell, when any cell fails
    assert not _errors(notebook)
    _check_stated(name, notebook)
