"""Fixed-step integrators for one trajectory: the abstract solver.

A solver advances the classical point and the quantum state (a vector psi or, for the
mixed-state unravelling, a density matrix rho) with the same Wiener increment dW. All have weak
order 1; strong orders are 1/2 (Euler-Maruyama) and 1 (Milstein, Kraus) for a single noise.
The operators in the coefficients carry their representation (dense or diagonal), so a solver
is written once for both.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Complex, Float

from ._coefficients import AbstractStepCoefficients

State = Complex[Array, " d"] | Complex[Array, "d d"]
CoefficientsFn = Callable[[Float[Array, " n"], State], AbstractStepCoefficients]
QuantumUpdate = Callable[[State, AbstractStepCoefficients, Float[Array, " m"] | None, float], State]


def classical_update(
    z: Float[Array, " n"], c: AbstractStepCoefficients, dW: Float[Array, " m"] | None, dt
) -> Float[Array, " n"]:
    """Z + drift dt + sigma dW (Euler-Maruyama)."""
    return z + c.classical_increment(dW, dt)


def one_point_step(
    quantum_update: QuantumUpdate,
    coefficients: CoefficientsFn,
    z: Float[Array, " n"],
    state: State,
    dW: Float[Array, " m"] | None,
    dt,
) -> tuple[Float[Array, " n"], State]:
    """A step that needs the coefficients at the current point only: Euler-Maruyama for z and
    ``quantum_update(state, c, dW, dt)`` for the quantum state."""
    c = coefficients(z, state)
    return classical_update(z, c, dW, dt), quantum_update(state, c, dW, dt)


class AbstractSolver(eqx.Module):
    """A fixed-step update of (z, quantum state) from the unravelling's coefficients."""

    name: ClassVar[str]
    weak_order: ClassVar[float]

    @abc.abstractmethod
    def step(
        self,
        coefficients: CoefficientsFn,
        z: Float[Array, " n"],
        state: State,
        dW: Float[Array, " m"] | None,
        dt,
    ) -> tuple[Float[Array, " n"], State]:
        """One step from (z, state) with increment dW; ``coefficients(z, state)`` as in the unravelling.
        ``state`` is psi (d,) or rho (d, d)."""
