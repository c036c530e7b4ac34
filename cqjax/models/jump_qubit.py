"""The seed-003 qubit with momentum jumps: seed 003 sec. IV.B, eqs. (77)-(82).

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..operators._pauli import pauli
from ._base import AbstractDiagonalModel, AbstractJumpModel
from ._checks import require

__all__ = ["JumpQubit"]


class JumpQubit(AbstractDiagonalModel, AbstractJumpModel):
    """H = p^2/2m + B q omega sz with momentum jumps (seed 003 eqs. 77-80).

    Master equation (78): d varrho/dt = -i[B q omega sz, varrho] - p/m d_q varrho
        + (omega/tau) P_up varrho(q, p + tau B) P_up + (omega/tau) P_dn varrho(q, p - tau B) P_dn
        - (omega/tau) varrho,
    i.e. jump operators sqrt(omega/tau) P_up, sqrt(omega/tau) P_dn (|up> = |0>, sz = +1) that
    shift p by -tau B and +tau B: the flow of the coupling +-B q over the time tau. The populations
    jump at the state-independent total rate omega/tau (eq. 79), the coherence decays as
    exp(-omega t / tau) while it rotates at 2 B q omega (eqs. 80-81).

    Two printed slips of sec. IV.B: in the solution (81) of eq. (80) the free function, written
    rho(q - p t/m), is the initial coherence alpha_0(q - p t/m, p) (it depends on p too); and the
    number of jumps by time t, which the text says is normal with variance (omega/tau)(1 - omega/tau),
    is Poisson with mean and variance omega t / tau (jumps at the constant total rate omega/tau).
    """

    m: Real[ArrayLike, ""] = 1.0
    B: Real[ArrayLike, ""] = 1.0
    omega: Real[ArrayLike, ""] = 1.0
    tau: Real[ArrayLike, ""] = 0.1

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def __check_init__(self):
        require(self, ("m", "omega", "tau"), strict=True)

    def energies(self, z: Float[Array, " 2"]) -> Float[Array, " 2"]:
        q, p = z[0], z[1]
        kinetic = p**2 / (2 * self.m)
        c = self.B * q * self.omega
        return jnp.stack([kinetic + c, kinetic - c])

    def classical_hamiltonian(self, z: Float[Array, " 2"]) -> Float[Array, ""]:
        """h^00 = p^2 / 2m: the coupling B q omega sz is realised by the jumps (seed 003 eq. 78)."""
        return z[1] ** 2 / (2 * self.m)

    def jump_channels(self, z):
        rate = jnp.sqrt(jnp.asarray(self.omega / self.tau, z.dtype))
        up = jnp.diag(jnp.array([1.0, 0.0], z.dtype))
        dn = jnp.diag(jnp.array([0.0, 1.0], z.dtype))
        ops = rate * jnp.stack([up, dn])
        shift = jnp.asarray(self.tau * self.B, z.dtype)
        zero = jnp.zeros_like(shift)
        shifts = jnp.stack([jnp.stack([zero, -shift]), jnp.stack([zero, shift])])
        return ops, shifts

    def operators(self):
        return pauli()
