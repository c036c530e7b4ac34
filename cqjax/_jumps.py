"""One step of the jump unravelling (seed 003 sec. IV; ``Jump`` in ``_unravelling.py``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from ._model import AbstractJumpModel
from ._ops import apply
from ._unravelling import Jump

MAX_JUMPS_PER_STEP = 64  # a guard only: P(more) < 1e-80 for rate * dt <= 1


def poisson_inverse(key, mean) -> Array:
    """A Poisson(mean) count by inversion of the CDF with one uniform (exact up to rounding).

    Cheaper under vmap than ``jax.random.poisson``, whose rejection branch for large means is
    evaluated for every trajectory; the loop runs ~mean + 1 times. A uniform above the rounded
    CDF (probability ~ machine epsilon) stops where the terms vanish, not at the cap.
    """
    u = jax.random.uniform(key, dtype=mean.dtype)
    p0 = jnp.exp(-mean)

    def more(c):  # stop at u, or where the terms no longer change the CDF (u above its rounded sum)
        k, p, cdf = c
        exhausted = (k > mean) & (cdf + p == cdf)
        return (cdf < u) & (k < MAX_JUMPS_PER_STEP) & ~exhausted

    def next_term(c):
        k, p, cdf = c
        p = p * mean / (k + 1)
        return k + 1, p, cdf + p

    k, _, _ = jax.lax.while_loop(more, next_term, (jnp.zeros((), jnp.int32), p0, p0))
    return k


def jump_step(model: AbstractJumpModel, unravelling: Jump, dt, diagonal: bool):
    """(z, psi), key -> (z', psi'): Poisson-many Born-rule jumps, then drift and no-jump evolution."""

    def operators(z):
        ops, shifts = model.jump_channels(z)
        return (jnp.diagonal(ops, axis1=-2, axis2=-1) if diagonal and ops.ndim == 3 else ops), shifts

    def born(z, psi):
        ops, shifts = operators(z)
        l_psi = apply(ops.astype(psi.dtype), psi, diagonal)  # (k, d)
        return shifts, l_psi, jnp.sum(jnp.abs(l_psi) ** 2, axis=-1)  # |L_k psi|^2

    def step(state, key):
        z, psi = state
        k_count, k_pick = jax.random.split(key)
        *_, weights = born(z, psi)
        count = poisson_inverse(k_count, jnp.sum(weights) * dt)

        def jump(carry):
            i, z, psi = carry
            shifts, l_psi, w = born(z, psi)
            k = jax.random.categorical(jax.random.fold_in(k_pick, i), jnp.log(w))
            return i + 1, z + shifts[k].astype(z.dtype), l_psi[k] / jnp.sqrt(w[k])

        _, z, psi = jax.lax.while_loop(lambda c: c[0] < count, jump, (jnp.zeros((), count.dtype), z, psi))
        c = unravelling.coefficients(model, z, psi)
        ops, _ = operators(z)
        if diagonal:
            decay = 0.5 * jnp.sum(jnp.abs(ops) ** 2, axis=0)  # diagonal of 1/2 sum L^dag L
            psi = psi * jnp.exp(-dt * (1j * jnp.real(c.h) + decay))
        else:
            ldl = jnp.einsum("kji,kjl->il", jnp.conj(ops), ops)
            psi = jax.scipy.linalg.expm(-dt * (1j * c.h + 0.5 * ldl)) @ psi
        psi = psi / jnp.sqrt(jnp.real(jnp.vdot(psi, psi)))
        return z + dt * c.drift, psi

    return step
