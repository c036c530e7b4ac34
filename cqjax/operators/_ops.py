"""Array-level operator arithmetic shared by the trajectory dynamics and the master equation.

The dynamics uses these through the operator types of ``_operator.py``; the master equation
(``cqjax/master/lattice.py``) applies ``dissipator`` and ``sandwich_ops`` to whole grids of
cells, where a diagonal operator is told apart by its rank against the density matrices'.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array


def expect_dense(op: Array, psi: Array) -> Array:
    """<psi| op |psi> / <psi|psi> (or Tr(op rho) / Tr rho) for a dense operator (any norm)."""
    if psi.ndim == 2:
        return jnp.real(jnp.einsum("ij,ji->", op, psi)) / jnp.real(jnp.trace(psi))
    num = jnp.real(jnp.einsum("i,ij,j->", jnp.conj(psi), op, psi))
    return num / jnp.real(jnp.vdot(psi, psi))


def is_mixed(state: Array) -> bool:
    """True for a density matrix (d, d), False for a state vector (d,)."""
    return state.ndim == 2


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
