"""The sqrt(q) well / barrier, seed 004 App. C.3, eqs. (C.10)-(C.13) and Fig. 6.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Real

from ..operators._pauli import pauli
from ._base import AbstractAbsorbingModel, AbstractDiagonalModel
from ._checks import require

__all__ = ["SqrtWell"]


class SqrtWell(AbstractDiagonalModel, AbstractAbsorbingModel):
    """H = p^2/2m + lam sqrt(q) sz with noise sigma(q) = gamma / sqrt(q) on p (seed 004 eqs. C.10-C.13).

    Healed dynamics: dq = p/m dt, dp = -lam <sz> / (2 sqrt q) dt + gamma / sqrt(q) dW, and the
    quantum noise K = 1/2 pinv(sigma) {p, H_I} = -lam / (4 gamma) sz, independent of q. For lam > 0
    the branch |0> (potential +lam sqrt q, force -lam / (2 sqrt q)) falls into the well at q = 0 and
    the branch |1> (-lam sqrt q) is pushed away from it, as the text of App. C.3 says (+lam sqrt q
    the well for |0>, -lam sqrt q the barrier for |1>). The caption of seed 004 Fig. 6 names the
    rebound "a potential barrier +sqrt(q)": the barrier is -lam sqrt(q), the potential of |1>.

    Absorbing rule (``inside``; ours, App. C.3 only considers q > 0): the drift and the noise
    diverge at q = 0 and the model is not defined for q < 0, so a trajectory is stopped at the
    first step that ends with q <= 0: its point and state stay frozen there. Runs report the
    fraction stopped (``stopped``).
    """

    m: Real[ArrayLike, ""] = 1.0
    lam: Real[ArrayLike, ""] = 1.0
    gamma: Real[ArrayLike, ""] = 0.5

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def __check_init__(self):
        require(self, ("m", "gamma"), strict=True)

    def energies(self, z: Float[Array, " 2"]) -> Float[Array, " 2"]:
        q, p = z[0], z[1]
        kinetic = p**2 / (2 * self.m)
        coupling = self.lam * jnp.sqrt(q)
        return jnp.stack([kinetic + coupling, kinetic - coupling])

    def noise(self, z: Float[Array, " 2"]) -> Float[Array, "2 1"]:
        s = jnp.asarray(self.gamma, z.dtype) / jnp.sqrt(z[0])
        return jnp.stack([jnp.zeros_like(s), s])[:, None]

    def inside(self, z: Float[Array, " 2"]) -> Bool[Array, ""]:
        return z[0] > 0

    def operators(self):
        return pauli()
