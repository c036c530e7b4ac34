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
from jaxtyping import Array, Float

from ._coefficients import StepCoefficients

CoefficientsFn = Callable[[Array, Array], StepCoefficients]


QuantumUpdate = Callable[[Array, StepCoefficients, Array | None, float, bool], Array]


def classical_update(z: Float[Array, " n"], c: StepCoefficients, dW: Float[Array, " m"] | None, dt) -> Array:
    """Z + drift dt + sigma dW (Euler-Maruyama)."""
    dz = c.drift * dt
    if c.sigma is not None:
        dz = dz + c.sigma @ dW
    return z + dz


def one_point_step(
    quantum_update: QuantumUpdate,
    coefficients: CoefficientsFn,
    z: Array,
    state: Array,
    dW: Array | None,
    dt,
    diagonal: bool,
) -> tuple[Array, Array]:
    """A step that needs the coefficients at the current point only: Euler-Maruyama for z and
    ``quantum_update(state, c, dW, dt, diagonal)`` for the quantum state."""
    c = coefficients(z, state)
    return classical_update(z, c, dW, dt), quantum_update(state, c, dW, dt, diagonal)


class AbstractSolver(eqx.Module):
    """A fixed-step update of (z, quantum state) from the unravelling's coefficients."""

    name: ClassVar[str]
    weak_order: ClassVar[float]

    @abc.abstractmethod
    def step(
        self,
        coefficients: CoefficientsFn,
        z: Float[Array, " n"],
        state: Array,
        dW: Float[Array, " m"] | None,
        dt,
        diagonal: bool,
    ) -> tuple[Array, Array]:
        """One step from (z, state) with increment dW; ``coefficients(z, state)`` as in the unravelling.
        ``state`` is psi (d,) or rho (d, d) (or their diagonal-model forms)."""
