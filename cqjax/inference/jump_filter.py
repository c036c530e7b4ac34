"""The quantum filter and the exact path likelihood of a jump model's record (seed 003 sec. IV).

Seed 003: J. Oppenheim, "A post-quantum theory of classical gravity?", arXiv:1811.03116, sec. IV
(the jump unravelling, eqs. 68 and 77-82). The step law is the engine's jump unravelling
(``cqjax.dynamics.jump``): Poisson-many Born-rule jumps, then drift and the no-jump propagator.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ..models._base import AbstractJumpModel, is_diagonal
from ..models._generator import extra_channels, generator
from .gaussian import transition_loglik

MAX_JUMPS = 2  # jumps per observed step the likelihood sums over (K + K^2 + ... sequences)
RTOL = 1e-5  # an increment matches a jump sequence within RTOL of its scale: above float32 rounding (~1e-7)


def jump_channels_dense(model: AbstractJumpModel, z: Float[Array, " n"]) -> tuple[Array, Array]:
    """Every channel a jump trajectory applies at z, as dense matrices: ``(L (k, d, d), shifts (k, n))``:
    the jump channels and the extra Lindblad channels r D[L] as sqrt(r) L without a shift."""
    ops, shifts = model.jump_channels(z)
    ops = jnp.asarray(ops)
    ops = jax.vmap(jnp.diag)(ops) if ops.ndim == 2 else ops
    extra = extra_channels(model, z)
    if extra is None:
        return ops, jnp.asarray(shifts, z.dtype)
    rates, lmats = extra
    lmats = jax.vmap(jnp.diag)(lmats) if lmats.ndim == 2 else lmats
    lmats = jnp.sqrt(jnp.asarray(rates, z.dtype))[:, None, None] * lmats
    cdtype = jnp.result_type(ops.dtype, lmats.dtype)
    no_shift = jnp.zeros((lmats.shape[0], z.shape[0]), z.dtype)
    return jnp.concatenate([ops.astype(cdtype), lmats.astype(cdtype)]), jnp.concatenate([shifts, no_shift])


def _sequences(model: AbstractJumpModel, z, rho, dt, max_jumps: int):
    """All sequences of 0..max_jumps jumps from (z, rho): their probabilities under the simulation's
    step law, unnormalised branches A rho A^dag (A = L_kn ... L_k1) and classical points after them.

    P(k1..kn) = exp(-W dt) (W dt)^n / n! prod_i u_i / U_{i-1}, with W = Tr(sum_k L_k^dag L_k rho),
    u_i = Tr(A_i rho A_i^dag) (A_i the first i jumps, channels evaluated where the point is after
    them) and U_i = sum_k Tr(L_k A_i rho A_i^dag L_k^dag): the Poisson count, then Born picks."""
    zp, xp, pick = z[None], rho[None], jnp.ones((1,), z.dtype)
    zs, xs, picks, counts = [zp], [xp], [pick], [0]
    w0 = None
    for n in range(1, max_jumps + 1):
        ops, shifts = jax.vmap(lambda zz: jump_channels_dense(model, zz))(zp)  # (P, K, d, d), (P, K, n)
        ops = ops.astype(rho.dtype)
        x = jnp.einsum("pkij,pjl,pkml->pkim", ops, xp, jnp.conj(ops))
        u = jnp.real(jnp.einsum("pkii->pk", x))
        total = jnp.sum(u, axis=1, keepdims=True)  # U of each prefix
        w0 = total[0, 0] if w0 is None else w0
        live = total > 0  # a branch with no jump rate left takes no further jump
        child_pick = pick[:, None] * jnp.where(live, u / jnp.where(live, total, 1.0), 0.0)
        zp, xp, pick = (zp[:, None] + shifts).reshape(-1, z.shape[0]), x.reshape(-1, *rho.shape), child_pick.ravel()
        zs, xs, picks, counts = zs + [zp], xs + [xp], picks + [pick], counts + [n] * pick.shape[0]
    n_jumps = np.array(counts)
    mean = w0 * dt
    poisson = jnp.exp(
        -mean + n_jumps * jnp.log(jnp.where(mean > 0, mean, 1.0)) - np.array([math.lgamma(c + 1) for c in counts])
    )
    poisson = jnp.where((mean > 0) | (n_jumps == 0), poisson, 0.0)
    return poisson * jnp.concatenate(picks), jnp.concatenate(xs), jnp.concatenate(zs)


def no_jump(model: AbstractJumpModel, z: Float[Array, " n"], rho: Complex[Array, "d d"], dt) -> Complex[Array, "d d"]:
    """M0 rho M0^dag / Tr, M0 = exp(-(i H_I + 1/2 sum_k L_k^dag L_k) dt) at z: the no-jump evolution
    of the jump unravelling (elementwise for a diagonal model)."""
    h = generator(model, z).h
    ops, _ = jump_channels_dense(model, z)
    ldl = jnp.einsum("kji,kjl->il", jnp.conj(ops), ops)
    if is_diagonal(model):
        m0 = jnp.exp(-dt * (1j * h + 0.5 * jnp.real(jnp.diagonal(ldl)))).astype(rho.dtype)
        new = m0[:, None] * rho * jnp.conj(m0)[None, :]
    else:
        m0 = jax.scipy.linalg.expm(-dt * (1j * h + 0.5 * ldl).astype(rho.dtype))
        new = m0 @ rho @ jnp.conj(m0.T)
    return new / jnp.real(jnp.trace(new))


def _noise_density(model: AbstractJumpModel, z_post, residual, dt):
    """(log density of the residual's noisy part, whitened |w|^2 / dt, noisy coordinates) for one
    sequence: residual ~ N(0, sigma sigma^T dt) on the range of sigma(z_post) (``transition_loglik``;
    coordinates with a zero row of sigma are deterministic). Without noise: (0, 0, none)."""
    sigma = jnp.asarray(model.noise(z_post), z_post.dtype)
    noisy = jnp.any(sigma != 0, axis=1)
    has_noise = jnp.any(noisy)
    safe = jnp.where(has_noise, sigma, jnp.eye(sigma.shape[0], sigma.shape[1], dtype=sigma.dtype))
    logdens, w = transition_loglik(jnp.where(noisy, residual, 0.0), safe, dt)
    return jnp.where(has_noise, logdens, 0.0), jnp.where(has_noise, jnp.sum(w**2) / dt, 0.0), noisy


def jump_step(model: AbstractJumpModel, max_jumps: int = MAX_JUMPS, rtol: float = RTOL):
    """One filter step of a jump model: rho_k, (z_k, z_k+1, dt_k) -> rho_k+1, (log P(z_k+1 | z_k), ok).

    A sequence s of at most ``max_jumps`` jumps predicts dZ_s = S_s + {Z, h^00}(z + S_s) dt + sigma dW
    (S_s the sum of its shifts; drift and noise where the point is after them, as the simulation
    steps). It is allowed where the residual r_s = dZ - S_s - {Z, h^00} dt vanishes on the
    coordinates without noise (within ``rtol`` of the scale of z, dZ and S_s; ``RTOL``: a record
    stored in float32 passes) and lies within 37 standard deviations (a density above e^-700) on the
    noisy ones. The step's probability (density on the noisy coordinates) is
        P = sum_allowed P(s) N(r_s; 0, sigma sigma^T dt)        (``_sequences`` for P(s)),
    so channels with equal shifts, indistinguishable, are summed, and
    rho -> M0 [sum_s P(s) N_s A_s rho A_s^dag / u_s] / P M0^dag / Tr, M0 the no-jump propagator at
    the most probable z + S_s. ``ok`` is False where P = 0: the record is not a path of the model
    (log P = -inf, rho kept).
    """

    def step(rho, x):
        z, z_next, dt = x
        prob, branches, z_post = _sequences(model, z, rho, dt, max_jumps)
        drift = jax.vmap(lambda zz: generator(model, zz).drift)(z_post)
        residual = z_next - z_post - drift * dt
        logdens, chi2, noisy = jax.vmap(lambda zz, r: _noise_density(model, zz, r, dt))(z_post, residual)
        scale = jnp.abs(z) + jnp.abs(z_next) + jnp.abs(z_post - z) + jnp.abs(drift * dt)
        exact = jnp.all((jnp.abs(residual) <= rtol * scale) | noisy, axis=1)
        allowed = exact & (chi2 <= 1400.0) & (prob > 0)
        logw = jnp.where(allowed, jnp.log(jnp.where(allowed, prob, 1.0)) + logdens, -jnp.inf)
        loglik = jax.nn.logsumexp(logw)
        ok = loglik > -jnp.inf
        post = jnp.where(allowed, jnp.exp(logw - jnp.where(ok, loglik, 0.0)), 0.0)
        norms = jnp.real(jnp.einsum("sii->s", branches))
        coef = jnp.where(allowed, post / jnp.where(allowed, norms, 1.0), 0.0)
        jumped = jnp.where(ok, jnp.einsum("s,sij->ij", coef.astype(rho.dtype), branches), rho)
        new = no_jump(model, z_post[jnp.argmax(logw)], jumped, dt)
        return new, (loglik, ok | jnp.isnan(loglik))

    return step
