"""Mutation testing of the maths core with mutmut: how many deliberate one-token bugs the fast tests catch.

Usage:
    python benchmarks/mutation.py [--modules rmt_alpha/_theory.py ...] [--sample 60] [--seed 0]
                                  [--out /tmp/rmt_alpha_mutation] [--only SURVIVORS.txt] [--timeout 3600]

For the modules (default: `MODULES`: the statistics, theory, accuracy, prepared problems, covariance and its fixed
point, optimizer, regression, estimation, the linear engine and the Monte-Carlo), mutmut (`pip install mutmut`)
writes every mutant (operators, constants, comparisons, arguments, ...) in one copy of the working tree,
`OUT/repo`, and each mutant
runs against the fast tests (of the files listed in `MODULES`, the Monte-Carlo comparisons deselected by `FAST`)
that reach its function: mutmut maps tests to functions once, in a first pass. `--sample N` runs a
random sample of N mutants per module (seeded), so that a run fits a shared 2-core machine; `--only FILE` runs the
mutant names listed in FILE (e.g. the survivors of an earlier run, after new tests). Runs under `nice`.

Writes `OUT/results.json` (`OUT/rerun.json` with `--only`): the status of every mutant run, per module; prints
the kill rate per module and the survivors (mutmut's own output goes to `OUT/mutmut.log`; `mutmut show NAME`
inside `OUT/repo` prints a survivor's diff). Kill rate = killed / (killed + survived); mutants that time out count
as killed (an infinite loop is caught), those no selected test reaches as survived.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {
    "rmt_alpha/_stats.py": ["tests/test_stats.py", "tests/test_theory.py", "tests/test_covariance.py"],
    "rmt_alpha/_theory.py": ["tests/test_theory.py", "tests/test_optimize.py", "tests/test_phase.py",
                             "tests/test_regression.py"],
    "rmt_alpha/_accuracy.py": ["tests/test_theory.py", "tests/test_covariance.py"],
    "rmt_alpha/_problem.py": ["tests/test_problem.py", "tests/test_theory.py", "tests/test_optimize.py"],
    "rmt_alpha/_prepare.py": ["tests/test_problem.py", "tests/test_covariance.py", "tests/test_semi_empirical.py"],
    "rmt_alpha/_covariance.py": ["tests/test_covariance.py"],
    "rmt_alpha/_fixed_point.py": ["tests/test_covariance.py"],
    "rmt_alpha/_optimize.py": ["tests/test_optimize.py", "tests/test_covariance.py"],
    "rmt_alpha/_regression.py": ["tests/test_regression.py"],
    "rmt_alpha/_estimation.py": ["tests/test_estimation.py", "tests/test_covariance.py"],
    "rmt_alpha/linear/_engine.py": ["tests/linear/test_engine.py"],
    "rmt_alpha/simulate/_montecarlo.py": ["tests/simulate/test_simulate.py"],
}
# Deselects the Monte-Carlo comparisons (seconds to a minute each): the fast tests are the literal transcriptions,
# dense and independent references, grids, scipy.optimize, estimators, the engine against numpy, single trials.
FAST = ("not monte_carlo and not closed_forms and not surrogate and not one_percent and not cli_validate "
        "and not decision_values_match and not test_set_accuracy and not x64")


def _copy_tree(target: Path) -> None:
    """The working tree (tracked and untracked, not ignored files) copied to `target`."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file() and not name.startswith("benchmarks/"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _configure(repo: Path, modules: list) -> None:
    """A `[tool.mutmut]` section in the copy's pyproject.toml (the copy only): every module mutated at once, the
    union of their test files selected (mutmut then runs, for each mutant, the tests that reach its function)."""
    tests = sorted({test for module in modules for test in MODULES[module]})
    listed = lambda values: "[" + ", ".join(json.dumps(value) for value in values) + "]"
    with open(repo / "pyproject.toml", "a") as handle:
        handle.write(f"""
[tool.mutmut]
source_paths = ["rmt_alpha"]
only_mutate = {listed(modules)}
pytest_add_cli_args_test_selection = {listed(tests)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-k", {json.dumps(FAST)}]
process_isolation = "forkserver"
forkserver_warmup = "collect"
""")


def _mutmut(repo: Path, names: list, timeout: float) -> None:
    command = ["nice", "-n", "10", sys.executable, "-m", "mutmut", "run", "--max-children", "1", *names]
    environment = dict(os.environ, PYTHONPATH=str(repo / "mutants"))
    try:
        with open(repo.parent / "mutmut.log", "a") as log:
            subprocess.run(command, cwd=repo, env=environment, timeout=timeout, check=False, stdout=log,
                           stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired:
        print(f"    stopped after {timeout:.0f} s; the mutants run so far are kept", flush=True)


def _statuses(repo: Path, module: str) -> dict:
    meta = repo / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    from mutmut.stats import status_by_exit_code

    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code.get(code, f"exit {code}") for name, code in codes.items()}


def run(modules: list, out: Path, sample: int | None, only: set | None, seed: int, timeout: float) -> dict:
    """Mutate the modules in one copy of the tree and run their mutants (all, `sample` per module, or `only`);
    returns {module: {mutant name: status}}."""
    repo = out / "repo"
    if not repo.exists():
        repo.mkdir(parents=True)
        _copy_tree(repo)
        _configure(repo, modules)
    if not all(_statuses(repo, module) for module in modules):
        # generate every mutant and map tests to functions, running the first mutants of the smallest module only
        smallest = min(modules, key=lambda module: (ROOT / module).stat().st_size)
        _mutmut(repo, [f"{smallest[:-3].replace('/', '.')}.x*__mutmut_1"], timeout)
    chosen = {}
    for module in modules:
        names = sorted(_statuses(repo, module))
        if only is not None:
            names = [name for name in names if name in only]
        elif sample is not None and sample < len(names):
            names = sorted(random.Random(seed).sample(names, sample))
        chosen[module] = names
    for module, names in chosen.items():  # one mutmut call per module: a short clean run, results kept per call
        if names:
            print(f"{module}: {len(names)} mutants", flush=True)
            _mutmut(repo, names, timeout)
    results = {}
    for module, names in chosen.items():
        statuses = _statuses(repo, module)
        results[module] = {name: statuses.get(name, "not checked") for name in names}
    return results


def summarise(results: dict) -> list:
    rows = []
    for module, statuses in results.items():
        counts = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0)
        survived = counts.get("survived", 0) + counts.get("no tests", 0)
        rate = killed / (killed + survived) if killed + survived else float("nan")
        rows.append({"module": module, "run": len(statuses), "killed": killed, "survived": survived,
                     "kill_rate": rate, "counts": counts,
                     "survivors": sorted(n for n, s in statuses.items() if s in ("survived", "no tests"))})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--sample", type=int, default=None, help="mutants per module (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=Path, default=None, help="file of mutant names to run (one per line)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/rmt_alpha_mutation"))
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per mutmut call (per module)")
    args = parser.parse_args(argv)
    only = set(args.only.read_text().split()) if args.only else None
    args.out.mkdir(parents=True, exist_ok=True)
    results = run(args.modules, args.out, args.sample, only, args.seed, args.timeout)
    (args.out / ("rerun.json" if only else "results.json")).write_text(json.dumps(results, indent=1))
    for row in summarise(results):
        print(f"{row['module']:36s} run {row['run']:4d}  killed {row['killed']:4d}  survived {row['survived']:4d}  "
              f"kill rate {row['kill_rate']:.1%}  {row['counts']}")
        for name in row["survivors"]:
            print(f"    survivor {name}")


if __name__ == "__main__":
    main()
