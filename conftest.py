"""Doctests (pytest --doctest-modules over rmt_alpha/) run in a clean namespace, as in a fresh interpreter: not in
their module's globals, and with nothing injected, so every example imports what it uses.

With pytest-xdist (`-n`), each worker's BLAS runs one thread: the workers already fill the cores, and OpenBLAS's
own threads on top of them made numpy-heavy tests many times slower (one semi-empirical test: 22 s alone, 275 s
among two workers with two BLAS threads each). The variables are set before the workers start, which inherit them.
"""

import os

import pytest
from _pytest.doctest import DoctestItem


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None):
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


@pytest.fixture(autouse=True)
def _fresh_interpreter_namespace(request):
    if isinstance(request.node, DoctestItem):
        namespace = request.node.dtest.globs
        namespace.clear()
        namespace["__name__"] = "__main__"
