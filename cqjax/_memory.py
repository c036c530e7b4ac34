"""Memory: what the host has available, and the one-line refusal of what would not fit."""

from __future__ import annotations

import os

from .errors import InputError


def host_memory() -> int:
    """Bytes of host memory available now (MemAvailable; total physical memory if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(what: str, need: int, free: int, knob: str, refs: tuple[str, ...] = ()) -> None:
    """Refuse, before allocating, ``need`` bytes where ``free`` are available (``knob``: what to
    change, naming the arguments ``refs``)."""
    if need > free:
        raise InputError(what, f"needs about {_gb(need)} of memory but {_gb(free)} are available; {knob}", refs=refs)


def _gb(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**30 else f"{n / 2**20:.3g} MiB"
