"""A classical pointer (detector) with three states that reads a qubit by jumps, in the spirit of the
Blanchard-Jadczyk event-enhanced dynamics and Poulin's discrete classical-quantum equation that seed
003 cites (J. Oppenheim, "A postquantum theory of classical gravity?", eq. 6)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..operators._pauli import pauli
from .finite import AbstractFiniteModel

__all__ = ["PointerQubit"]


class PointerQubit(AbstractFiniteModel):
    """Pointer states z = -1, 0 (ready), +1 and a qubit with H = omega/2 sx for every z.

    From ready, the pointer clicks to +1 at rate g |<0|psi>|^2 (operator sqrt(g) P0, P0 = |0><0|)
    and to -1 at rate g |<1|psi>|^2 (sqrt(g) P1), collapsing the qubit; from +-1 it resets to ready
    at rate r without touching the qubit (sqrt(r) I). In the notation of seed 003 eq. 14,
    L = (P0, P1, I) and W^ab(+1|0) = g d_a0 d_b0, W^ab(-1|0) = g d_a1 d_b1, W^ab(0|+-1) = r d_a2 d_b2.
    With omega = 0 the populations of |0>, |1> are conserved and P(z = +1) = |<0|psi>|^2 g/(g + r)
    (1 - e^{-(g + r) t}) from ready.
    """

    g: Float[ArrayLike, ""] = 2.0
    r: Float[ArrayLike, ""] = 1.0
    omega: Float[ArrayLike, ""] = 1.5

    def values(self) -> Float[Array, " 3"]:
        return jnp.array([-1.0, 0.0, 1.0])

    def hamiltonians(self):
        h = 0.5 * self.omega * pauli()["sx"].astype(complex)
        return jnp.stack([h, h, h])

    def lindblad_operators(self):
        p0 = jnp.diag(jnp.array([1.0, 0.0])).astype(complex)
        return jnp.stack([p0, jnp.eye(2, dtype=complex) - p0, jnp.eye(2, dtype=complex)])

    def kernel(self):
        e = jnp.eye(3, dtype=complex)
        w = jnp.zeros((3, 3, 3, 3), complex)
        w = w.at[2, 1].set(self.g * jnp.outer(e[0], e[0]))  # ready -> +1 with P0
        w = w.at[0, 1].set(self.g * jnp.outer(e[1], e[1]))  # ready -> -1 with P1
        w = w.at[1, 2].set(self.r * jnp.outer(e[2], e[2]))  # +1 -> ready
        return w.at[1, 0].set(self.r * jnp.outer(e[2], e[2]))  # -1 -> ready

    def operators(self):
        return pauli()
