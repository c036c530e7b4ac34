"""Errors the engine raises while it runs (bad input raises ``ValueError`` before any work)."""

from __future__ import annotations


class SimulationError(RuntimeError):
    """The run produced something it cannot report as a result: a trajectory that became NaN or
    inf (under ``run.nonfinite = "fail"``), a statistic that overflowed, or a point where the
    model stops being completely positive or Hermitian. The message is one line naming what
    happened, when and where; the CLI prints it and exits with status 1."""
