"""Timing helper shared by the benchmark scripts (run them as `python benchmarks/NAME.py`)."""

import time

import numpy as np


def median_seconds(function, repeats: int, clock=time.perf_counter) -> float:
    """Median time of `repeats` calls of `function()` (the median resists a noisy, shared machine): wall time, or
    with `clock=time.process_time` the process's CPU time (all threads), which other jobs on the machine inflate
    much less."""
    times = []
    for _ in range(repeats):
        start = clock()
        function()
        times.append(clock() - start)
    return float(np.median(times))
