"""Many processes (hosts) through ``jax.distributed``: each runs a disjoint, deterministic set of
chunks on its local devices; the accumulators are exchanged with JAX's collectives and merged in
process order, so every process ends with the statistics of the whole run."""

from __future__ import annotations

import io
import json

import jax
import numpy as np

from ..errors import SimulationError
from ._accumulator import Accumulator, from_arrays, merge, to_arrays


def initialize(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None) -> None:
    """``jax.distributed.initialize`` (cluster environments such as SLURM and Open MPI are
    detected when the arguments are None); on CPUs the collectives go through gloo."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)


def chunks_of(process: int, processes: int, first: int, n_chunks: int) -> range:
    """The chunks process ``process`` runs from chunk ``first`` on: every ``processes``-th."""
    start = first + (process - first) % processes
    return range(start, n_chunks, processes)


def gather(acc: Accumulator, failure: str | None) -> Accumulator:
    """The merge of every process's accumulator (a no-op for one process). A failure in any
    process (``failure``: its one-line reason) raises ``SimulationError`` in all of them."""
    if jax.process_count() == 1:
        if failure is not None:
            raise SimulationError(failure)
        return acc
    parts = _allgather_bytes(_encode(acc, failure))
    decoded = [_decode(p) for p in parts]
    for k, (_, why) in enumerate(decoded):
        if why is not None:
            raise SimulationError(why if k == jax.process_index() else f"process {k}: {why}")
    total = decoded[0][0]
    for other, _ in decoded[1:]:
        total = merge(total, other)
    return total


def _encode(acc: Accumulator, failure: str | None) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, failure=np.array(json.dumps(failure)), **to_arrays(acc))
    return buf.getvalue()


def _decode(data: bytes) -> tuple[Accumulator, str | None]:
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return from_arrays(arrays), json.loads(str(arrays["failure"]))


def _allgather_bytes(data: bytes) -> list[bytes]:
    """Every process's ``data``, in process order (two allgathers: lengths, then padded bytes)."""
    from jax.experimental import multihost_utils

    sizes = np.asarray(multihost_utils.process_allgather(np.array([len(data)], np.int32))).reshape(-1)
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[: len(data)] = np.frombuffer(data, np.uint8)
    rows = np.asarray(multihost_utils.process_allgather(padded)).reshape(len(sizes), -1)
    return [rows[k, : sizes[k]].tobytes() for k in range(len(sizes))]
