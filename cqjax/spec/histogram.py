"""Bins of the estimated CQ state varrho(z, t) over one or two coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class HistogramSpec:
    """Bins over one or two coordinates: ``coords`` names, ``bins`` [(lo, hi, n), ...]."""

    coords: tuple[str, ...]
    bins: tuple[tuple[float, float, int], ...]

    def axes(self, coords: tuple[str, ...]) -> tuple[int, ...]:
        """The indices of the binned coordinates among a model's ``coords``; unknown ones refused."""
        for c in self.coords:
            if c not in coords:
                raise InputError("histogram", f"unknown coordinate {c!r}; have {list(coords)}")
        return tuple(coords.index(c) for c in self.coords)

    def edges(self) -> list[np.ndarray]:
        return [np.linspace(lo, hi, n + 1) for lo, hi, n in self.bins]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(n for _, _, n in self.bins)

    @property
    def cell_volume(self) -> float:
        return float(np.prod([(hi - lo) / n for lo, hi, n in self.bins]))
