"""A quantum harmonic oscillator coupled through its position to a classical particle: the
back-reaction's decoherence heats it linearly (the anomalous heating of seed 003 eq. 130).

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?"; seed 004: I. Layton,
J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float, Real

from ._base import AbstractModel
from ._checks import require, require_count
from .jump_oscillator import MAX_LEVELS, lowering

__all__ = ["HeatedOscillator"]


class HeatedOscillator(AbstractModel):
    """H(z) = p^2/2M + lam q x + H_osc,  H_osc = omega (a^dag a + 1/2),  x = (a + a^dag)/sqrt(2 mu omega),
    noise sigma on p (hbar = 1).

    The healed dynamics (seed 004 eqs. 11-12) has the force operator F = {p, H_I} = -lam x and the
    saturated decoherence D0 D[x], D0 = lam^2 / (4 sigma^2), on the oscillator. Seed 003 eq. (130)
    (Banks, Peskin and Susskind's argument) gives the heating of the oscillator by a Lindblad term
    with Hermitian L = x: d<H_osc>/dt = (D0/2) <[x, [H_osc, x]]> = D0 / (2 mu). With the particle
    held at q = 0 (``M = inf``: no kinetic term, q never moves) nothing else acts on the oscillator:
    E<H_osc>(t) = omega/2 + D0 t / (2 mu) from the ground state, linear and unbounded, while the
    mean-field equations (seed 004 eqs. 13-14) leave it in its ground state. With a moving particle
    the total E[H] grows at sigma^2/(2M) + D0/(2mu) (the classical diffusion and the anomalous
    heating, whose product is fixed by the trade-off): ``cqjax.analysis.heating_rate``.

    Truncation (``levels`` static, Fock states 0..levels-1): with the truncated a,
    [x, [H_osc, x]] = (1/mu)(I - levels |top><top|), so the truncated rate is
    D0/(2 mu) (1 - levels <P_top>): the error is levels D0/(2 mu) times the population ``top`` of
    the highest level (an observable; the tests bound it).
    """

    M: Real[ArrayLike, ""] = float("inf")
    lam: Real[ArrayLike, ""] = 1.0
    sigma: Real[ArrayLike, ""] = 1.0
    mu: Real[ArrayLike, ""] = 1.0
    omega: Real[ArrayLike, ""] = 1.0
    levels: int = eqx.field(static=True, default=16)

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def __check_init__(self):
        require_count(self, "levels", 2, MAX_LEVELS, "the oscillator truncation")
        require(self, ("M", "sigma", "mu", "omega"), strict=True)

    def _ops(self, dtype) -> tuple[Array, Array]:
        """(x, H_osc) as dense (d, d) matrices."""
        a = jnp.asarray(lowering(self.levels), dtype)
        x = (a + a.T) / jnp.sqrt(2 * self.mu * self.omega)
        h_osc = jnp.diag(jnp.arange(self.levels, dtype=dtype) + 0.5) * self.omega
        return x, h_osc

    def hamiltonian(self, z: Float[Array, " 2"]) -> Complex[Array, "d d"]:
        q, p = z[0], z[1]
        x, h_osc = self._ops(jnp.result_type(z.dtype, jnp.complex64))
        return p**2 / (2 * self.M) * jnp.eye(self.levels, dtype=x.dtype) + self.lam * q * x + h_osc

    def noise(self, z: Float[Array, " 2"]) -> Float[Array, "2 1"]:
        s = jnp.asarray(self.sigma, z.dtype)
        return jnp.stack([jnp.zeros_like(s), s])[:, None]

    def operators(self) -> dict[str, Complex[Array, "d d"]]:
        """``x`` (position), ``h`` (H_osc), ``n`` (a^dag a) and ``top`` (the projector on the highest level)."""
        x, h_osc = self._ops(jnp.asarray(0j).dtype)  # complex128 when jax_enable_x64 is on
        top = jnp.zeros((self.levels, self.levels), x.dtype).at[-1, -1].set(1.0)
        n = jnp.diag(jnp.arange(self.levels, dtype=x.dtype))
        return {"x": x, "h": h_osc, "n": n, "top": top}

    def named_states(self) -> dict[str, np.ndarray]:
        """Fock states by name: ``ground`` |0>, ``one`` |1>, and ``fock_k`` |k> for every level k."""
        eye = np.eye(self.levels, dtype=complex)
        states = {f"fock_{k}": eye[k] for k in range(self.levels)}
        states.update({"ground": eye[0], "one": eye[1]})
        return states
