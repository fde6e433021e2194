"""The simulator finishes, and gives the same numbers, on one CPU device, on several forced CPU devices and in
several processes (theory/THEORY.md section 1; docs/upstream/jax_cpu_lapack_deadlock.md for the deadlock these
tests would have caught: batched LAPACK calls blocking every thread of XLA:CPU's pool at p = 200).

Every simulation here runs in a subprocess with a hard timeout, so a deadlock fails its test instead of hanging
the suite. Sizes are those that hung before (p = 200; sources and targets in both the primal and the dual form).

Tolerances:
- Monte-Carlo vs closed form: K_SE standard errors (tests/conftest.py). At p = 200, N = 150, n = 100 the closed
  forms' finite-size bias is about 0.4 standard errors of 300 trials in accuracy and 1.4 in `E[g^2]` (measured with
  3000 trials), inside the allowance.
- One device vs several devices or processes: the same draws and the same float32 arithmetic, batched in
  different sizes, so XLA's vectorisation and summation order may differ: 1e-6 absolute in accuracy and in the
  margins (about ten float32 ulps of values of order one).
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from rmt_alpha import SourceStats, TargetStats
from rmt_alpha._accuracy import margin_moments, predicted_accuracy
from rmt_alpha.simulate import _montecarlo, simulate
from tests.conftest import assert_within_standard_errors

TIMEOUT_S = 480  # far above a normal run (all of this module's processes together: about a minute on 2 cores)
ALPHA = [-1.0, 0.0, 1.0, 2.0, 4.0]
TRIALS, SEED = 10, 6  # 10 trials: padded to 12 over 4 devices

# name: (SourceStats.from_norm arguments, TargetStats.from_alignment arguments after the source, n_test)
FORMS = {
    "source N<p (dual), target n>p (primal)": ((200, 2.0, 150, 1.0), (0.6, 0.5, 300, 1.0), None),
    "source N>p (bidiagonal draw), target n<p (dual), test set": ((200, 1.5, 800, 0.5), (-0.5, 0.8, 60, 2.0), 50),
}
BOTH_DUAL = ((200, 2.0, 150, 1.0), (0.6, 0.5, 100, 1.0), None)
MULTI_PROCESS_FORM = "source N<p (dual), target n>p (primal)"
# several sources (theory/THEORY.md section 10): two ridge sources (N > p: the bidiagonal draw) and a fixed one
_E = np.eye(60)
SEVERAL = {"means": [(0.8 * 1.5 * _E[0] + _E[1]).tolist(), (-0.5 * 1.5 * _E[0] + _E[2]).tolist()], "N": 120,
           "fixed": (0.3 * _E[3] + 0.2 * _E[0]).tolist(), "target_mean": (1.5 * _E[0]).tolist(), "n": 40,
           "alpha": [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, -1.0, 1.0]]}

CHILD = textwrap.dedent("""
    import json, sys
    request = json.loads(sys.argv[1])
    import jax
    if request["coordinator"]:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=request["coordinator"], num_processes=request["processes"],
                                   process_id=request["process_id"], initialization_timeout=120)
    import numpy as np
    from rmt_alpha import SourceStats, TargetStats
    from rmt_alpha.simulate import _sharding, simulate
    mesh = _sharding.trial_mesh()
    shards = len(_sharding.shard_trials(np.arange(4 * mesh.size, dtype=np.uint32), mesh).sharding.device_set)
    runs = []
    for source, target, n_test in request["forms"]:
        source = SourceStats.from_norm(*source)
        result = simulate(source, TargetStats.from_alignment(source, *target), request["alpha"],
                          trials=request["trials"], seed=request["seed"], n_test=n_test)
        runs.append({name: curve.per_trial.tolist() for name, curve in result._asdict().items()})
    several = None
    if request.get("sources"):
        spec = request["sources"]
        sources = [SourceStats(np.asarray(mean), spec["N"], 1.0) for mean in spec["means"]]
        sources.append(np.asarray(spec["fixed"]))
        result = simulate(sources, TargetStats(np.asarray(spec["target_mean"]), spec["n"], 1.0), spec["alpha"],
                          trials=request["trials"], seed=request["seed"])
        several = result.accuracy.per_trial.tolist()
    print(json.dumps({"devices": jax.device_count(), "local_devices": jax.local_device_count(),
                      "processes": jax.process_count(), "shards": shards, "runs": runs, "several": several}))
    if request["coordinator"]:
        jax.distributed.shutdown()
""")


class _Children:
    """CHILD started now in `processes` processes with `devices` forced CPU devices each; `reports()` waits for
    their JSON reports. Several processes form one JAX cluster on 127.0.0.1 (coordinator on a free port, gloo
    collectives). Children still running TIMEOUT_S after their start are killed and the test fails."""

    def __init__(self, devices: int, forms, *, trials: int, seed: int, processes: int = 1, sources=None):
        self.label = f"{processes} process(es) with {devices} CPU device(s) each"
        coordinator = None
        if processes > 1:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                coordinator = f"127.0.0.1:{probe.getsockname()[1]}"
        environment = dict(os.environ, JAX_PLATFORMS="cpu",
                           XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
        self.deadline = time.monotonic() + TIMEOUT_S
        self.processes = []
        for process_id in range(processes):
            request = {"coordinator": coordinator, "processes": processes, "process_id": process_id,
                       "forms": list(forms), "alpha": ALPHA, "trials": trials, "seed": seed, "sources": sources}
            self.processes.append(subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(request)],
                                                   env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                   text=True))

    def reports(self) -> list[dict]:
        outputs = []
        try:
            for process in self.processes:
                outputs.append(process.communicate(timeout=max(1.0, self.deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            self.kill()
            tails = [process.communicate()[1][-2000:] for process in self.processes]
            pytest.fail(f"{self.label} did not finish within {TIMEOUT_S} s (a hang); stderr tails: {tails}")
        for process, (_, stderr) in zip(self.processes, outputs):
            assert process.returncode == 0, f"{self.label}: {stderr[-3000:]}"
        return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()


@pytest.fixture(scope="module")
def children():
    """Every subprocess run of this module, started at once so that their compilations share the cores (each test
    then waits for its own)."""
    started = {
        "one device, both dual": _Children(1, [BOTH_DUAL], trials=300, seed=11),
        2: _Children(2, FORMS.values(), trials=TRIALS, seed=SEED),
        4: _Children(4, FORMS.values(), trials=TRIALS, seed=SEED, sources=SEVERAL),
        "two processes": _Children(2, [FORMS[MULTI_PROCESS_FORM]], trials=TRIALS, seed=SEED, processes=2),
    }
    yield started
    for runs in started.values():
        runs.kill()


@functools.cache
def _one_device(name):
    source, target, n_test = FORMS[name]
    source = SourceStats.from_norm(*source)
    result = simulate(source, TargetStats.from_alignment(source, *target), ALPHA, trials=TRIALS,
                      seed=SEED, n_test=n_test, devices=1)
    return {field: curve.per_trial for field, curve in result._asdict().items()}


def _assert_same_numbers(run: dict, name: str) -> None:
    for field, expected in _one_device(name).items():
        np.testing.assert_allclose(run[field], expected, rtol=0, atol=1e-6, err_msg=f"{name}: {field}")


@pytest.mark.integration
def test_one_device_with_both_dual_forms_finishes_and_matches_the_closed_forms(children):
    """One device, the source (N = 150) and the target (n = 100) both fitted in the dual form, 300 trials at
    p = 200 (hung 3 times out of 3 before): accuracy, E[y g] and E[g^2] within K_SE standard errors of theory."""
    (report,) = children["one device, both dual"].reports()
    source = SourceStats.from_norm(*BOTH_DUAL[0])
    target = TargetStats.from_alignment(source, *BOTH_DUAL[1])
    moments = margin_moments(source, target, ALPHA)
    run = report["runs"][0]
    for field, predicted in [("accuracy", predicted_accuracy(source, target, ALPHA)),
                             ("margin_mean", moments.mean), ("margin_second_moment", moments.second_moment)]:
        assert_within_standard_errors(predicted, np.asarray(run[field]), field)


@pytest.mark.integration
@pytest.mark.parametrize("devices", [2, 4])
def test_forced_cpu_devices_give_the_same_numbers_as_one_device(children, devices):
    """2 and 4 forced CPU devices (on however many cores), p = 200, sources and targets in both forms: the same
    per-trial numbers as one device (10 trials, padded over 4 devices)."""
    (report,) = children[devices].reports()
    assert report["devices"] == report["shards"] == devices
    for run, name in zip(report["runs"], FORMS):
        _assert_same_numbers(run, name)


@pytest.mark.integration
def test_several_sources_on_four_devices_give_the_same_numbers_as_one(children):
    """K = 3 sources (two ridge sources drawn afresh per trial, one fixed classifier), alpha vectors: 4 forced CPU
    devices give the per-trial numbers of one device."""
    (report,) = children[4].reports()
    sources = [SourceStats(np.asarray(mean), SEVERAL["N"], 1.0) for mean in SEVERAL["means"]]
    one = simulate(sources + [np.asarray(SEVERAL["fixed"])], TargetStats(np.asarray(SEVERAL["target_mean"]),
                   SEVERAL["n"], 1.0), SEVERAL["alpha"], trials=TRIALS, seed=SEED, devices=1)
    np.testing.assert_allclose(report["several"], one.accuracy.per_trial, rtol=0, atol=1e-6)


@pytest.mark.integration
def test_two_processes_give_the_same_numbers_as_one(children):
    """Two processes on 127.0.0.1 (`jax.distributed.initialize`, gloo CPU collectives), two forced CPU devices
    each: the trial axis is sharded over the global 4-device mesh and every process gets the whole result, equal to
    one process with one device for the same seed."""
    for report in children["two processes"].reports():
        assert (report["processes"], report["devices"], report["shards"], report["local_devices"]) == (2, 4, 4, 2)
        _assert_same_numbers(report["runs"][0], MULTI_PROCESS_FORM)


@pytest.mark.parametrize("source_n, n", [(150, 100), (800, 300)], ids=["dual forms", "primal target"])
def test_compiled_trials_make_no_batched_lapack_call_on_cpu(source_n, n):
    """The lowered program of a chunk of trials: every LAPACK call (Cholesky, triangular solves) sees one matrix,
    so none can block a thread of XLA:CPU's pool waiting for sub-tasks (linear.solve_one_at_a_time)."""
    p = 200
    mean = np.full(p, 0.1, np.float32)
    lowered = _montecarlo._simulate_trials.trace(
        0, np.arange(8, dtype=np.uint32), mean, mean, np.zeros(3, np.float32), np.float32(1.0), np.float32(1.0),
        source_n=source_n, n=n, n_test=None).lower(lowering_platforms=("cpu",))
    calls = re.findall(r"custom_call @(lapack_\w+)\(.*?\) .*?: \((.*?)\) ->", lowered.as_text())
    assert calls and all(operand.count("x") == 2 for _, types in calls for operand in types.split(", ")), calls
