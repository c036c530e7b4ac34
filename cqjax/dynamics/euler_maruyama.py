"""Euler-Maruyama with renormalisation."""

from __future__ import annotations

from typing import ClassVar

from jaxtyping import Array, Float

from ..operators._operator import small_dot
from ._coefficients import AbstractStepCoefficients, MeasuredCoefficients
from ._quantum import centred_diffusion, normalise, quantum_drift
from ._solver import AbstractSolver, CoefficientsFn, State, one_point_step


class EulerMaruyama(AbstractSolver):
    """Euler-Maruyama on eq. (12) (pure) or eq. (8) (mixed), then renormalisation, weak order 1.

    psi + [-i H_I - 1/2 sum (K_i - <K_i>)^2] psi dt + sum (K_i - <K_i>) psi dW_i, then /|.|;
    rho + L(rho) dt + sum ((K_i - <K_i>) rho + h.c.) dW_i, then /Tr. Without the renormalisation
    the norm error grows like sqrt(dt) per unit time; positivity of rho is not guaranteed.
    """

    name: ClassVar[str] = "euler-maruyama"
    weak_order: ClassVar[float] = 1.0

    def step(
        self, coefficients: CoefficientsFn, z: Float[Array, " n"], state: State, dW: Float[Array, " m"] | None, dt
    ) -> tuple[Float[Array, " n"], State]:
        return one_point_step(self.quantum_update, coefficients, z, state, dW, dt)

    def quantum_update(self, state: State, c: AbstractStepCoefficients, dW: Float[Array, " m"] | None, dt) -> State:
        v = state + dt * quantum_drift(c, state)
        if isinstance(c, MeasuredCoefficients):
            assert dW is not None  # a measured step is driven by its increments
            v = v + small_dot(dW, centred_diffusion(c, state))
        return normalise(v)
