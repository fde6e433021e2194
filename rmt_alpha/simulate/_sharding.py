"""The one helper that spreads independent trials over devices: a 1-D `Mesh` whose only axis is the trial axis.

Every device (GPU, TPU core, or CPU device forced with `XLA_FLAGS=--xla_force_host_platform_device_count=4`)
gets an equal slice of the trials; the count is padded up to a multiple of the device count and the padding is
dropped afterwards. Under `jax.distributed.initialize()` the mesh spans the devices of every process (the global
mesh), each process supplies the shards of its own devices, and `gather` returns the whole result to every
process. Reference: https://docs.jax.dev/en/latest/sharded-computation.html
"""

from __future__ import annotations

import math
import numbers

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

TRIAL_AXIS = "trials"


def trial_mesh(devices=None) -> Mesh:
    """A 1-D mesh named `"trials"` over `devices`.

    Args:
        devices: None for every device of every process (`jax.devices()`), an int k for the first k of them,
            or a sequence of `jax.Device`.
    """
    if devices is None:
        chosen = jax.devices()
    elif isinstance(devices, numbers.Integral) and not isinstance(devices, bool):
        available = jax.device_count()
        if not 1 <= int(devices) <= available:
            raise ValueError(f"devices must be between 1 and the {available} visible device(s), got {devices}")
        chosen = jax.devices()[: int(devices)]
    else:
        try:
            chosen = list(devices)
        except TypeError as error:
            raise TypeError(f"devices must be None, an int or a sequence of jax devices, got {devices!r}") from error
        if not chosen or not all(isinstance(device, jax.Device) for device in chosen):
            raise TypeError(f"devices must be a non-empty sequence of jax devices, got {devices!r}")
    return Mesh(np.array(chosen), (TRIAL_AXIS,))


def padded_count(count: int, mesh: Mesh) -> int:
    """`count` rounded up to a multiple of the mesh's device count."""
    return math.ceil(count / mesh.size) * mesh.size


def shard_trials(values: np.ndarray, mesh: Mesh) -> jax.Array:
    """A global array of `values` (leading axis = trials, a multiple of `mesh.size`) split over the mesh.

    Built with `jax.make_array_from_callback`, so under multi-process JAX each process places only its own shards.
    """
    values = np.asarray(values)
    if values.shape[0] % mesh.size:
        raise ValueError(f"the trial axis ({values.shape[0]}) must be a multiple of the device count {mesh.size}")
    sharding = NamedSharding(mesh, PartitionSpec(TRIAL_AXIS))
    return jax.make_array_from_callback(values.shape, sharding, lambda index: values[index])


def gather(tree):
    """Every leaf as a host numpy array holding the global value (an all-gather across processes if needed)."""

    def to_host(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return np.asarray(leaf)

    return jax.tree.map(to_host, tree)
