"""The quantum filter of a classical record and the exact likelihood of the discretely observed path.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics",
App. A (the classical increment in record form, eqs. A.11-A.13) and App. F (the healed dynamics
as continuous measurement of the back-reaction operators). The step is the engine's Kraus step
(P. Rouchon and J. F. Ralph, Phys. Rev. A 91, 012118 (2015)).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .._precision import cast_model, complex_dtype
from ..dynamics import Healed, Kraus
from ..models._base import AbstractAbsorbingModel, AbstractGeneralModel, AbstractJumpModel, AbstractModel
from ..models._generator import general_form
from ..models._time import is_time_dependent
from .gaussian import transition_loglik
from .jump_filter import MAX_JUMPS, jump_step

State = Complex[Array, " d"] | Complex[Array, "d d"]


def check_filterable(model: AbstractModel) -> None:
    """Refuse models whose records this filter does not describe: models with an absorbing rule (a
    stopped path) and time-dependent models. (A jump model's classical noise is refused on its
    record: ``check_record``.)"""
    name = type(model).__name__
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


def _step(model: AbstractModel):
    """One filter step: (state at t_k), (z_k, z_k+1, dt_k) -> (state at t_k+1, log p(z_k+1 | z_k))."""
    healed, kraus = Healed(), Kraus()

    def step(state, x):
        z, z_next, dt = x
        c = healed.coefficients(model, z, state)  # drift = D1C + <back-reaction>: the filtered mean
        loglik, dW = transition_loglik(z_next - z - c.drift * dt, c.sigma, dt)
        # dW = pinv(sigma)(dZ - drift dt); the step's innovation dY = dW + 2 Re<K> dt = pinv(sigma)(dZ - D1C dt)
        return kraus.quantum_update(state, c, dW, dt), (loglik, jnp.array(True))

    return step


def check_max_jumps(max_jumps) -> None:
    if not (isinstance(max_jumps, int) and not isinstance(max_jumps, bool) and max_jumps >= 1):
        raise ValueError(f"max_jumps: must be an integer >= 1, got {max_jumps!r}")


def jump_state0(z0: Float[Array, " n"], state0: State) -> Complex[Array, "d d"]:
    """A jump model's filter runs density matrices: indistinguishable channels (equal shifts, or
    extra Lindblad channels without a shift) leave a mixture of their branches."""
    state0 = jnp.asarray(state0).astype(complex_dtype(z0.dtype))
    if state0.ndim == 1:
        state0 = jnp.outer(state0, jnp.conj(state0))
    return state0 / jnp.real(jnp.trace(state0))


def check_record(model: AbstractModel, ts, zs, ok, max_jumps: int = MAX_JUMPS) -> None:
    """Raise ValueError naming the first step of a (concrete) record that the model cannot produce.
    Under a transformation (jit, vmap, grad) the record is traced: such a step gives log P = -inf."""
    if isinstance(ok, jax.core.Tracer) or isinstance(zs, jax.core.Tracer):
        return
    if bool(np.all(ok)):
        return
    ok = np.asarray(ok).reshape(-1, np.shape(ok)[-1])
    i, k = (int(a[0]) for a in np.nonzero(~ok))
    where = f"path {i}, " if ok.shape[0] > 1 else ""
    ts = np.asarray(ts)
    raise ValueError(
        f"filter: {where}step {k} (t = {ts[k]:.6g} -> {ts[k + 1]:.6g}): the increment is neither the no-jump "
        f"increment of {type(model).__name__} nor a jump of its channels that the filtered state allows: "
        f"the record is not a path of this model (or a step has more than max_jumps = {max_jumps} jumps)"
    )


def _cast(model, ts, zs):
    """(model, ts, zs) in the record's floating dtype (float64 for an integer record)."""
    zs = jnp.asarray(zs)
    dtype = zs.dtype if jnp.issubdtype(zs.dtype, jnp.floating) else jnp.float64
    return cast_model(model, dtype), jnp.asarray(ts, dtype), zs.astype(dtype)


def _filter(model, ts, zs, state0, keep_states: bool, max_jumps: int):
    """(states or None, loglik, ok (T-1,)): the scan behind ``filter``."""
    model, ts, zs = _cast(model, ts, zs)
    if isinstance(model, AbstractJumpModel):
        state0, step = jump_state0(zs[0], state0), jump_step(model, max_jumps)
    else:
        state0, step = filter_state0(model, zs[0], state0), _step(model)

    def scan_step(state, x):
        new, (loglik, ok) = step(state, x)
        return new, ((new, loglik, ok) if keep_states else (loglik, ok))

    _, out = jax.lax.scan(scan_step, state0, (zs[:-1], zs[1:], jnp.diff(ts)))
    if not keep_states:
        return None, jnp.sum(out[0]), out[1]
    states, logliks, ok = out
    return jnp.concatenate([state0[None], states]), jnp.sum(logliks), ok


_filter_jit = eqx.filter_jit(_filter)
_filter_paths_jit = eqx.filter_jit(
    lambda model, ts, zs, state0, keep, max_jumps: jax.vmap(lambda z: _filter(model, ts, z, state0, keep, max_jumps))(
        zs
    )
)


def filter(
    model: AbstractModel,
    ts: Float[Array, " T"],
    zs: Float[Array, "T n"],
    state0: State,
    *,
    keep_states: bool = True,
    max_jumps: int = MAX_JUMPS,
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

    A jump model (seed 003, J. Oppenheim, "A post-quantum theory of classical gravity?",
    arXiv:1811.03116, sec. IV, eqs. 68 and 77-80) is filtered with density matrices by the law of
    its jump unravelling's step (``jump_filter.jump_step``): an increment is the sum S of the
    shifts of the jumps in the step plus the drift {Z, h^00} dt, so the sequences of at most
    ``max_jumps`` jumps (channels L_k, shifts s_k; extra Lindblad channels as unshifted jumps)
    whose increment equals dZ (within 1e-5 of its scale) are the ones the record allows, and
        P(step) = sum_allowed exp(-W dt) (W dt)^n / n! prod_i Tr(A_i rho A_i^dag) / U_i-1,
        W = Tr(sum_k L_k^dag L_k rho),
    (Poisson count, Born picks; for one jump of channel k, r_k dt exp(-W dt) with r_k =
    Tr(L_k rho L_k^dag); for none, exp(-W dt)), then rho -> M0 [mixture of the allowed branches]
    M0^dag / Tr, M0 = exp(-(i H_I + 1/2 sum_k L_k^dag L_k) dt). On the simulation's paths the states
    are its states (pure) where the channels have distinct shifts; equal shifts mix the branches.
    Exact for the simulated step law when the total rate is state independent (``jump_qubit``);
    otherwise the rates of a mixed filtered state stand for the average over its pure components
    (an O(dt^2) per step difference). A concrete record with a step no allowed sequence explains is
    refused (ValueError naming the step); a traced one gets log P = -inf. The derivative is taken
    at a fixed classification: parameters that move the shifts are fixed by the jump sizes of a
    noise-free record (``fit`` refuses them). With classical noise sigma the residual of each
    sequence adds its Gaussian density on the noisy coordinates and the allowed sequences are mixed
    by it (no classification; allowed: within 37 standard deviations).
    """
    check_filterable(model)
    check_max_jumps(max_jumps)
    model, ts, zs = _cast(model, ts, zs)
    states, loglik, ok = _filter_jit(model, ts, zs, state0, keep_states, max_jumps)
    check_record(model, ts, zs, ok, max_jumps)
    return states, loglik


def filter_paths(
    model: AbstractModel,
    ts: Float[Array, " T"],
    zs: Float[Array, "N T n"],
    state0: State,
    *,
    keep_states: bool = True,
    max_jumps: int = MAX_JUMPS,
) -> tuple[Array | None, Float[Array, " N"]]:
    """``filter`` vmapped over N paths with common times and initial state: (states, loglik (N,))."""
    check_filterable(model)
    check_max_jumps(max_jumps)
    model, ts, zs = _cast(model, ts, zs)
    states, loglik, ok = _filter_paths_jit(model, ts, zs, state0, keep_states, max_jumps)
    check_record(model, ts, zs, ok, max_jumps)
    return states, loglik


def loglikelihood(model: AbstractModel, ts: Float[Array, " T"], zs: Float[Array, "N T n"], state0: State) -> Array:
    """The total log-likelihood of N independent paths (the states are not kept)."""
    return jnp.sum(filter_paths(model, ts, zs, state0, keep_states=False)[1])
