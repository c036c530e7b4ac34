"""Array-level operator arithmetic shared by the trajectory dynamics and the master equation.

The dynamics uses these through the operator types of ``_operator.py``; the master equation
(``cqjax/master/lattice.py``) applies ``dissipator`` and ``sandwich_ops`` to whole grids of
cells, where a diagonal operator is told apart by its rank against the density matrices'.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Inexact


def expect_dense(op: Inexact[Array, "d d"], psi: Inexact[Array, " d"] | Inexact[Array, "d d"]) -> Float[Array, ""]:
    """<psi| op |psi> / <psi|psi> (or Tr(op rho) / Tr rho) for a dense operator (any norm)."""
    if psi.ndim == 2:
        return jnp.real(jnp.einsum("ij,ji->", op, psi)) / jnp.real(jnp.trace(psi))
    num = jnp.real(jnp.einsum("i,ij,j->", jnp.conj(psi), op, psi))
    return num / jnp.real(jnp.vdot(psi, psi))


def is_mixed(state: Inexact[Array, " d"] | Inexact[Array, "d d"]) -> bool:
    """True for a density matrix (d, d), False for a state vector (d,)."""
    return state.ndim == 2


def trace(rho: Inexact[Array, "d d"]) -> Float[Array, ""]:
    return jnp.real(jnp.trace(rho))


def hermitian_part(rho: Inexact[Array, "d d"]) -> Inexact[Array, "d d"]:
    return 0.5 * (rho + jnp.conj(rho.T))


def sandwich_ops(
    a: Inexact[Array, "*#a d d"] | Inexact[Array, "*#a d"],
    rho: Inexact[Array, "*#r d d"],
    b: Inexact[Array, "*#b d d"] | Inexact[Array, "*#b d"],
) -> Inexact[Array, "*#c d d"]:
    """a rho b^dag per cell, for dense (..., d, d) or diagonal (..., d) a and b."""
    if a.ndim == rho.ndim - 1:
        return a[..., :, None] * rho * jnp.conj(b)[..., None, :]
    return a @ rho @ jnp.conj(jnp.swapaxes(b, -1, -2))


def dissipator(
    L: Inexact[Array, "*#a d d"] | Inexact[Array, "*#a d"], rho: Inexact[Array, "*#r d d"]
) -> Inexact[Array, "*#c d d"]:
    """D[L] rho = L rho L^dag - 1/2 {L^dag L, rho}, broadcast over leading axes (cells, channels)."""
    if L.ndim == rho.ndim - 1:
        n = jnp.abs(L) ** 2
        return sandwich_ops(L, rho, L) - 0.5 * (n[..., :, None] + n[..., None, :]) * rho
    LdL = jnp.conj(jnp.swapaxes(L, -1, -2)) @ L
    return sandwich_ops(L, rho, L) - 0.5 * (LdL @ rho + rho @ LdL)
