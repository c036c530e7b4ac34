"""The linear Diosi model with a time-dependent coupling lam(t) = lam0 cos(omega t): time-dependent
coefficients as seed 004 App. H allows them (H, sigma and the Lindblad data may depend on t).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..operators._pauli import pauli
from ._base import AbstractDiagonalModel
from ._time import AbstractTimeDependentModel

__all__ = ["DrivenDiosi"]


class DrivenDiosi(AbstractDiagonalModel, AbstractTimeDependentModel):
    """H(t) = p^2/2m + (2 lam(t) q + phi) sz, lam(t) = lam0 cos(omega t), noise sigma on p only.

    Healed dynamics (seed 004 eqs. C.7-C.9 with lam -> lam(t)): dq = p/m dt, dp = -2 lam(t) <sz> dt
    + sigma dW, and the state decoheres at the saturated rate (lam(t) / sigma)^2 D[sz]. ``t``: the
    time at which the coefficients are evaluated (a run starts there; the engine advances it).
    """

    m: Float[ArrayLike, ""] = 1.0
    lam0: Float[ArrayLike, ""] = 1.0
    omega: Float[ArrayLike, ""] = 2.0
    phi: Float[ArrayLike, ""] = 0.5
    sigma: Float[ArrayLike, ""] = 1.0
    t: Float[ArrayLike, ""] = 0.0

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def coupling(self) -> Float[Array, ""]:
        """lam(t) = lam0 cos(omega t)."""
        return jnp.asarray(self.lam0 * jnp.cos(self.omega * self.t))

    def energies(self, z: Float[Array, " 2"]) -> Float[Array, " 2"]:
        q, p = z[0], z[1]
        kinetic = p**2 / (2 * self.m)
        coupling = 2 * self.coupling() * q + self.phi
        return jnp.stack([kinetic + coupling, kinetic - coupling])

    def noise(self, z: Float[Array, " 2"]) -> Float[Array, "2 1"]:
        s = jnp.asarray(self.sigma, dtype=z.dtype)
        return jnp.stack([jnp.zeros_like(s), s])[:, None]

    def operators(self):
        return pauli()
