"""Where fetched data lives, and the check that what is there is what was pinned.

The data roots come from the environment variable `RMT_ALPHA_DATA`: one folder, or several separated by
`os.pathsep` (":" on Linux and macOS), else the platform's user cache folder for "rmt_alpha"
(`platformdirs.user_cache_dir`: `~/.cache/rmt_alpha` on Linux). `fetch` writes into the first root; the loaders
look for each item in every root, in order, so a read-only copy (a shared folder) can stand after the cache.
An item lives in `<root>/<item folder>` (e.g. `<root>/amazon_review/books_400.mat`) and counts as present in a root
only when all its files are there; each file read is checked against its pinned SHA-256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rmt_alpha._io import DATA_ENVIRONMENT_VARIABLE, cache_root, data_roots
from rmt_alpha.data._registry import ITEMS, NAMES


def sha256_of(path) -> str:
    """The SHA-256 of a file, hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CorruptFileError(ValueError):
    """A data file whose SHA-256 is not the pinned one."""


class FetchError(OSError):
    """A download that failed: the message says what was tried and how to place the file by hand."""


def check_file(path, expected: str, *, name: str) -> Path:
    """`path` if its SHA-256 is `expected`; else `CorruptFileError` naming the file, both hashes and the remedy.

    Args:
        path: the file.
        expected: its pinned SHA-256 (hex).
        name: the item it belongs to (for the remedy: `rmt-alpha fetch NAME`).

    Returns:
        `path`.

    Raises:
        CorruptFileError: the file's SHA-256 is not `expected`.
    """
    actual = sha256_of(path)
    if actual != expected:
        raise CorruptFileError(f"{path} is corrupt or not the pinned file: SHA-256 {actual}, expected {expected}. "
                               f"Run `rmt-alpha fetch {name}` to fetch it again (it replaces a corrupt copy in "
                               f"{cache_root()}), or delete the file.")
    return Path(path)


def _check_name(name: str) -> None:
    if name not in ITEMS:
        raise ValueError(f"name must be one of {NAMES}, got {name!r}")


def missing_message(name: str, roots=None) -> str:
    """What is missing, where it comes from, and how to get it (by `rmt-alpha fetch` or by hand)."""
    _check_name(name)
    item = ITEMS[name]
    roots = data_roots() if roots is None else roots
    target = roots[0] / item.folder
    lines = [f"{item.title} ('{name}') was not found in {' or '.join(str(r / item.folder) for r in roots)}.",
             f"It comes from {item.source}.", f"Get it with `rmt-alpha fetch {name}` (or rmt_alpha.data.fetch("
             f"{name!r})), which downloads it once into {target} and checks every file's SHA-256."]
    if item.urls:
        lines.append(f"By hand: download each file to {target}/ (set ${DATA_ENVIRONMENT_VARIABLE} to choose "
                     "another folder):")
        lines += [f"  {url} -> {file} (SHA-256 {item.files[file]})" for file, url in item.urls.items()]
    else:
        downloads = roots[0] / "downloads"
        lines.append(f"By hand (offline): put these files in {downloads}/ and run `rmt-alpha fetch {name}` again "
                     "(it then downloads nothing):")
        lines += [f"  {artifact.filename} (SHA-256 {artifact.sha256}) from {artifact.page}"
                  for artifact in item.artifacts]
    return "\n".join(lines)


def find_item(name: str, *, roots=None) -> Path:
    """The folder of a fetched item, its files checked against their pinned SHA-256.

    Args:
        name: one of "amazon", "reviews-text", "minilm".
        roots: folders to search (default `data_roots()`).

    Returns:
        Path: the first `<root>/<item folder>` that holds every file of the item.

    Raises:
        FileNotFoundError: no root holds every file; the message says what is missing, where it comes from and how to
            get it.
        CorruptFileError: a file of the folder found has the wrong SHA-256 (the message names it and the expected
            hash).
    """
    _check_name(name)
    item = ITEMS[name]
    roots = data_roots() if roots is None else [Path(r) for r in roots]
    for root in roots:
        folder = root / item.folder
        if all((folder / file).is_file() for file in item.files):
            for file, sha in item.files.items():
                check_file(folder / file, sha, name=name)
            return folder
    raise FileNotFoundError(missing_message(name, roots))
