"""The phase-space grid of the master equation: 2k axes, one per coordinate (q_1..q_k, p_1..p_k)."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

DEFAULT_CELLS = (128, 128)  # cells per axis (q, p) unless given, one degree of freedom
_DEFAULT_PER_AXIS = {2: 128, 4: 24}  # cells per axis by the number of axes; beyond: about 10^6 cells


def default_cells(n_axes: int) -> tuple[int, ...]:
    """Cells per axis when none are given: 128^2 for one degree of freedom, 24^4 for two."""
    per = _DEFAULT_PER_AXIS.get(n_axes, max(4, math.floor(1e6 ** (1 / n_axes))))
    return (per,) * n_axes


class PhaseSpaceGrid(eqx.Module):
    """A uniform grid of ``cells`` cells over [lo, hi] per coordinate, one axis per coordinate.

    An axis with one cell holds a conserved coordinate at a single value (its cell centre).
    """

    lo: tuple[float, ...] = eqx.field(static=True, converter=lambda x: tuple(float(v) for v in x))
    hi: tuple[float, ...] = eqx.field(static=True, converter=lambda x: tuple(float(v) for v in x))
    cells: tuple[int, ...] = eqx.field(static=True, converter=lambda x: tuple(int(v) for v in x))

    def __check_init__(self):
        if not (len(self.lo) == len(self.hi) == len(self.cells) >= 1):
            raise ValueError(
                f"master grid: lo, hi and cells need one entry per axis, got {self.lo}, {self.hi}, {self.cells}"
            )
        for i in range(len(self.cells)):
            if not (self.hi[i] > self.lo[i]) or self.cells[i] < 1:
                raise ValueError(
                    f"master grid: axis {i} needs lo < hi and >= 1 cells, got "
                    f"[{self.lo[i]}, {self.hi[i]}] with {self.cells[i]} cells"
                )

    @property
    def ndim(self) -> int:
        return len(self.cells)

    @property
    def size(self) -> int:
        return math.prod(self.cells)

    @property
    def spacing(self) -> tuple[float, ...]:
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
        """Cell centres (*cells, n) as a float64 numpy array (host-side arithmetic)."""
        axes = np.meshgrid(*(self.centres(i) for i in range(self.ndim)), indexing="ij")
        return np.stack(axes, axis=-1)

    def points(self, dtype=None) -> Float[Array, "*cells n"]:
        """Cell centres (*cells, n) as a JAX array of ``dtype``."""
        return jnp.asarray(self.mesh(), dtype)
