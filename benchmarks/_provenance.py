"""The stamp every result stored by a benchmark script carries: `rmt_alpha.experiments._provenance.provenance()`
(package version, git commit and whether tracked files differed from it, JAX version, platform and device), the
command and the date (run the scripts as `python benchmarks/NAME.py`)."""

import datetime
import os
import sys

from rmt_alpha.experiments._provenance import provenance as _package_provenance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def provenance(argv=None) -> dict:
    """The package's provenance, with the command line (relative to the repository) and the UTC date."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    arguments = list(sys.argv[1:] if argv is None else argv)
    return {**_package_provenance(), "command": " ".join(["python", script, *arguments]),
            "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")}
