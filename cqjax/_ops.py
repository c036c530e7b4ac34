"""Operator arithmetic shared by the dense and the diagonal representations.

An operator is either a (d, d) matrix or, for models diagonal in the computational basis, the
(d,) vector of its diagonal. A stack of operators carries the stack axis first. The functions
here dispatch on ``diagonal`` (a static Python bool), so the hot loop of a diagonal model is
purely elementwise.
"""

from __future__ import annotations

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
    """<psi| op |psi> / <psi|psi> for a dense operator (observables; any psi norm)."""
    num = jnp.real(jnp.einsum("i,ij,j->", jnp.conj(psi), op, psi))
    return num / jnp.real(jnp.vdot(psi, psi))


def apply_each(ops: Array, vecs: Array, diagonal: bool) -> Array:
    """ops[i] |vecs[i]> for a stack of operators and a matching stack of vectors."""
    return ops * vecs if diagonal else jnp.einsum("mij,mj->mi", ops, vecs)
