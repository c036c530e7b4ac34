"""The Rouchon-Ralph Kraus step: positive and normalised at any dt.

The step: P. Rouchon and J. F. Ralph, "Efficient quantum filtering for quantum feedback control",
Phys. Rev. A 91, 012118 (2015). Its innovation, the record form of the classical increment: seed
004 (I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics") eqs.
(A.11)-(A.13).

The step in one notation: the Physics page of the documentation (docs/physics.md, "Numerical steps").
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ..operators._ops import apply, apply_each, is_mixed, sandwich
from ._quantum import adjoint_ops, cayley, excess_channel, normalise
from ._solver import AbstractSolver, one_point_step


class Kraus(AbstractSolver):
    """Rouchon-Ralph Kraus step (Rouchon and Ralph, Phys. Rev. A 91, 012118 (2015)), weak order 1.

    psi -> U M psi / |M psi| and rho -> E(U M rho M^dag U^dag / Tr), with
    M = I - 1/2 sum (K_i^dag K_i + K_i^2) dt + A + 1/2 A^2,  A = sum_i K_i dY_i,
    the innovation dY_i = dW_i + 2 Re<K_i> dt (the classical increment in record form, seed
    004 A.11-A.13), the unitary part split off as the Cayley transform U of exp(-i H_I dt) (when
    H_I and the K_i commute the phases are then exact to O(dt^3); a -i H_I dt term inside M,
    renormalised, rotates coherences too fast by 1 + K^2 dt), and E the CPTP channel of the
    decoherence beyond saturation (``excess_channel``). Positive and normalised at any dt.
    """

    name: ClassVar[str] = "kraus"
    weak_order: ClassVar[float] = 1.0

    def step(self, coefficients, z, state, dW, dt, diagonal):
        return one_point_step(self.quantum_update, coefficients, z, state, dW, dt, diagonal)

    def quantum_update(self, state, c, dW, dt, diagonal):
        measure = lambda v: v
        if c.kappa is not None:
            dY = dW + 2.0 * c.mean_kappa * dt
            kappa_dag = None if c.hermitian else adjoint_ops(c.kappa, diagonal)

            def measure(v):
                k_v = apply(c.kappa, v, diagonal)  # (m, d): K_i v
                a_v = dY @ k_v  # A v
                aa_v = dY @ apply(c.kappa, a_v, diagonal)  # A^2 v
                kk_v = apply_each(c.kappa, k_v, diagonal)  # K_i^2 v
                if kappa_dag is not None:
                    kk_v = 0.5 * (kk_v + apply_each(kappa_dag, k_v, diagonal))
                return v - dt * jnp.sum(kk_v, axis=0) + a_v + 0.5 * aa_v

        unitary = lambda v: cayley(c.h, v, dt, diagonal)
        if not is_mixed(state):
            return unitary(normalise(measure(state)))
        if diagonal:  # M and U are diagonal: (U M rho M^dag U^dag)_ab = g_a rho_ab g_b^*, g = U M 1
            g = unitary(measure(jnp.ones(state.shape[-1], state.dtype)))
            rho = normalise(g[:, None] * state * jnp.conj(g)[None, :])
        else:  # the Cayley matrix once, not one linear solve per column
            half = 0.5j * dt
            eye = jnp.eye(state.shape[-1], dtype=state.dtype)
            u = jnp.linalg.solve(eye + half * c.h, eye - half * c.h)
            rho = u @ normalise(sandwich(measure, state)) @ jnp.conj(u.T)
        if c.rates is not None:
            rho = excess_channel(rho, c.rates, c.ops, dt, diagonal)
        return normalise(rho)
