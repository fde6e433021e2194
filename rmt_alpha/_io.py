"""Atomic file writes: nothing a user saved is half-overwritten if a run dies mid-write."""

from __future__ import annotations

import os
import tempfile


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
