"""The Rouchon-Ralph Kraus step: positive and normalised at any dt.

The step: P. Rouchon and J. F. Ralph, "Efficient quantum filtering for quantum feedback control",
Phys. Rev. A 91, 012118 (2015). Its innovation, the record form of the classical increment: seed
004 (I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics") eqs.
(A.11)-(A.13).

The step in one notation: the Physics page of the documentation (docs/physics.md, "Numerical steps").
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float

from ..operators._ops import is_mixed
from ._coefficients import AbstractStepCoefficients, MeasuredCoefficients
from ._quantum import excess_channel, measurement, normalise
from ._solver import AbstractSolver, CoefficientsFn, State, one_point_step


class Kraus(AbstractSolver):
    """Rouchon-Ralph Kraus step (Rouchon and Ralph, Phys. Rev. A 91, 012118 (2015)), weak order 1.

    psi -> U M psi / |M psi| and rho -> E(U M rho M^dag U^dag / Tr), with
    M = I - 1/2 sum (K_i^dag K_i + K_i^2) dt + A + 1/2 A^2,  A = sum_i K_i dY_i,
    the innovation dY_i = dW_i + 2 Re<K_i> dt (the classical increment in record form, seed
    004 A.11-A.13), the unitary part split off as the Cayley transform U of exp(-i H_I dt) (when
    H_I and the K_i commute the phases are then exact to O(dt^3); a -i H_I dt term inside M,
    renormalised, rotates coherences too fast by 1 + K^2 dt), and E the CPTP channel of the
    decoherence beyond saturation (``excess_channel``). Positive and normalised at any dt.

    ``renormalise=False`` (what the time loop uses, ``cqjax.ensemble._loop.make_loop_step``) returns a
    pure state as U M psi, without the division by |M psi|: the loop normalises it when it is next
    read (the next step's start, a save, a path point), where |psi|^2 is a sum over the stored entries
    instead of over the step's whole computation, which XLA would otherwise repeat for the division
    (healed Diosi on the CPU: a 2x faster step). The states read are the same up to rounding.
    """

    name: ClassVar[str] = "kraus"
    weak_order: ClassVar[float] = 1.0
    renormalise: bool = eqx.field(static=True, default=True)

    def step(
        self, coefficients: CoefficientsFn, z: Float[Array, " n"], state: State, dW: Float[Array, " m"] | None, dt
    ) -> tuple[Float[Array, " n"], State]:
        return one_point_step(self.quantum_update, coefficients, z, state, dW, dt)

    def quantum_update(self, state: State, c: AbstractStepCoefficients, dW: Float[Array, " m"] | None, dt) -> State:
        if isinstance(c, MeasuredCoefficients):  # the representation applies M (a diagonal one elementwise)
            assert dW is not None  # a measured step is driven by its increments
            m = measurement(c, dW, dt)
            state = c.kappa.sandwich(m, state) if is_mixed(state) else c.kappa.map_apply(m, state)
        if not is_mixed(state):
            return c.h.cayley(normalise(state) if self.renormalise else state, dt)
        rho = c.h.cayley_conjugate(normalise(state), dt)
        if isinstance(c, MeasuredCoefficients) and c.excess is not None:
            rho = excess_channel(rho, c.excess, dt)
        return normalise(rho)
