"""The Gaussian transition density of a classical increment with noise sigma dW (the record's
diffusive part), shared by the diffusive and the jump filters."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def transition_loglik(r: Float[Array, " n"], sigma: Float[Array, "n m"], dt) -> tuple[Array, Array]:
    """(log density, w) of an increment residual r = dZ - mu dt ~ N(0, sigma sigma^T dt).

    The density is taken on the range of sigma (the noisy directions; sigma of full column rank m):
    log p = -|w|^2 / (2 dt) - m/2 log(2 pi dt) - 1/2 log det(sigma^T sigma), w = pinv(sigma) r,
    which is the Gaussian density with the pseudo-inverse and pseudo-determinant of sigma sigma^T.
    Directions without noise (dq = p/m dt) are deterministic and carry no density. A rank-deficient
    sigma gives NaN, never a finite wrong number.
    """
    w = jnp.linalg.pinv(sigma) @ r
    m = sigma.shape[1]
    sign, logdet = jnp.linalg.slogdet(sigma.T @ sigma)
    logdet = jnp.where(sign > 0, logdet, jnp.nan)
    return -0.5 * jnp.sum(w**2) / dt - 0.5 * m * jnp.log(2 * jnp.pi * dt) - 0.5 * logdet, w
