"""Doctests (pytest --doctest-modules over rmt_alpha/) see numpy as `np` and every public name of rmt_alpha."""

import numpy as np
import pytest

import rmt_alpha


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    for name in rmt_alpha.__all__:
        doctest_namespace[name] = getattr(rmt_alpha, name)
