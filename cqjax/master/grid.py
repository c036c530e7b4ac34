"""The phase-space grid of the master equation."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

DEFAULT_CELLS = (128, 128)  # cells per axis (q, p) unless given


class PhaseSpaceGrid(eqx.Module):
    """A uniform grid of ``cells`` (Nq, Np) cells over [lo, hi] per coordinate, for one (q, p) pair.

    An axis with one cell holds a conserved coordinate at a single value (its cell centre).
    """

    lo: tuple[float, float] = eqx.field(static=True, converter=lambda x: tuple(float(v) for v in x))
    hi: tuple[float, float] = eqx.field(static=True, converter=lambda x: tuple(float(v) for v in x))
    cells: tuple[int, int] = eqx.field(static=True, converter=lambda x: tuple(int(v) for v in x))

    def __check_init__(self):
        for i in range(2):
            if not (self.hi[i] > self.lo[i]) or self.cells[i] < 1:
                raise ValueError(
                    f"master grid: axis {i} needs lo < hi and >= 1 cells, got "
                    f"[{self.lo[i]}, {self.hi[i]}] with {self.cells[i]} cells"
                )

    @property
    def spacing(self) -> tuple[float, float]:
        return tuple((h - l) / n for l, h, n in zip(self.lo, self.hi, self.cells))

    @property
    def cell_volume(self) -> float:
        return math.prod(self.spacing)

    def edges(self, axis: int) -> np.ndarray:
        return np.linspace(self.lo[axis], self.hi[axis], self.cells[axis] + 1)

    def centres(self, axis: int) -> np.ndarray:
        e = self.edges(axis)
        return 0.5 * (e[1:] + e[:-1])

    def mesh(self) -> np.ndarray:
        """Cell centres (Nq, Np, 2) as a float64 numpy array (host-side arithmetic)."""
        qq, pp = np.meshgrid(self.centres(0), self.centres(1), indexing="ij")
        return np.stack([qq, pp], axis=-1)

    def points(self, dtype=None) -> Float[Array, "Nq Np 2"]:
        """Cell centres (Nq, Np, 2) as a JAX array of ``dtype``."""
        return jnp.asarray(self.mesh(), dtype)
