"""The stamp every stored result carries: package version, git commit (and whether the tree had uncommitted changes),
library versions, the command and the date (run the scripts as `python benchmarks/NAME.py`)."""

import datetime
import os
import platform
import subprocess
import sys

import jax
import numpy as np
import scipy

import rmt_alpha

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git(*args) -> str:
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(argv=None) -> dict:
    """Where a result came from: `{"package_version", "git_commit", "git_uncommitted_changes", "git_changed_files",
    "python", "numpy", "scipy", "jax", "command", "date_utc"}` (the commit is "" outside a git checkout; the changed
    files are the tracked files that differ from it when the run started)."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    changed = [line.split(maxsplit=1)[-1] for line in status.splitlines()]
    return {"package_version": rmt_alpha.__version__, "git_commit": _git("rev-parse", "HEAD"),
            "git_uncommitted_changes": bool(changed), "git_changed_files": changed,
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "jax": jax.__version__,
            "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT)] + list(sys.argv[1:] if argv is None
                                                                                       else argv)),
            "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")}
