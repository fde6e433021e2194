"""Where a stored result comes from: the package version, the git commit of the code that computed it (and whether
its working tree had uncommitted changes), and the JAX platform and device."""

from __future__ import annotations

import os
import subprocess


def git_commit(folder: str | None = None) -> dict:
    """The commit checked out in the git working tree holding `folder` (default: this package's folder).

    Returns:
        dict: `commit` (40 hex digits, or None outside a git checkout or without git) and `dirty` (True when
        tracked files differ from that commit; None when unknown).
    """
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def provenance() -> dict:
    """The package version, `git_commit()`, the JAX version, platform ("cpu", "gpu", "tpu") and first device.

    Example:
        >>> from rmt_alpha.experiments._provenance import provenance
        >>> sorted(provenance())
        ['commit', 'device', 'dirty', 'jax', 'platform', 'version']
    """
    import jax

    from rmt_alpha import __version__

    return {"version": __version__, **git_commit(), "jax": jax.__version__, "platform": jax.default_backend(),
            "device": str(jax.devices()[0].device_kind)}


__all__ = ["git_commit", "provenance"]
