"""Errors the engine raises while it runs (bad input raises ``ValueError`` before any work)."""

from __future__ import annotations


class SimulationError(RuntimeError):
    """The run produced something it cannot report as a result: a trajectory that became NaN or
    inf (under ``run.nonfinite = "fail"``), a statistic that overflowed, or a point where the
    model stops being completely positive or Hermitian. The message is one line naming what
    happened, when and where; the CLI prints it and exits with status 1."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT/SIGTERM after a completed chunk. ``signum``: the signal;
    ``done``/``requested``: trajectories merged and asked for; ``checkpoint``: where the merged
    statistics were saved (None: nothing was kept); ``partial``: the statistics of the finished
    trajectories (an ``EnsembleResult`` marked incomplete), or None."""

    def __init__(self, message: str, *, signum: int, done: int, requested: int, checkpoint=None, partial=None):
        super().__init__(message)
        self.signum, self.done, self.requested = signum, done, requested
        self.checkpoint, self.partial = checkpoint, partial
