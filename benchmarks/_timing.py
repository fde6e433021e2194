"""Timing helper shared by the benchmark scripts (run them as `python benchmarks/NAME.py`)."""

import time

import numpy as np


def median_seconds(function, repeats: int) -> float:
    """Median wall time of `repeats` calls of `function()` (the median resists a noisy, shared machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
