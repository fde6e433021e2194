"""Parameter trees: flatten and unflatten nested dicts by '/'-joined paths, and save or load them as .npz
files with JSON metadata (written atomically)."""

from __future__ import annotations

import io
import json

import jax.numpy as jnp
import numpy as np

from rmt_alpha._io import atomic_write


def flatten_tree(tree: dict, prefix: str = "") -> dict:
    """`{"a/b/c": leaf}` for a nested dict of string keys (the path names used throughout).

    Args:
        tree: a nested dict whose keys are strings without "/".
        prefix: the path of `tree` itself ("" at the root).

    Returns:
        dict: path -> leaf.

    Raises:
        ValueError: for a key that is not a string or holds "/".

    Example:
        >>> from rmt_alpha.nn._trees import flatten_tree
        >>> flatten_tree({"a": {"b": 1, "c": 2}})
        {'a/b': 1, 'a/c': 2}
    """
    flat = {}
    for key, value in tree.items():
        if not isinstance(key, str) or "/" in key:
            raise ValueError(f"tree keys must be strings without '/', got {key!r} under {prefix or 'the root'!r}")
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(flatten_tree(value, path))
        else:
            flat[path] = value
    return flat


def unflatten_tree(flat: dict) -> dict:
    """The inverse of `flatten_tree`.

    Args:
        flat: dict path -> leaf, paths joined by "/".

    Returns:
        dict: the nested dict.

    Example:
        >>> from rmt_alpha.nn._trees import unflatten_tree
        >>> unflatten_tree({"a/b": 1, "a/c": 2})
        {'a': {'b': 1, 'c': 2}}
    """
    tree: dict = {}
    for path, leaf in flat.items():
        *parents, last = path.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = leaf
    return tree


def save_tree(path: str, tree: dict, **metadata) -> None:
    """Write a nested dict of arrays to `.npz` (keys are the flattened paths), atomically (temp file + os.replace).

    Args:
        path: the output file.
        tree: nested dict of arrays (string keys without "/").
        **metadata: values (e.g. a config dict) stored as JSON under the reserved key `__metadata__`.

    Returns:
        None.

    Raises:
        ValueError: for a key that is not a string or holds "/".

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from rmt_alpha.nn import load_tree, save_tree
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "tree.npz")
        >>> save_tree(path, {"head": {"bias": np.zeros(2)}}, step=3)
        >>> tree, metadata = load_tree(path)
        >>> tree["head"]["bias"].shape, metadata
        ((2,), {'step': 3})
        >>> folder.cleanup()
    """
    arrays = {key: np.asarray(value) for key, value in flatten_tree(tree).items()}
    arrays["__metadata__"] = np.asarray(json.dumps(metadata, default=str))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())


def load_tree(path: str) -> tuple[dict, dict]:
    """Read what `save_tree` wrote.

    Args:
        path: the `.npz` file.

    Returns:
        tuple: `(tree, metadata)`, the nested dict of jnp arrays and the metadata dict.
    """
    with np.load(path) as data:
        metadata = json.loads(str(data["__metadata__"]))
        flat = {key: jnp.asarray(data[key]) for key in data.files if key != "__metadata__"}
    return unflatten_tree(flat), metadata
