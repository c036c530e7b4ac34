"""The quantum filter of a classical record and the exact likelihood of the discretely observed path.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics",
App. A (the classical increment in record form, eqs. A.11-A.13) and App. F (the healed dynamics
as continuous measurement of the back-reaction operators). The step is the engine's Kraus step
(P. Rouchon and J. F. Ralph, Phys. Rev. A 91, 012118 (2015)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._precision import cast_model, complex_dtype
from ..dynamics import Healed, Kraus
from ..models._base import AbstractAbsorbingModel, AbstractGeneralModel, AbstractJumpModel, AbstractModel
from ..models._generator import general_form
from ..models._time import is_time_dependent

State = Complex[Array, " d"] | Complex[Array, "d d"]


def check_filterable(model: AbstractModel) -> None:
    """Refuse models whose records this filter does not describe: jump models (their Poisson
    terms are not implemented), models with an absorbing rule (a stopped path) and time-dependent
    models."""
    name = type(model).__name__
    if isinstance(model, AbstractJumpModel):
        raise ValueError(
            f"filter: {name} is a jump model; the likelihood of jumps in a record (Poisson terms) is not implemented"
        )
    if isinstance(model, AbstractAbsorbingModel):
        raise ValueError(f"filter: {name} has an absorbing rule; the likelihood of a stopped path is not implemented")
    if is_time_dependent(model):
        raise ValueError(f"filter: {name} has time-dependent coefficients; the filter evaluates them at one time only")


def filter_state0(model: AbstractModel, z0: Float[Array, " n"], state0: State) -> State:
    """The filter's initial state, normalised, in the representation the model needs: a state
    vector becomes a density matrix when the model has decoherence channels beyond saturation
    (``dissipators``) or is in general form (its back-reaction may be non-Hermitian), since a
    pure-state step would drop them."""
    state0 = jnp.asarray(state0).astype(complex_dtype(z0.dtype))
    excess = jax.eval_shape(lambda z: general_form(model, z).rates, z0) is not None
    if state0.ndim == 1 and (excess or isinstance(model, AbstractGeneralModel)):
        state0 = jnp.outer(state0, jnp.conj(state0))
    if state0.ndim == 1:
        return state0 / jnp.linalg.norm(state0)
    return state0 / jnp.real(jnp.trace(state0))


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


def _step(model: AbstractModel):
    """One filter step: (state at t_k), (z_k, z_k+1, dt_k) -> (state at t_k+1, log p(z_k+1 | z_k))."""
    healed, kraus = Healed(), Kraus()

    def step(state, x):
        z, z_next, dt = x
        c = healed.coefficients(model, z, state)  # drift = D1C + <back-reaction>: the filtered mean
        loglik, dW = transition_loglik(z_next - z - c.drift * dt, c.sigma, dt)
        # dW = pinv(sigma)(dZ - drift dt); the step's innovation dY = dW + 2 Re<K> dt = pinv(sigma)(dZ - D1C dt)
        return kraus.quantum_update(state, c, dW, dt), loglik

    return step


def filter(
    model: AbstractModel,
    ts: Float[Array, " T"],
    zs: Float[Array, "T n"],
    state0: State,
    *,
    keep_states: bool = True,
) -> tuple[Array | None, Float[Array, ""]]:
    """The quantum state conditioned on one observed classical path, and the path's log-likelihood.

    For the healed (general continuous) dynamics, seed 004 eqs. (7)-(8) and (11)-(12), the state
    at t_k+1 is a function of the path: the record increment dY = pinv(sigma) (dZ - D1C dt) (App.
    A, eqs. A.11-A.13; App. F: continuous measurement of K_i = pinv(sigma)_ij G_j) drives the Kraus
    step the trajectories take, so on a path that the simulation produced the filter reproduces its
    states. The log-likelihood of the discretely observed path (conditioned on z at ts[0]) is the sum
    of the Gaussian transition densities dZ_k ~ N((D1C + <G + G^dag>_k) dt_k, sigma sigma^T dt_k),
    with the back-reaction averaged in the filtered state (``transition_loglik``: on the noisy
    directions). Returns ``(states (T, ...), loglik)``; ``keep_states=False`` returns ``(None, loglik)``
    without storing the states. Pure, jit-able, differentiable in the model's parameters and
    ``state0``; vmap it (or use ``filter_paths``) over paths.
    """
    check_filterable(model)
    zs = jnp.asarray(zs)
    dtype = zs.dtype if jnp.issubdtype(zs.dtype, jnp.floating) else jnp.float64
    zs = zs.astype(dtype)
    ts = jnp.asarray(ts, dtype)
    model = cast_model(model, dtype)
    state0 = filter_state0(model, zs[0], state0)
    step = _step(model)

    def scan_step(state, x):
        new, loglik = step(state, x)
        return new, (new, loglik) if keep_states else loglik

    _, out = jax.lax.scan(scan_step, state0, (zs[:-1], zs[1:], jnp.diff(ts)))
    if not keep_states:
        return None, jnp.sum(out)
    states, logliks = out
    return jnp.concatenate([state0[None], states]), jnp.sum(logliks)


def filter_paths(
    model: AbstractModel, ts: Float[Array, " T"], zs: Float[Array, "N T n"], state0: State, *, keep_states: bool = True
) -> tuple[Array | None, Float[Array, " N"]]:
    """``filter`` vmapped over N paths with common times and initial state: (states, loglik (N,))."""
    return jax.vmap(lambda z: filter(model, ts, z, state0, keep_states=keep_states))(jnp.asarray(zs))


def loglikelihood(model: AbstractModel, ts: Float[Array, " T"], zs: Float[Array, "N T n"], state0: State) -> Array:
    """The total log-likelihood of N independent paths (the states are not kept)."""
    return jnp.sum(filter_paths(model, ts, zs, state0, keep_states=False)[1])
