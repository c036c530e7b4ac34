"""Array-level operator arithmetic shared by the trajectory dynamics and the master equation.

The dynamics uses these through the operator types of ``_operator.py``; the master equation
(``cqjax/master/lattice.py``) applies ``dissipator`` and ``sandwich_ops`` to whole grids of
cells, where a diagonal operator is told apart by its rank against the density matrices'.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact

# Taylor degree m for substeps of 1-norm <= 1: the remainder e ||A||^(m+1) / (m+1)! is below the
# unit roundoff (2.2e-17 for m = 18 against 1.1e-16 in double; 5.7e-9 for m = 11 against 6e-8 in single)
_TAYLOR_DEGREE = {8: 18, 4: 11}


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


def expm_multiply(a: Complex[Array, "d d"], v: Complex[Array, " d"]) -> Complex[Array, " d"]:
    """exp(a) v without forming exp(a): s = ceil(||a||_1) substeps, each the Taylor polynomial of
    degree m (18 in double, 11 in single precision) of exp(a / s) applied to the vector, so the
    truncation error stays below the unit roundoff (A. H. Al-Mohy and N. J. Higham, "Computing
    the action of the matrix exponential, with an application to exponential integrators", SIAM
    J. Sci. Comput. 33 (2011), Sec. 3). m s matrix-vector products instead of the d^3 products
    of ``expm``'s scaling and squaring: a vmapped step with one small matrix per trajectory
    computes only what it applies. Not reverse-differentiable when s varies (a while loop)."""
    m = _TAYLOR_DEGREE[jnp.finfo(v.dtype).bits // 8]
    s = jnp.maximum(jnp.ceil(jnp.max(jnp.sum(jnp.abs(a), axis=0))), 1.0)
    b = a / s.astype(a.dtype)

    def substep(_, w):
        term, out = w, w
        for k in range(1, m + 1):  # b @ term as a product and a sum: XLA's CPU dot is slow for one small vector
            term = jnp.sum(b * term[None, :], axis=1) / k
            out = out + term
        return out

    return jax.lax.fori_loop(0, s.astype(jnp.int32), substep, v)
