"""Atomic file writes (nothing a user saved is half-overwritten if a run dies mid-write), and where rmt_alpha keeps
the files it fetches or caches (data sets, models, embeddings): the data roots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path, data) -> str:
    """Write `data` (str as UTF-8, or bytes) to `path` through a temporary file in the same folder and
    `os.replace`, creating the folder if needed; the file is readable by everyone (0644). Returns the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


DATA_ENVIRONMENT_VARIABLE = "RMT_ALPHA_DATA"


def data_roots() -> list[Path]:
    """The folders searched for data, in order: `$RMT_ALPHA_DATA` (split at `os.pathsep`), else the user cache.

    Returns:
        A non-empty list of paths (they need not exist); `fetch` writes into the first.

    Example:
        >>> import os
        >>> from unittest import mock
        >>> from rmt_alpha.data import data_roots
        >>> with mock.patch.dict(os.environ, {"RMT_ALPHA_DATA": os.pathsep.join(["/data/cache", " ", "/shared/data"])}):
        ...     [str(root) for root in data_roots()]   # blank entries are skipped
        ['/data/cache', '/shared/data']
    """
    value = os.environ.get(DATA_ENVIRONMENT_VARIABLE, "")
    roots = [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]
    if roots:
        return roots
    import platformdirs

    return [Path(platformdirs.user_cache_dir("rmt_alpha", appauthor=False))]


def cache_root() -> Path:
    """The folder `fetch` writes into: the first of `data_roots()`."""
    return data_roots()[0]


def enable_compilation_cache(folder=None) -> str:
    """Keep XLA's compiled programs on disk (JAX's persistent compilation cache), so that a process started again
    (a resumed long run) loads them instead of compiling again. Every program is kept, however fast it compiled.

    Args:
        folder: where (default: `<cache_root()>/jax_compilation`).

    Returns:
        str: the folder.
    """
    import jax

    folder = os.fspath(folder if folder is not None else cache_root() / "jax_compilation")
    os.makedirs(folder, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder

