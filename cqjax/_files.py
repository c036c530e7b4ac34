"""Atomic files: written to a temporary file in the same folder, flushed to disk, then renamed over
the target, so an interrupted or failed write never leaves a truncated file (nor truncates an
earlier good one) at the target."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def write_npz(path: str | Path, arrays: dict) -> Path:
    """``np.savez(path, **arrays)``, atomically."""
    return write_atomic(path, lambda f: np.savez(f, **arrays))


def write_atomic(path: str | Path, write) -> Path:
    """``write(f)`` to a binary file object, then flushed and renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # the permissions of a plainly created file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask, read without changing it where /proc tells it (os.umask would set it
    for a moment, for every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
