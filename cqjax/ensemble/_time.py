"""Fixed time steps: saves, steps per save and noise blocks."""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np

from ..errors import InputError

_MAX_BLOCK = 64  # steps whose noise is drawn at once


class TimeGrid(eqx.Module):
    """Fixed steps: ``n_saves`` save intervals of ``steps_per_save`` steps of size ``dt``."""

    dt: float = eqx.field(static=True)
    n_saves: int = eqx.field(static=True)
    steps_per_save: int = eqx.field(static=True)

    @classmethod
    def make(cls, t1: float, dt: float, n_saves: int) -> TimeGrid:
        """Validate t1, dt, n_saves: t1 must be a multiple of dt, and the steps of n_saves."""
        if not (dt > 0 and math.isfinite(dt)):
            raise InputError("dt", f"must be a finite number > 0, got {dt}")
        if not (t1 > 0 and math.isfinite(t1)):
            raise InputError("t1", f"must be a finite number > 0, got {t1}")
        n_steps = round(t1 / dt)
        if n_steps < 1 or abs(n_steps * dt - t1) > 1e-9 * max(t1, 1.0):
            raise InputError("t1", f"{t1} is not a multiple of dt = {dt}", refs=("dt",))
        if n_saves < 1 or n_steps % n_saves:
            raise InputError("n_saves", f"{n_saves} does not divide the number of steps t1/dt = {n_steps}")
        return cls(dt=float(dt), n_saves=int(n_saves), steps_per_save=n_steps // n_saves)

    @property
    def n_steps(self) -> int:
        return self.n_saves * self.steps_per_save

    @property
    def block(self) -> int:
        """Steps per noise block: the largest divisor of steps_per_save up to _MAX_BLOCK.

        A block never spans two saves, so a steps_per_save with no divisor near _MAX_BLOCK
        (a prime, say) draws its noise in small blocks and runs slower.
        """
        return max(b for b in range(1, min(_MAX_BLOCK, self.steps_per_save) + 1) if self.steps_per_save % b == 0)

    @property
    def ts(self) -> np.ndarray:
        """The saved times, t = 0 included."""
        return np.arange(self.n_saves + 1) * (self.steps_per_save * self.dt)
