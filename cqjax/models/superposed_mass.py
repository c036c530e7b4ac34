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

__all__ = ["PlanarSuperposedMass", "SuperposedMass"]


def _potential(model, r: Float[Array, " k"], s: float) -> Float[Array, ""]:
    """-G M m / |r - s d e_x| (softened) for the planet branch s = +1 (|0>) or -1 (|1>)."""
    e_x = jnp.zeros_like(r).at[0].set(1.0)
    dr = r - s * model.d * e_x
    return -jnp.asarray(model.G * model.M * model.m) / jnp.sqrt(dr @ dr + model.softening**2)


def _energies(model, z: Float[Array, " n"]) -> Float[Array, " 2"]:
    """The two branch energies p.p/2m + V(r, +-1) +- phi, with r, p the halves of z."""
    k = z.shape[0] // 2
    r, p = z[:k], z[k:]
    kinetic = p @ p / (2 * model.m)
    return jnp.stack(
        [kinetic + _potential(model, r, 1.0) + model.phi, kinetic + _potential(model, r, -1.0) - model.phi]
    )


def _noise(model, z: Float[Array, " n"]) -> Float[Array, "n m"]:
    """sigma on each momentum, none on the positions."""
    k = z.shape[0] // 2
    s = jnp.asarray(model.sigma, z.dtype)
    return jnp.concatenate([jnp.zeros((k, k), z.dtype), s * jnp.eye(k, dtype=z.dtype)])


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
        return _potential(self, r, s)

    def energies(self, z: Float[Array, " 6"]) -> Float[Array, " 2"]:
        return _energies(self, z)

    def noise(self, z: Float[Array, " 6"]) -> Float[Array, "6 3"]:
        return _noise(self, z)

    def operators(self):
        return pauli()


class PlanarSuperposedMass(AbstractDiagonalModel):
    """``SuperposedMass`` restricted to the (x, y) plane: two degrees of freedom (x, y, px, py).

    The same Hamiltonian, H = p.p / 2m - G M m / sqrt(|r - sz d e_x|^2 + softening^2) + phi sz,
    with r = (x, y): the planet's two positions +-d e_x lie in the plane, so a motion that starts
    in it (z = pz = 0) stays in it, and the 3-D model's planar trajectories are these (seed 004
    App. C.4, eqs. (C.14)-(C.17), with the sign of (C.17) corrected as for ``SuperposedMass``).
    Two degrees of freedom fit a 4-D master-equation grid, so ``cqjax compare`` checks the
    gravitational model against the CQ master equation.
    """

    G: Real[ArrayLike, ""] = 1.0
    M: Real[ArrayLike, ""] = 10.0
    m: Real[ArrayLike, ""] = 0.01
    d: Real[ArrayLike, ""] = 1.0
    sigma: Real[ArrayLike, ""] = 0.02
    phi: Real[ArrayLike, ""] = 0.0
    softening: Real[ArrayLike, ""] = 0.0

    positions: ClassVar[tuple[str, ...]] = ("x", "y")
    momenta: ClassVar[tuple[str, ...]] = ("px", "py")

    def __check_init__(self):
        require(self, ("m", "sigma"), strict=True)

    def energies(self, z: Float[Array, " 4"]) -> Float[Array, " 2"]:
        return _energies(self, z)

    def noise(self, z: Float[Array, " 4"]) -> Float[Array, "4 2"]:
        return _noise(self, z)

    def operators(self):
        return pauli()
