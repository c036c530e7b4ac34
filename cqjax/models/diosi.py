"""Linear Diosi (Stern-Gerlach) model, seed 004 App. C.2, eqs. (C.4)-(C.9) and Figs. 2, 5.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..operators._pauli import pauli
from ._base import AbstractDiagonalModel

__all__ = ["Diosi"]


class Diosi(AbstractDiagonalModel):
    """H = p^2/2m + (2 lam q + phi) sz, noise sigma on p only (seed 004 eqs. C.4-C.5).

    Healed dynamics (C.7-C.9): dq = p/m dt, dp = -2 lam <sz> dt + sigma dW,
    d|psi> = -i(2 lam q + phi) sz|psi> dt - (lam/sigma)(sz - <sz>)|psi> dW
             - (lam^2 / 2 sigma^2)(sz - <sz>)^2 |psi> dt.
    """

    m: Real[ArrayLike, ""] = 1.0
    lam: Real[ArrayLike, ""] = 1.0
    phi: Real[ArrayLike, ""] = 2.0
    sigma: Real[ArrayLike, ""] = 1.0

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z: Float[Array, " 2"]) -> Float[Array, " 2"]:
        q, p = z[0], z[1]
        kinetic = p**2 / (2 * self.m)
        coupling = 2 * self.lam * q + self.phi
        return jnp.stack([kinetic + coupling, kinetic - coupling])

    def noise(self, z: Float[Array, " 2"]) -> Float[Array, "2 1"]:
        s = jnp.asarray(self.sigma, dtype=z.dtype)
        return jnp.stack([jnp.zeros_like(s), s])[:, None]

    def operators(self):
        return pauli()
