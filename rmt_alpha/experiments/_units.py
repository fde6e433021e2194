"""Resumable long runs: each unit of work (one pair at one setting, one fine-tuning seed) is kept on disk as soon as
it is done, so that an interrupted run started again with the same settings redoes only what is missing.

A `UnitStore` is a folder holding `settings.json` (what the units depend on) and one file per unit, each written
atomically: a pickle, or with `text=True` a JSON file (for units of plain values that are committed to the
repository: readable, diffable, and loading them runs no code). Started again on a folder written with other
settings, it refuses rather than mixing results.
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
        text: keep each unit as JSON (`name.json`; values made of dicts, lists, str, numbers, bool and None, NaN
            allowed; tuples come back as lists) instead of a pickle (`name.pkl`).

    Raises:
        ValueError: `folder` holds units of other settings.

    Example:
        >>> import tempfile
        >>> from rmt_alpha.experiments._units import UnitStore
        >>> store = UnitStore(tempfile.mkdtemp(), {"n": 20})
        >>> store("pair_0", lambda: 1 + 1), store("pair_0", lambda: 0)   # the second call reads the first's result
        (2, 2)
    """

    def __init__(self, folder: str, settings: dict, *, text: bool = False):
        self.folder = os.fspath(folder)
        self.text = bool(text)
        written = json.dumps(settings, sort_keys=True, indent=1, default=str)
        path = os.path.join(self.folder, "settings.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                stored = handle.read()
            if stored != written:
                raise ValueError(f"{self.folder} holds the units of a run with other settings (its settings.json "
                                 "differs); resume with the same settings, or use another output folder")
        else:
            atomic_write(path, written)
        self.loaded = 0

    def path(self, name: str) -> str:
        if not _NAME.match(name) or name == "settings":
            raise ValueError(f"unit names are letters, digits and _.:=- (not 'settings'), got {name!r}")
        return os.path.join(self.folder, name + (".json" if self.text else ".pkl"))

    def names(self) -> list[str]:
        """The names of the units kept so far (sorted)."""
        suffix = ".json" if self.text else ".pkl"
        return sorted(entry[: -len(suffix)] for entry in os.listdir(self.folder)
                      if entry.endswith(suffix) and entry != "settings.json")

    def __call__(self, name: str, compute):
        """The stored result of unit `name`, or `compute()` stored atomically then returned."""
        path = self.path(name)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                self.loaded += 1
                return json.load(handle) if self.text else pickle.load(handle)
        value = compute()
        if not self.text:
            atomic_write(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            return value
        text = json.dumps(value, sort_keys=True, allow_nan=True, default=_plain) + "\n"
        atomic_write(path, text)
        return json.loads(text)     # what a later run reads back: the same value either way


def _plain(value):
    """numpy scalars and arrays as Python numbers and lists (for JSON units)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a JSON unit holds dicts, lists, str, numbers, bool and None, got {type(value).__name__}")
