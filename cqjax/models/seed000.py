"""The seed-000 qubit-particle model (open system, partial Wigner picture), seed 000 eqs. (12)-(15).

Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory". Seed 004 (the healed equations): I. Layton,
J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..operators._pauli import pauli
from ._base import AbstractDiagonalModel, AbstractDissipativeModel, AbstractPlanckModel
from ._checks import require

__all__ = ["Seed000"]


class Seed000(AbstractDiagonalModel, AbstractDissipativeModel, AbstractPlanckModel):
    """Qubit coupled to a particle by lam q A (A = sz), no kinetic term, in the partial Wigner picture.

    Seed 000 eq. (13), the open system of eq. (12):
    d varrho/dt = -i/hbar [lam q A, varrho] + lam/2 {A, d_p varrho} + gamma_c d_p^2 varrho
                  - gamma_q [A, [A, varrho]];
    gamma_c = gamma_q = 0 is the closed system, eq. (6). As a CQ model: H = lam q A, classical
    noise sqrt(2 gamma_c) on p (D2_pp = gamma_c), force F_p = -lam A, whose saturated decoherence
    lam^2 / (8 gamma_c) D[A] the healed generator supplies; ``dissipators`` adds the rest of
    -gamma_q [A, [A, .]] = 2 gamma_q D[A], i.e. (2 gamma_q - lam^2 / (8 gamma_c)) D[A]. Positive
    (completely positive) iff gamma_c gamma_q >= lam^2 / 16 (seed 000 eq. 14); at equality the
    healed trajectories of the core engine unravel it (seed 000 eq. (15), corrected):
    q = q0, dp = -lam <A> dt + sqrt(2 gamma_c) dW,
    drho = -i/hbar [lam q0 A, rho] dt - lam / sqrt(8 gamma_c) (A rho + rho A - 2 <A> rho) dW + ...
    Eq. (15) as printed has the classical noise sqrt(gamma_c) xi_t and the quantum noise with +lam:
    then the average over trajectories does not solve eq. (13). The diffusion gamma_c d_p^2 of
    eq. (13) needs the noise sqrt(2 gamma_c) dW (D2_pp = gamma_c), and seed 004 eq. (12) with
    F_p = -lam A and sigma = sqrt(2 gamma_c) gives the quantum noise -lam / sqrt(8 gamma_c) (...).
    q is conserved, so the master equation is one 1-D problem in p for each q.
    """

    lam: Real[ArrayLike, ""] = -1.0
    gamma_c: Real[ArrayLike, ""] = 0.5
    gamma_q: Real[ArrayLike, ""] = 0.125
    hbar: Real[ArrayLike, ""] = 1.0

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def __check_init__(self):
        require(self, ("gamma_c", "gamma_q"), strict=False)
        require(self, ("hbar",), strict=True)

    def energies(self, z: Float[Array, " 2"]) -> Float[Array, " 2"]:
        c = self.lam * z[0]
        return jnp.stack([c, -c])

    def noise(self, z: Float[Array, " 2"]) -> Float[Array, "2 1"]:
        s = jnp.sqrt(2 * jnp.asarray(self.gamma_c, z.dtype))
        return jnp.stack([jnp.zeros_like(s), s])[:, None]

    def dissipators(self, z):
        gc = jnp.asarray(self.gamma_c, z.dtype)
        saturated = jnp.where(gc > 0, self.lam**2 / (8 * jnp.where(gc > 0, gc, 1.0)), 0.0)
        rate = 2 * self.gamma_q - saturated
        return rate[None], pauli()["sz"][None]

    def reduced_planck(self):
        return self.hbar

    def operators(self):
        return pauli()
