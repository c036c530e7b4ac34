"""Quantum-state arithmetic the solvers share: the Ito drift and diffusion of eqs. 8 / 12 of
seed 004, renormalisation and the exact channel of the decoherence beyond saturation. The
operators carry their representation (``cqjax.operators._operator``): nothing here tests it.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex

from ..operators._operator import norm_squared, scale, small_dot, small_sum
from ..operators._ops import hermitian_part, is_mixed, trace
from ._coefficients import AbstractStepCoefficients, MeasuredCoefficients

State = Complex[Array, " d"] | Complex[Array, "d d"]


def normalise(state: State) -> State:
    """psi / |psi|, or the Hermitian part of rho / Tr rho."""
    if is_mixed(state):
        return hermitian_part(state) / trace(state)
    return scale(state, jax.lax.rsqrt(norm_squared(state)))


def centred_diffusion(c: MeasuredCoefficients, state: State) -> Complex[Array, "m ..."]:
    """b_i: (K_i - <K_i>) psi, or (K_i - <K_i>) rho + h.c. -- the quantum diffusion (m, ...)."""
    if not is_mixed(state):
        return c.kappa.apply(state) - c.mean_kappa[:, None] * state
    x = c.kappa.left(state) - c.mean_kappa[:, None, None] * state
    return x + jnp.conj(jnp.swapaxes(x, -1, -2))


def quantum_drift(c: AbstractStepCoefficients, state: State) -> State:
    """The Ito drift of the quantum state (eq. 8 / eq. 12; for non-Hermitian K the diffusive
    stochastic Schrodinger equation d psi = [-i h - 1/2 sum (K^dag K - 2 r K + r^2)] psi dt + ...,
    r = Re<K>)."""
    measured = isinstance(c, MeasuredCoefficients)
    if not is_mixed(state):
        v = -1j * c.h.apply(state)
        if measured:
            b = centred_diffusion(c, state)  # (K - r) psi, r = Re<K>
            if c.hermitian:  # 1/2 (K - r)^2 psi
                kb = c.kappa.apply_each(b) - c.mean_kappa[:, None] * b
            else:  # 1/2 (K^dag K - 2 r K + r^2) psi
                k_psi = c.kappa.apply(state)
                r = c.mean_kappa[:, None]
                kb = c.kappa.adjoint().apply_each(k_psi) - 2 * r * k_psi + r**2 * state
            v = v - 0.5 * small_sum(kb)
        return v
    h_rho = c.h.left(state)
    out = -1j * (h_rho - jnp.conj(h_rho.T))
    if measured:
        out = out + c.kappa.lindblad(jnp.ones(c.kappa.stack_len, jnp.real(state).dtype), state)
        if c.excess is not None:
            out = out + c.excess.ops.lindblad(c.excess.rates, state)
    return out


def measurement(c: MeasuredCoefficients, dW: Array, dt):
    """v -> M v, the Kraus operator of the measurement over one step (Rouchon and Ralph):
    M = I - 1/2 sum (K_i^dag K_i + K_i^2) dt + A + 1/2 A^2, A = sum_i K_i dY_i, dY_i = dW_i + 2 Re<K_i> dt."""
    dY = dW + 2.0 * c.mean_kappa * dt
    kappa_dag = None if c.hermitian else c.kappa.adjoint()

    def measure(v):
        k_v = c.kappa.apply(v)  # (m, d): K_i v
        a_v = small_dot(dY, k_v)  # A v
        aa_v = small_dot(dY, c.kappa.apply(a_v))  # A^2 v
        kk_v = c.kappa.apply_each(k_v)  # K_i^2 v
        if kappa_dag is not None:
            kk_v = 0.5 * (kk_v + kappa_dag.apply_each(k_v))
        return v - dt * small_sum(kk_v) + a_v + 0.5 * aa_v

    return measure


def excess_channel(rho: Complex[Array, "d d"], excess, dt) -> Complex[Array, "d d"]:
    """The CPTP map exp(dt sum_k rates_k D[ops_k]) (the decoherence beyond saturation), ``excess``
    a ``Channels``. Rates are used as given: a negative one (not completely positive, refused before
    and along a run by ``consistency``) is not clipped. Diagonal operators: exact, elementwise; dense:
    see ``DenseOperator.channel``."""
    return excess.ops.channel(excess.rates, rho, dt)
