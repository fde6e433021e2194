"""Resumable long runs: each unit of work (one pair at one setting, one fine-tuning seed) is kept on disk as soon as
it is done, so that an interrupted run started again with the same settings redoes only what is missing.

A `UnitStore` is a folder holding `settings.json` (what the units depend on) and one pickle per unit, each written
atomically. Started again on a folder written with other settings, it refuses rather than mixing results.
"""

from __future__ import annotations

import json
import os
import pickle
import re

from rmt_alpha._io import atomic_write

_NAME = re.compile(r"^[A-Za-z0-9_.:=-]+$")


class UnitStore:
    """Units of one run in `folder`, for the JSON-able `settings` they depend on.

    Args:
        folder: where the units live (created if absent).
        settings: everything the units' results depend on besides the data (e.g. a config's `dataclasses.asdict`
            and the package version), as JSON-able values.

    Raises:
        ValueError: `folder` holds units of other settings.

    Example:
        >>> import tempfile
        >>> from rmt_alpha.experiments._units import UnitStore
        >>> store = UnitStore(tempfile.mkdtemp(), {"n": 20})
        >>> store("pair_0", lambda: 1 + 1), store("pair_0", lambda: 0)   # the second call reads the first's result
        (2, 2)
    """

    def __init__(self, folder: str, settings: dict):
        self.folder = os.fspath(folder)
        text = json.dumps(settings, sort_keys=True, indent=1, default=str)
        path = os.path.join(self.folder, "settings.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                stored = handle.read()
            if stored != text:
                raise ValueError(f"{self.folder} holds the units of a run with other settings (its settings.json "
                                 "differs); resume with the same settings, or use another output folder")
        else:
            atomic_write(path, text)
        self.loaded = 0

    def path(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"unit names are letters, digits and _.:=-, got {name!r}")
        return os.path.join(self.folder, name + ".pkl")

    def __call__(self, name: str, compute):
        """The stored result of unit `name`, or `compute()` stored atomically then returned."""
        path = self.path(name)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                self.loaded += 1
                return pickle.load(handle)
        value = compute()
        atomic_write(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value
