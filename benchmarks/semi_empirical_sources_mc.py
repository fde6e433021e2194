"""The semi-empirical theory for several sources against Monte-Carlo (theory/THEORY.md section 10.2): the grid of
`tests/test_semi_empirical_sources.py` (bag-of-words populations of N = 10 p rows, n = p / 5, p = 200 and 400,
K = 2 and 3, the other sources aligned with, orthogonal to or opposed to the class means; 200 draws), with the gaps
written down: per case the largest |theory - Monte-Carlo| in points and in standard errors at the unit vectors,
the uniform mixture and three random vectors, and the Monte-Carlo accuracy at alpha* minus the best of 50 random
vectors (paired draws).

Usage:
    python benchmarks/semi_empirical_sources_mc.py --out theory/results/semi_empirical_sources_mc.json
About 1.5 minutes on one core.
"""

import argparse
import itertools
import json
import sys

import numpy as np
from _provenance import ROOT, provenance

sys.path.insert(0, ROOT)   # the populations and the Monte-Carlo are the tests' own

from rmt_alpha._io import atomic_write  # noqa: E402
from tests.test_semi_empirical_sources import check_against_monte_carlo  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    cases = []
    for p, count, kind in itertools.product((200, 400), (2, 3), ("aligned", "orthogonal", "opposed")):
        found = check_against_monte_carlo("bag_of_words", kind, count, p=p, N=10 * p, n=p // 5, trials=200,
                                          random_vectors=50)
        gap = np.abs(found["theory"] - found["measured"])
        cases.append({"p": p, "K": count, "sources": kind, "largest_gap_pt": float(100 * gap.max()),
                      "largest_gap_stderr": float((gap / found["stderr"]).max()),
                      "star_minus_best_random_pt": float(100 * found["star_minus_best_random"])})
        print(cases[-1])
    summary = {"largest_gap_pt": max(c["largest_gap_pt"] for c in cases),
               "largest_gap_stderr": max(c["largest_gap_stderr"] for c in cases),
               "worst_star_minus_best_random_pt": min(c["star_minus_best_random_pt"] for c in cases)}
    atomic_write(args.out, json.dumps({"provenance": stamp, "settings": vars(args), "summary": summary,
                                       "cases": cases}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
