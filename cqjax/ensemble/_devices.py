"""Devices and memory: the local devices a run shards its chunks over, the memory they have, and
the chunk size that fits.

A chunk's trajectories are laid out along one mesh axis (``"traj"``) over the local devices; the
kernel is jit-compiled with that sharding, so XLA partitions the vmapped step and turns the sums
over trajectories into all-reduces on the devices.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._memory import host_memory
from ..errors import InputError

CHUNK_CAP = 1 << 22  # trajectories per device and chunk when sized from memory (~0.1-1 s of GPU work)
MEMORY_FRACTION = 0.5  # of the free device memory a chunk may use (two chunks are in flight)


def local_devices(count: int | None) -> list:
    """The first ``count`` local devices (all when None)."""
    devices = jax.local_devices()
    if count is None:
        return devices
    if not 1 <= count <= len(devices):
        raise InputError(
            "devices", f"must be in 1..{len(devices)} (the local {devices[0].platform} devices), got {count}"
        )
    return devices[:count]


def trajectory_sharding(devices: list) -> NamedSharding:
    """Arrays whose leading axis is the chunk's trajectories, split evenly over ``devices``."""
    return NamedSharding(Mesh(np.array(devices), ("traj",)), PartitionSpec("traj"))


def device_memory(device) -> int:
    """Bytes free on ``device``: its allocator's limit less what is in use; the host's available
    memory for CPU devices (they have no allocator statistics)."""
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    return host_memory()


def sized_from_memory(devices: list) -> bool:
    """Whether the default chunk comes from the devices' memory (accelerators) rather than the
    CPU constant."""
    return devices[0].platform != "cpu"


def kernel_bytes(compiled) -> tuple[int, int] | None:
    """(bytes per device that scale with the chunk, bytes of arguments) of a compiled chunk kernel
    from XLA's memory analysis; None where the backend gives none."""
    try:
        m = compiled.memory_analysis()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    if m is None:
        return None
    return int(m.temp_size_in_bytes + m.output_size_in_bytes), int(m.argument_size_in_bytes)


def chunk_from_memory(per_trajectory: float, free: int, n_devices: int, trajectories: int) -> int:
    """The chunk (a multiple of ``n_devices``, a power of two per device, at most ``CHUNK_CAP``
    per device and not above what the run needs) whose working memory, ``per_trajectory`` bytes
    each, stays within ``MEMORY_FRACTION`` of the ``free`` bytes of one device."""
    fit = int(MEMORY_FRACTION * free / max(per_trajectory, 1.0))
    need = -(-trajectories // n_devices)
    per_device = min(CHUNK_CAP, max(fit, 1), 1 << max(need - 1, 0).bit_length())
    return n_devices * (1 << (per_device.bit_length() - 1))
