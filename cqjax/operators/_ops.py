"""Operator arithmetic shared by the dense and the diagonal representations.

An operator is either a (d, d) matrix or, for models diagonal in the computational basis, the
(d,) vector of its diagonal. A stack of operators carries the stack axis first. The functions
here dispatch on ``diagonal`` (a static Python bool), so the hot loop of a diagonal model is
purely elementwise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array


def apply(op: Array, psi: Array, diagonal: bool) -> Array:
    """op |psi> for one operator, or a stack of them (leading axis) -> (..., d)."""
    return op * psi if diagonal else jnp.einsum("...ij,j->...i", op, psi)


def expect(op: Array, psi: Array, diagonal: bool) -> Array:
    """<psi| op |psi> (real part) for a normalised psi, for one operator or a stack."""
    if diagonal:
        return jnp.real(op) @ (jnp.real(psi) ** 2 + jnp.imag(psi) ** 2)
    return jnp.real(jnp.einsum("i,...ij,j->...", jnp.conj(psi), op, psi))


def combine(coeffs: Array, ops: Array) -> Array:
    """sum_i coeffs[..., i] ops[i]: a linear combination of a stack of operators."""
    return jnp.tensordot(coeffs, ops, axes=((-1,), (0,)))


def expect_dense(op: Array, psi: Array) -> Array:
    """<psi| op |psi> / <psi|psi> (or Tr(op rho) / Tr rho) for a dense operator (any norm)."""
    if psi.ndim == 2:
        return jnp.real(jnp.einsum("ij,ji->", op, psi)) / jnp.real(jnp.trace(psi))
    num = jnp.real(jnp.einsum("i,ij,j->", jnp.conj(psi), op, psi))
    return num / jnp.real(jnp.vdot(psi, psi))


def apply_each(ops: Array, vecs: Array, diagonal: bool) -> Array:
    """ops[i] |vecs[i]> for a stack of operators and a matching stack of vectors."""
    return ops * vecs if diagonal else jnp.einsum("mij,mj->mi", ops, vecs)


def is_mixed(state: Array) -> bool:
    """True for a density matrix (d, d), False for a state vector (d,)."""
    return state.ndim == 2


def expect_state(op: Array, state: Array, diagonal: bool) -> Array:
    """<op> (real part) in a normalised psi or rho, for one operator or a stack (leading axis)."""
    if not is_mixed(state):
        return expect(op, state, diagonal)
    if diagonal:
        return jnp.real(op) @ jnp.real(jnp.diagonal(state))
    return jnp.real(jnp.einsum("...ij,ji->...", op, state))


def expect_complex(op: Array, state: Array, diagonal: bool) -> Array:
    """<op> (complex) in a normalised psi or rho: Tr(op rho); op need not be Hermitian."""
    if is_mixed(state):
        return (op @ jnp.diagonal(state)) if diagonal else jnp.einsum("...ij,ji->...", op, state)
    if diagonal:
        return op @ (jnp.real(state) ** 2 + jnp.imag(state) ** 2)
    return jnp.einsum("i,...ij,j->...", jnp.conj(state), op, state)


def sandwich(linear, rho: Array) -> Array:
    """A rho A^dag for a linear map v -> A v given as a function on vectors."""
    left = jax.vmap(linear, in_axes=1, out_axes=1)(rho)  # A rho
    return jnp.conj(jax.vmap(linear, in_axes=1, out_axes=1)(jnp.conj(left.T))).T  # (A (A rho)^dag)^dag


def trace(rho: Array) -> Array:
    return jnp.real(jnp.trace(rho))


def hermitian_part(rho: Array) -> Array:
    return 0.5 * (rho + jnp.conj(rho.T))


def sandwich_ops(a: Array, rho: Array, b: Array) -> Array:
    """a rho b^dag per cell, for dense (..., d, d) or diagonal (..., d) a and b."""
    if a.ndim == rho.ndim - 1:
        return a[..., :, None] * rho * jnp.conj(b)[..., None, :]
    return a @ rho @ jnp.conj(jnp.swapaxes(b, -1, -2))


def dissipator(L: Array, rho: Array) -> Array:
    """D[L] rho = L rho L^dag - 1/2 {L^dag L, rho}, broadcast over leading axes (cells, channels)."""
    if L.ndim == rho.ndim - 1:
        n = jnp.abs(L) ** 2
        return sandwich_ops(L, rho, L) - 0.5 * (n[..., :, None] + n[..., None, :]) * rho
    LdL = jnp.conj(jnp.swapaxes(L, -1, -2)) @ L
    return sandwich_ops(L, rho, L) - 0.5 * (LdL @ rho + rho @ LdL)
