"""Doctests (pytest --doctest-modules over rmt_alpha/) run in a clean namespace, as in a fresh interpreter: not in
their module's globals, and with nothing injected, so every example imports what it uses."""

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _fresh_interpreter_namespace(request):
    if isinstance(request.node, DoctestItem):
        namespace = request.node.dtest.globs
        namespace.clear()
        namespace["__name__"] = "__main__"
