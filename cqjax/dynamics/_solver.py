"""Fixed-step integrators for one trajectory: the abstract solver.

A solver advances the classical point and the quantum state (a vector psi or, for the
mixed-state unravelling, a density matrix rho) with the same Wiener increment dW. All have weak
order 1; strong orders are 1/2 (Euler-Maruyama) and 1 (Milstein, Kraus) for a single noise.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
from jax import Array

from ._coefficients import StepCoefficients

CoefficientsFn = Callable[[Array, Array], StepCoefficients]


class AbstractSolver(eqx.Module):
    """A fixed-step update of (z, quantum state) from the unravelling's coefficients."""

    name: ClassVar[str]
    weak_order: ClassVar[float]

    def classical_update(self, z: Array, c: StepCoefficients, dW: Array | None, dt) -> Array:
        """Z + drift dt + sigma dW (Euler-Maruyama)."""
        dz = c.drift * dt
        if c.sigma is not None:
            dz = dz + c.sigma @ dW
        return z + dz

    @abc.abstractmethod
    def quantum_update(self, state: Array, c: StepCoefficients, dW: Array | None, dt, diagonal: bool) -> Array:
        """The normalised quantum state after one step."""

    def step(self, coefficients: CoefficientsFn, z: Array, state: Array, dW: Array | None, dt, diagonal: bool):
        """One step from (z, state) with increment dW; ``coefficients(z, state)`` as in the unravelling."""
        c = coefficients(z, state)
        return self.classical_update(z, c, dW, dt), self.quantum_update(state, c, dW, dt, diagonal)
