"""The seed-003 oscillator with momentum jumps: a particle coupled to the energy of a quantum
harmonic oscillator, its coupling realised by raising and lowering jumps.

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float, Real

from ._base import AbstractJumpModel
from ._checks import require, require_count

__all__ = ["JumpOscillator"]

MAX_LEVELS = 256  # dense d x d matrices (and a d x d matrix exponential) per trajectory and step


def lowering(levels: int) -> np.ndarray:
    """The truncated annihilation operator a = sum_n sqrt(n) |n-1><n| on levels 0..levels-1."""
    return np.diag(np.sqrt(np.arange(1.0, levels)), k=1)


class JumpOscillator(AbstractJumpModel):
    """H(z) = p^2/2m + B q H^(m), H^(m) = omega (a^dag a + a a^dag)/2, with momentum jumps.

    J. Oppenheim, "A postquantum theory of classical gravity?", Sec. IV.B: a classical particle
    coupled through B(q) = B q to the energy of a quantum harmonic oscillator, H^(m) =
    omega (a^dag a + a a^dag)/2, decomposed (eq. 18, H = h^00 + sum_ab h^ab L_b^dag L_a) with
    the Lindblad operators a and a^dag, realised by the jump kernel of eq. (68) as for the qubit
    (eq. 78). With collapse strength c (the qubit's omega in eq. 78): h^00 = p^2/2m and
    h^kk = B q omega / (2c) for L_1 = sqrt(c) a, L_2 = sqrt(c) a^dag, and
        d varrho/dt = -i[B q H^(m), varrho] - p/m d_q varrho
            + (c/tau) [a varrho(q, p + kick) a^dag + a^dag varrho(q, p + kick) a]
            - (c/2tau) {a^dag a + a a^dag, varrho},      kick = tau B omega / (2c),
    i.e. jump operators sqrt(c/tau) a and sqrt(c/tau) a^dag (rates included) that both shift p
    by -kick (the flow of h^kk over the time tau) and leave q. Between jumps p is constant
    ({p, h^00} = 0); the mean force is (c/tau)<a^dag a + a a^dag> (-kick) = -B omega <n + 1/2>,
    and d<n>/dt = c/tau (D[a] + D[a^dag] at rate c/tau each), so from |n0> at p0
        E n(t) = n0 + c t / tau,   E p(t) = p0 - B omega (n0 t + c t^2 / (2 tau) + t/2).
    A Fock state stays a Fock state: the trajectories are a birth-death walk with up-rate
    (c/tau)(n+1) and down-rate (c/tau) n.

    Truncation: the Hilbert space is levels 0..levels-1 (``levels`` static). H^(m) is built from
    the truncated a as omega (a^dag a + a a^dag)/2, which equals the sum of the jump couplings
    sum_k h^kk L_k^dag L_k exactly; it differs from omega (a^dag a + 1/2) only at the top level
    (omega (levels-1)/2 instead of omega (levels - 1/2)). There the truncated a^dag vanishes: the
    walk is reflected at the top level, whose total jump rate is (c/tau)(levels-1). The truncated
    dynamics therefore equals the untruncated one until a trajectory first reaches the top level;
    the error of any bounded observable is at most twice its bound times the probability of that.
    """

    m: Real[ArrayLike, ""] = 1.0
    B: Real[ArrayLike, ""] = 1.0
    omega: Real[ArrayLike, ""] = 1.0
    tau: Real[ArrayLike, ""] = 0.5
    c: Real[ArrayLike, ""] = 1.0
    levels: int = eqx.field(static=True, default=12)

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def __check_init__(self):
        require_count(self, "levels", 2, MAX_LEVELS, "the oscillator truncation")
        require(self, ("m", "tau", "c"), strict=True)

    def _ladder(self, z: Float[Array, " 2"]) -> Complex[Array, "d d"]:
        return jnp.asarray(lowering(self.levels), jnp.result_type(z.dtype, jnp.complex64))

    def hamiltonian(self, z: Float[Array, " 2"]) -> Complex[Array, "d d"]:
        q = z[0]
        a = self._ladder(z)
        ad = a.T  # real matrix: the adjoint is the transpose
        h_m = self.omega * (ad @ a + a @ ad) / 2
        eye = jnp.eye(self.levels, dtype=a.dtype)
        return self.classical_hamiltonian(z) * eye + self.B * q * h_m

    def classical_hamiltonian(self, z: Float[Array, " 2"]) -> Float[Array, ""]:
        """h^00 = p^2 / 2m: the coupling B q H^(m) is realised by the jumps (seed 003 eqs. 18, 68)."""
        return z[1] ** 2 / (2 * self.m)

    def jump_channels(self, z: Float[Array, " 2"]) -> tuple[Complex[Array, "2 d d"], Float[Array, "2 2"]]:
        a = self._ladder(z)
        rate = jnp.sqrt(jnp.asarray(self.c / self.tau, z.dtype))
        ops = rate * jnp.stack([a, a.T])
        kick = jnp.asarray(self.tau * self.B * self.omega / (2 * self.c), z.dtype)
        shift = jnp.stack([jnp.zeros_like(kick), -kick])
        return ops, jnp.stack([shift, shift])

    def operators(self) -> dict[str, Complex[Array, "d d"]]:
        """``n`` = a^dag a, the quadratures ``x`` = (a + a^dag)/sqrt2 and ``y`` = (a - a^dag)/(sqrt2 i)."""
        a = lowering(self.levels).astype(complex)
        ad = a.T
        return {
            "n": jnp.asarray(ad @ a),
            "x": jnp.asarray((a + ad) / np.sqrt(2)),
            "y": jnp.asarray((a - ad) / (np.sqrt(2) * 1j)),
        }

    def named_states(self) -> dict[str, np.ndarray]:
        """Fock states by name: ``ground`` |0>, ``one`` |1>, ``two`` |2>, and ``fock_k`` |k> for every level k."""
        eye = np.eye(self.levels, dtype=complex)
        states = {f"fock_{k}": eye[k] for k in range(self.levels)}
        states.update({name: eye[k] for k, name in enumerate(("ground", "one", "two")) if k < self.levels})
        return states
