"""Execute the teaching notebooks in place, so that they are stored with their outputs (figures included) and
render where people read them. Usage: `python theory/run_notebooks.py [NAME.ipynb ...]` (default: all of them)."""

import os
import sys

import nbclient
import nbformat

THEORY = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = ["00_resolvent.ipynb", "01_linear_model.ipynb", "02_choosing_alpha_from_samples.ipynb",
             "03_choosing_alpha_amazon.ipynb", "04_transformer_alphas.ipynb"]


def execute(name: str, *, timeout: int = 600) -> nbformat.NotebookNode:
    """Run `name` top to bottom in a fresh python3 kernel (cwd theory/; figures stored inline as PNG); raises on a
    failing cell."""
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend stores the figures in the notebook
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": THEORY}}).execute()
    return notebook


if __name__ == "__main__":
    from rmt_alpha._io import atomic_write

    for name in sys.argv[1:] or NOTEBOOKS:
        atomic_write(os.path.join(THEORY, name), nbformat.writes(execute(name)).encode())
        print(f"executed {name}")
