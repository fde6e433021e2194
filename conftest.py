"""Doctests (pytest --doctest-modules over rmt_alpha/) see numpy as `np` and every public maths name of rmt_alpha
(the subpackage names are left out, so that a module's own `simulate` or `plots` is not shadowed)."""

import types

import numpy as np
import pytest

import rmt_alpha


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    for name in rmt_alpha.__all__:
        value = getattr(rmt_alpha, name)
        if not isinstance(value, types.ModuleType):
            doctest_namespace[name] = value
