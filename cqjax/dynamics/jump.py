"""The jump unravelling of a jump model and its step (seed 003 sec. IV).

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".

The equations in one notation: the Physics page of the documentation (docs/physics.md, "Unravellings").
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import Array

from ..models._base import AbstractJumpModel, is_diagonal
from ..models._generator import extra_channels, generator
from ..operators._ops import apply
from ._coefficients import StepCoefficients
from ._noise import check_noise
from ._unravelling import AbstractUnravelling, classical_noise_dim


class Jump(AbstractUnravelling):
    """Jump unravelling of a jump model's master equation (seed 003 sec. II-IV, eqs. 77-82).

    Between jumps: dZ = {Z, h^00} dt + sigma dW (h^00 the purely classical part of H, seed 003
    eq. 18; sigma the model's classical noise) and the no-jump evolution
    psi -> exp(-(i H_I + 1/2 sum_k L_k^dag L_k) dt) psi / |.|. The channels L_k are the model's
    jump channels and its extra Lindblad channels r_k D[L_k] as jumps sqrt(r_k) L_k without a
    shift. In each step the number of jumps is drawn from the Poisson law of mean
    <sum_k L_k^dag L_k> dt; each jump picks channel k with the Born probability
    |L_k psi|^2 / sum_j |L_j psi|^2, maps psi -> L_k psi / |L_k psi| and shifts Z by the
    channel's shift. When the total rate is state independent (as for ``jump_qubit``) the number
    of jumps in [0, t] is exactly Poisson, with no bias of order dt. Pure states only; the step
    is its own (Kraus) solver.
    """

    name: ClassVar[str] = "jump"
    stochastic: ClassVar[bool] = True

    def noise_dim(self, model, z):
        return classical_noise_dim(model, z)

    def make_step(self, model, solver, dt):
        return jump_step(model, self, dt, is_diagonal(model))

    def make_draw(self, key, m, dtype, noise="gaussian"):  # one key per step: counts, picks and classical noise
        if check_noise(noise) != "gaussian":  # the step draws its own Wiener increments from its key
            raise ValueError(
                f"run.noise: the jump unravelling draws Gaussian classical noise inside its step; "
                f"use 'gaussian', got {noise!r}"
            )
        return lambda b, length: jax.random.split(jax.random.fold_in(key, b), length)

    def coefficients(self, model, z, psi):
        gen = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        return StepCoefficients(drift=gen.drift, h=gen.h, sigma=sigma, kappa=None, mean_kappa=None)


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


def channels(model: AbstractJumpModel, z: Array, diagonal: bool) -> tuple[Array, Array]:
    """Every channel a jump trajectory applies at z: ``(ops (k, ...), shifts (k, n))``.

    The model's jump channels L_k (shift z by shifts[k]) and its extra Lindblad channels
    r_k D[L_k] (``dissipators``) as jumps sqrt(r_k) L_k that leave z where it is. A negative
    rate has no jump unravelling: its square root is NaN, which the runner reports (and the
    complete-positivity check refuses before and along the run).
    """
    ops, shifts = model.jump_channels(z)
    ops = jnp.diagonal(ops, axis1=-2, axis2=-1) if diagonal and ops.ndim == 3 else ops
    extra = extra_channels(model, z)
    if extra is None:
        return ops, shifts.astype(z.dtype)
    rates, lops = extra
    lops = jnp.diagonal(lops, axis1=-2, axis2=-1) if diagonal and lops.ndim == 3 else lops
    root = jnp.sqrt(jnp.asarray(rates, z.dtype)).reshape((-1,) + (1,) * (lops.ndim - 1))
    cdtype = jnp.result_type(ops.dtype, lops.dtype)
    ops = jnp.concatenate([ops.astype(cdtype), (root * lops).astype(cdtype)])
    return ops, jnp.concatenate([shifts.astype(z.dtype), jnp.zeros((lops.shape[0], z.shape[0]), z.dtype)])


def no_jump(h: Array, ops: Array, psi: Array, dt, diagonal: bool) -> Array:
    """exp(-(i h + 1/2 sum_k L_k^dag L_k) dt) psi / |.|: the exact no-jump propagator."""
    if diagonal:
        decay = 0.5 * jnp.sum(jnp.abs(ops) ** 2, axis=0)  # diagonal of 1/2 sum L^dag L
        psi = psi * jnp.exp(-dt * (1j * jnp.real(h) + decay))
    else:
        ldl = jnp.einsum("kji,kjl->il", jnp.conj(ops), ops)
        psi = jax.scipy.linalg.expm(-dt * (1j * h + 0.5 * ldl)) @ psi
    return psi / jnp.sqrt(jnp.real(jnp.vdot(psi, psi)))


def jump_step(model: AbstractJumpModel, unravelling: Jump, dt, diagonal: bool):
    """(z, psi), key -> (z', psi'): Poisson-many Born-rule jumps, then drift, classical noise and
    the no-jump evolution (a Kraus step: the no-jump propagator and the jump operators are the
    exact Kraus operators of the channels over one step)."""
    m = unravelling.noise_dim(model, jnp.zeros(model.n_coords))
    sqdt = jnp.sqrt(dt)

    def born(z, psi):
        ops, shifts = channels(model, z, diagonal)
        l_psi = apply(ops.astype(psi.dtype), psi, diagonal)  # (k, d)
        return shifts, l_psi, jnp.sum(jnp.abs(l_psi) ** 2, axis=-1)  # |L_k psi|^2

    def step(state, key):
        z, psi = state
        k_count, k_pick, k_noise = jax.random.split(key, 3)
        *_, weights = born(z, psi)
        count = poisson_inverse(k_count, jnp.sum(weights) * dt)

        def jump(carry):  # a state with no jump rate left (all |L_k psi| = 0) takes no further jump
            i, z, psi = carry
            shifts, l_psi, w = born(z, psi)
            live = jnp.sum(w) > 0
            k = jax.random.categorical(jax.random.fold_in(k_pick, i), jnp.log(jnp.where(live, w, 1.0)))
            new_psi = l_psi[k] / jnp.sqrt(jnp.where(live, w[k], 1.0))
            return i + 1, jnp.where(live, z + shifts[k], z), jnp.where(live, new_psi, psi)

        _, z, psi = jax.lax.while_loop(lambda c: c[0] < count, jump, (jnp.zeros((), count.dtype), z, psi))
        c = unravelling.coefficients(model, z, psi)
        ops, _ = channels(model, z, diagonal)
        dW = sqdt * jax.random.normal(k_noise, (m,), z.dtype)
        return z + dt * c.drift + c.sigma @ dW, no_jump(c.h, ops.astype(psi.dtype), psi, dt, diagonal)

    return step
