"""Progress of a run within a chunk, not per chunk: the chunk kernel calls ``tick`` from the device
after every ``ceil(n_saves / TICKS)``-th save block and after the last (``jax.debug.callback``: at
most TICKS + 1 host calls per chunk, never per step; a host call per saved time cost measurably on
a loaded CPU, scripts/bench_progress.py); the runner's progress bar, when one is shown, advances by
the trajectories' share of the saves done. Only a run that shows a bar, with chunks long enough to
need it (``long_chunk``), compiles the ticks in (a kernel of its own): otherwise the hot path is
untouched and the bar moves per chunk."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial

import jax

_LOCK = threading.Lock()
_BAR = [None]  # the bar of the run in progress (None: no bar shown)


TICKS = 8  # progress updates per chunk


# trajectory-steps of a chunk from which it ticks: seconds on a CPU. A tick costs a host callback:
# on the loaded 2-core CPU 8 ticks slowed a chunk of 8192 x 1000 steps by ~0.9 s (BENCHMARKS.md),
# nothing next to a chunk of minutes, too much for one of a second that needs no ticks anyway
TICK_WORK = 1 << 27


def long_chunk(chunk: int, n_steps: int) -> bool:
    """Whether a chunk is long enough for progress within it (``TICK_WORK``)."""
    return chunk * n_steps >= TICK_WORK


def tick(n_valid, saves, n_saves: int) -> None:
    """``saves`` more save blocks of a chunk of ``n_valid`` trajectories are done."""
    with _LOCK:
        if _BAR[0] is not None:
            _BAR[0].update(float(n_valid) * float(saves) / n_saves)


def on_save(i, n_valid, n_saves: int) -> None:
    """What the time loop calls (traced) after save block ``i`` (0-based): a tick after every
    ``ceil(n_saves / TICKS)``-th block and after the last, crediting the blocks since the last tick."""
    every = -(-n_saves // TICKS)
    k = i + 1
    since = k - ((k - 1) // every) * every
    callback = partial(tick, n_saves=n_saves)  # n_saves stays a Python int
    jax.lax.cond(
        (k % every == 0) | (k == n_saves),
        lambda: jax.debug.callback(callback, n_valid, since),
        lambda: None,
    )


@contextmanager
def progress_bar(show: bool, total: int, done: int):
    """A progress bar over trajectories, fed by the kernel's ticks (None when not shown)."""
    if not show:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, unit="traj", unit_scale=True, dynamic_ncols=True, mininterval=0.5)
    with _LOCK:
        _BAR[0] = bar
    try:
        yield bar
    finally:
        with _LOCK:
            _BAR[0] = None
        bar.n = min(total, bar.n)  # ticks are fractions of a chunk: no rounding past the total
        bar.close()
