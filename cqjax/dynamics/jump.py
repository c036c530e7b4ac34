"""The jump unravelling of a jump model and its step (seed 003 sec. IV).

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".

The equations in one notation: the Physics page of the documentation (docs/physics.md, "Unravellings").
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import Array

from .._threefry import categorical, fold_in, normal, split, uniform  # jax.random's numbers, fused
from ..errors import InputError
from ..models._base import AbstractJumpModel, representation
from ..models._generator import extra_channels, generator
from ..operators._operator import AbstractMatrixOperator, norm_squared, small_sum
from ._coefficients import ClassicalNoiseCoefficients
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
    weighted: ClassVar[bool] = False

    def noise_dim(self, model, z):
        return classical_noise_dim(model, z)

    def make_step(self, model, solver, dt):
        return jump_step(model, self, dt)

    def make_draw(self, key, m, dtype, noise="gaussian"):  # one key per step: counts, picks and classical noise
        if check_noise(noise) != "gaussian":  # the step draws its own Wiener increments from its key
            raise InputError(
                "noise",
                f"the jump unravelling draws Gaussian classical noise inside its step; use 'gaussian', got {noise!r}",
            )
        return lambda b, length: split(fold_in(key, b), length)

    def coefficients(self, model, z, psi):
        gen = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        return ClassicalNoiseCoefficients(drift=gen.drift, h=representation(model).from_array(gen.h), sigma=sigma)


MAX_JUMPS_PER_STEP = 64  # a guard only: P(more) < 1e-80 for rate * dt <= 1


def poisson_inverse(key, mean) -> Array:
    """A Poisson(mean) count by inversion of the CDF with one uniform (exact up to rounding).

    Cheaper under vmap than ``jax.random.poisson``, whose rejection branch for large means is
    evaluated for every trajectory; the loop runs ~mean + 1 times. A uniform above the rounded
    CDF (probability ~ machine epsilon) stops where the terms vanish, not at the cap.
    """
    u = uniform(key, dtype=mean.dtype)
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


def channels(model: AbstractJumpModel, z: Array) -> tuple[AbstractMatrixOperator, Array]:
    """Every channel a jump trajectory applies at z: ``(ops (stack of k), shifts (k, n))``.

    The model's jump channels L_k (shift z by shifts[k]) and its extra Lindblad channels
    r_k D[L_k] (``dissipators``) as jumps sqrt(r_k) L_k that leave z where it is. A negative
    rate has no jump unravelling: its square root is NaN, which the runner reports (and the
    complete-positivity check refuses before and along the run).
    """
    rep = representation(model)
    jops, shifts = model.jump_channels(z)
    ops = rep.from_array(jops, stack=True)
    extra = extra_channels(model, z)
    if extra is None:
        return ops, shifts.astype(z.dtype)
    rates, lmats = extra
    lops = rep.from_array(lmats, stack=True).scaled(jnp.sqrt(jnp.asarray(rates, z.dtype)))
    no_shift = jnp.zeros((lops.stack_len, z.shape[0]), z.dtype)
    return ops.stacked(lops), jnp.concatenate([shifts.astype(z.dtype), no_shift])


def no_jump(h: AbstractMatrixOperator, ops: AbstractMatrixOperator, psi: Array, dt) -> Array:
    """exp(-(i h + 1/2 sum_k L_k^dag L_k) dt) psi / |.|: the exact no-jump propagator."""
    psi = h.propagate(ops.ldagger_l(jnp.full(ops.stack_len, 0.5, jnp.real(psi).dtype)), psi, dt)
    return psi / jnp.sqrt(norm_squared(psi))


def jump_step(model: AbstractJumpModel, unravelling: Jump, dt):
    """(z, psi), key -> (z', psi'): Poisson-many Born-rule jumps, then drift, classical noise and
    the no-jump evolution (a Kraus step: the no-jump propagator and the jump operators are the
    exact Kraus operators of the channels over one step)."""
    m = unravelling.noise_dim(model, jnp.zeros(model.n_coords))
    sqdt = jnp.sqrt(dt)

    def born(z, psi):
        ops, shifts = channels(model, z)
        l_psi = ops.astype(psi.dtype).apply(psi)  # (k, d)
        return shifts, l_psi, norm_squared(l_psi)  # |L_k psi|^2

    def step(state, key):
        z, psi = state
        k_count, k_pick, k_noise = split(key, 3)
        *_, weights = born(z, psi)
        count = poisson_inverse(k_count, small_sum(weights) * dt)

        def jump(carry):  # a state with no jump rate left (all |L_k psi| = 0) takes no further jump
            i, z, psi = carry
            shifts, l_psi, w = born(z, psi)
            live = jnp.sum(w) > 0
            k = categorical(fold_in(k_pick, i), jnp.log(jnp.where(live, w, 1.0)))
            new_psi = l_psi[k] / jnp.sqrt(jnp.where(live, w[k], 1.0))
            return i + 1, jnp.where(live, z + shifts[k], z), jnp.where(live, new_psi, psi)

        _, z, psi = jax.lax.while_loop(lambda c: c[0] < count, jump, (jnp.zeros((), count.dtype), z, psi))
        c = unravelling.coefficients(model, z, psi)
        ops, _ = channels(model, z)
        dW = sqdt * normal(k_noise, (m,), z.dtype)
        return z + c.classical_increment(dW, dt), no_jump(c.h, ops.astype(psi.dtype), psi, dt)

    return step
