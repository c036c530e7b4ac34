"""Checkpoints of a run: the merged accumulator, the next chunk, and a fingerprint of everything
that determines the statistics, written atomically so that a killed job leaves the previous
checkpoint intact.

Resuming continues with the chunks not yet merged; since trajectory i's keys depend on i alone
and chunks are merged exactly (float64), the result equals an uninterrupted run's up to rounding.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

from .._files import write_npz
from ..errors import InputError
from ._accumulator import Accumulator, from_arrays, to_arrays


def tree_digest(tree) -> str:
    """A hash of a pytree's structure and leaf values (models, initial states)."""
    h = hashlib.sha256(str(jax.tree.structure(tree)).encode())
    for leaf in jax.tree.leaves(tree):
        a = np.asarray(leaf)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def process_path(path: str | Path, process: int, processes: int) -> Path:
    """The checkpoint file of one process: ``path`` itself for a single process, else
    ``<stem>.p<process>of<processes><suffix>``."""
    path = Path(path)
    if processes == 1:
        return path
    return path.with_name(f"{path.stem}.p{process}of{processes}{path.suffix}")


def save_checkpoint(path: Path, acc: Accumulator, next_chunk: int, fingerprint: dict) -> None:
    """Write the checkpoint atomically."""
    arrays = to_arrays(acc)
    arrays["next_chunk"] = np.int64(next_chunk)
    arrays["fingerprint"] = np.array(json.dumps(fingerprint, sort_keys=True))
    write_npz(path, arrays)


def load_checkpoint(path: Path, fingerprint: dict) -> tuple[Accumulator, int]:
    """(accumulator, next chunk) from ``path``; refuses a checkpoint of a different run, naming
    the keys that differ."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        saved = json.loads(str(arrays.pop("fingerprint")))
        next_chunk = int(arrays.pop("next_chunk"))
        acc = from_arrays(arrays)
    except (OSError, ValueError, KeyError) as err:
        raise InputError("checkpoint", f"{str(path)!r} is not a cqjax checkpoint ({err})") from None
    differ = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != fingerprint.get(k))
    if differ:
        shown = "; ".join(f"{k}: {saved.get(k)!r} there, {fingerprint.get(k)!r} now" for k in differ[:4])
        raise InputError("resume", f"the checkpoint {str(path)!r} is of a different run ({shown})")
    return acc, next_chunk


@dataclass
class Checkpointer:
    """Saves after a completed chunk, at most every ``seconds``; ``path`` None: never."""

    path: Path | None
    fingerprint: dict
    seconds: float = 60.0
    last: float = field(default_factory=time.monotonic)

    def maybe_save(self, acc: Accumulator, next_chunk: int, force: bool = False) -> None:
        if self.path is None or not (force or time.monotonic() - self.last >= self.seconds):
            return
        save_checkpoint(self.path, acc, next_chunk, self.fingerprint)
        self.last = time.monotonic()
