"""Quantum-state arithmetic the solvers share: the Ito drift and diffusion of eqs. 8 / 12 of
seed 004, renormalisation, the Cayley transform of the unitary part and the exact channel of the
decoherence beyond saturation.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from ..operators._ops import (
    apply,
    apply_each,
    dissipator,
    hermitian_part,
    is_mixed,
    trace,
)
from ._coefficients import StepCoefficients


def normalise(state: Array) -> Array:
    if is_mixed(state):
        return hermitian_part(state) / trace(state)
    return state / jnp.sqrt(jnp.real(jnp.vdot(state, state)))


def adjoint_ops(ops: Array, diagonal: bool) -> Array:
    return jnp.conj(ops) if diagonal else jnp.conj(jnp.swapaxes(ops, -1, -2))


def _left(op: Array, rho: Array, diagonal: bool) -> Array:
    """op rho for one operator or a stack (leading axis)."""
    return op[..., :, None] * rho if diagonal else jnp.einsum("...ij,jk->...ik", op, rho)


def centred_diffusion(c: StepCoefficients, state: Array, diagonal: bool) -> Array:
    """b_i: (K_i - <K_i>) psi, or (K_i - <K_i>) rho + h.c. -- the quantum diffusion (m, ...)."""
    if not is_mixed(state):
        return apply(c.kappa, state, diagonal) - c.mean_kappa[:, None] * state
    x = _left(c.kappa, state, diagonal) - c.mean_kappa[:, None, None] * state
    return x + jnp.conj(jnp.swapaxes(x, -1, -2))


def _lindblad(ops: Array, rates: Array, rho: Array) -> Array:
    """sum_k rates_k D[ops_k] rho."""
    return jnp.tensordot(rates, dissipator(ops, rho[None]), axes=1)


def _ldagger_l(ops: Array, diagonal: bool) -> Array:
    return jnp.abs(ops) ** 2 if diagonal else jnp.einsum("kji,kjl->kil", jnp.conj(ops), ops)


def quantum_drift(c: StepCoefficients, state: Array, diagonal: bool) -> Array:
    """The Ito drift of the quantum state (eq. 8 / eq. 12; for non-Hermitian K the diffusive
    stochastic Schrodinger equation d psi = [-i h - 1/2 sum (K^dag K - 2 r K + r^2)] psi dt + ...,
    r = Re<K>)."""
    if not is_mixed(state):
        v = -1j * apply(c.h, state, diagonal)
        if c.kappa is not None:
            b = centred_diffusion(c, state, diagonal)  # (K - r) psi, r = Re<K>
            if c.hermitian:  # 1/2 (K - r)^2 psi
                kb = apply_each(c.kappa, b, diagonal) - c.mean_kappa[:, None] * b
            else:  # 1/2 (K^dag K - 2 r K + r^2) psi
                k_psi = apply(c.kappa, state, diagonal)
                r = c.mean_kappa[:, None]
                kb = apply_each(adjoint_ops(c.kappa, diagonal), k_psi, diagonal) - 2 * r * k_psi + r**2 * state
            v = v - 0.5 * jnp.sum(kb, axis=0)
        return v
    h_rho = _left(c.h, state, diagonal)
    out = -1j * (h_rho - jnp.conj(h_rho.T))
    if c.kappa is not None:
        out = out + _lindblad(c.kappa, jnp.ones(c.kappa.shape[0], jnp.real(state).dtype), state)
    if c.rates is not None:
        out = out + _lindblad(c.ops, c.rates, state)
    return out


def cayley(h: Array, psi: Array, dt, diagonal: bool) -> Array:
    """(I + i h dt/2)^-1 (I - i h dt/2) psi: unitary, exp(-i h dt) psi up to O(dt^3)."""
    if diagonal:  # real energies: (1 - ix) / (1 + ix) = ((1 - x^2) - 2ix) / (1 + x^2), x = h dt / 2
        x = 0.5 * dt * jnp.real(h)
        inv = 1.0 / (1.0 + x * x)
        return psi * jax.lax.complex((1.0 - x * x) * inv, -2.0 * x * inv)
    half = 0.5j * dt
    eye = jnp.eye(psi.shape[-1], dtype=psi.dtype)
    return jnp.linalg.solve(eye + half * h, psi - half * (h @ psi))


def excess_channel(rho: Array, rates: Array, ops: Array, dt, diagonal: bool) -> Array:
    """The CPTP map exp(dt sum_k rates_k D[ops_k]) (the decoherence beyond saturation).

    Rates are used as given: a negative one (not completely positive, refused before and along a
    run by ``consistency``) is not clipped.

    Diagonal operators: rho_ab -> rho_ab exp(dt sum_k r_k (l_a l_b^* - (|l_a|^2 + |l_b|^2) / 2)).
    Dense, d <= ``EXACT_CHANNEL_DIM``: the exponential of the d^2 x d^2 Lindblad superoperator.
    Both are exact. Larger d: the Kraus operators K_0 = I - dt/2 sum r L^dag L, K_k = sqrt(r dt) L,
    each multiplied by S^-1/2 with S = sum K^dag K: trace preserving at any dt, first order.
    """
    if diagonal:
        l = ops  # (k, d)
        gen = jnp.einsum("k,ka,kb->ab", rates, l, jnp.conj(l)) - 0.5 * (
            jnp.einsum("k,ka->a", rates, jnp.abs(l) ** 2)[:, None]
            + jnp.einsum("k,kb->b", rates, jnp.abs(l) ** 2)[None, :]
        )
        return rho * jnp.exp(dt * gen)
    d = rho.shape[-1]
    eye = jnp.eye(d, dtype=rho.dtype)
    ldl = jnp.einsum("k,kij->ij", rates, _ldagger_l(ops, False))
    if d <= EXACT_CHANNEL_DIM:  # row-major vec: vec(A rho B) = (A kron B^T) vec(rho)
        sup = jnp.einsum("k,kij,klm->iljm", rates, ops, jnp.conj(ops)).reshape(d * d, d * d)
        sup = sup - 0.5 * (jnp.kron(ldl, eye) + jnp.kron(eye, ldl.T))
        return (jax.scipy.linalg.expm(dt * sup) @ rho.reshape(-1)).reshape(d, d)
    k0 = eye - 0.5 * dt * ldl
    kraus = jnp.concatenate([k0[None], jnp.sqrt(rates * dt)[:, None, None] * ops], axis=0)
    s = jnp.einsum("kji,kjl->il", jnp.conj(kraus), kraus)
    w, v = jnp.linalg.eigh(s)
    s_inv_half = (v * (1.0 / jnp.sqrt(w))) @ jnp.conj(v.T)
    kraus = kraus @ s_inv_half
    return jnp.einsum("kij,jl,kml->im", kraus, rho, jnp.conj(kraus))


EXACT_CHANNEL_DIM = 8
