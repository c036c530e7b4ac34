"""A test mass near a planet in a superposition of two positions, seed 004 App. C.4 (Figs. 3, 7).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..operators._pauli import pauli
from ._base import AbstractDiagonalModel
from ._checks import require

__all__ = ["SuperposedMass"]


class SuperposedMass(AbstractDiagonalModel):
    """H = p.p / 2m - G M m / sqrt(|r - sz d e_x|^2 + softening^2) + phi sz, noise sigma on each momentum.

    Seed 004 eqs. (C.14)-(C.17): the planet (mass M) sits at +d e_x in |0> (sz = +1) and at
    -d e_x in |1>; the test mass m is classical, at r = (x, y, z) with momentum p. The healed
    dynamics (eqs. 11-12) uses the force operator F_j = {p_j, H} = -d_j H, so its quantum noise
    is -1/(2 sigma) (d_j H - <d_j H>)|psi> dW_j. Eq. (C.17) as printed has this term with the
    opposite sign, +1/(2 sigma) (d_j H - <d_j H>), which does not follow from eq. (12) with the
    drift of eq. (C.16); and (C.16) lacks the dt of its drift term: dP_j = -<d_j H> dt + sigma dW_j.
    The decoherence rate between the branches is |F_0 - F_1|^2 / (8 sigma^2) (the trade-off at
    saturation). ``softening`` (default 0) regularises the potential at the planets.
    """

    G: Real[ArrayLike, ""] = 1.0
    M: Real[ArrayLike, ""] = 10.0
    m: Real[ArrayLike, ""] = 0.01
    d: Real[ArrayLike, ""] = 1.0
    sigma: Real[ArrayLike, ""] = 0.02
    phi: Real[ArrayLike, ""] = 0.0
    softening: Real[ArrayLike, ""] = 0.0

    positions: ClassVar[tuple[str, ...]] = ("x", "y", "z")
    momenta: ClassVar[tuple[str, ...]] = ("px", "py", "pz")

    def __check_init__(self):
        require(self, ("m", "sigma"), strict=True)

    def potential(self, r: Float[Array, " 3"], s: float) -> Float[Array, ""]:
        """-G M m / |r - s d e_x| (softened) for the planet branch s = +1 (|0>) or -1 (|1>)."""
        dr = r - s * self.d * jnp.array([1.0, 0.0, 0.0], r.dtype)
        return -jnp.asarray(self.G * self.M * self.m) / jnp.sqrt(dr @ dr + self.softening**2)

    def energies(self, z: Float[Array, " 6"]) -> Float[Array, " 2"]:
        r, p = z[:3], z[3:]
        kinetic = p @ p / (2 * self.m)
        return jnp.stack([kinetic + self.potential(r, 1.0) + self.phi, kinetic + self.potential(r, -1.0) - self.phi])

    def noise(self, z: Float[Array, " 6"]) -> Float[Array, "6 3"]:
        s = jnp.asarray(self.sigma, z.dtype)
        return jnp.concatenate([jnp.zeros((3, 3), z.dtype), s * jnp.eye(3, dtype=z.dtype)])

    def operators(self):
        return pauli()
