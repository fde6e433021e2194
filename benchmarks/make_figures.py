"""Regenerate the docs' figures in docs/figures/ (small PNGs) with `rmt-alpha plot` on theory/THEORY.md's example.

Usage: python benchmarks/make_figures.py [--amazon] [--text-transfer DIR] [--out docs/figures]
`--amazon` also draws the Amazon Review curves (needs the data folder; about a minute on two CPU cores) and the
semi-empirical check on all 12 pairs at n = 20 and n = 100 (theory/THEORY.md section 9; a few minutes).
`--text-transfer DIR` also takes the predicted-vs-measured grid and the paired-gains figure from the output folder
of a full `rmt-alpha text-transfer --out DIR` run (hours on a CPU, so it is not rerun here).
"""

import argparse
import io
import os
import shutil
import sys

from PIL import Image

from rmt_alpha._io import atomic_write
from rmt_alpha.cli import main
from rmt_alpha.data import AMAZON_DOMAINS

FIGURES = [
    ("curve", "accuracy_curve.png", ["--trials", "200", "--num", "11"]),
    ("histogram", "decision_histogram.png", ["--alpha", "1", "--n-test", "6000"]),
    ("alpha-map", "alpha_map.png", []),
    ("gain-map", "gain_map.png", []),
    ("sources", "sources.png", ["--alpha-max", "3", "--num", "6", "--trials", "200"]),
]


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs", "figures"))
    parser.add_argument("--amazon", action="store_true", help="also draw docs/figures/amazon_curves.png")
    parser.add_argument("--text-transfer", metavar="DIR", help="a text-transfer output folder to take figures from")
    args = parser.parse_args(argv)
    for name in ("text_theory_grid.png", "text_finetune_gains.png") if args.text_transfer else ():
        shutil.copyfile(os.path.join(args.text_transfer, name), os.path.join(args.out, name))
        shrink_png(os.path.join(args.out, name))
    figures = list(FIGURES)
    if args.amazon:
        figures.append(("amazon-curves", "amazon_curves.png", ["--splits", "20"]))
        pairs = [f"{s}:{t}" for s in AMAZON_DOMAINS for t in AMAZON_DOMAINS if s != t]
        for n in (20, 100):
            figures.append(("amazon-curves", f"amazon_semi_empirical_n{n}.png",
                            ["--splits", "20", "--n-labelled", str(n), "--semi-empirical", "--columns", "4",
                             "--pairs", *pairs]))
    for kind, name, extra in figures:
        path = os.path.join(args.out, name)
        status = main(["plot", kind, "--out", path, *extra])
        if status:
            return status
        shrink_png(path)
    return 0


def shrink_png(path: str, colors: int = 256) -> None:
    """Re-tokenize a PNG with an adaptive palette (the figures: a third of the size, no visible change);
    atomically."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    atomic_write(path, buffer.getvalue())


if __name__ == "__main__":
    sys.exit(run())
