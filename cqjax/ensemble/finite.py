"""The jump unravelling of a finite classical state space (seed 003 eq. 14 with z discrete; J.
Oppenheim, "A postquantum theory of classical gravity?"): a trajectory carries a state index z
and a pure state psi. Each source z has channels J_c = sqrt(mu_k) sum_a U_ak L_a from the
eigen-decomposition W^ab(z'|z) = sum_k mu_k U_ak conj(U_bk) (lam added for z' = z), each with its
target z'. Between jumps psi follows exp(-i H_eff(z) t), H_eff = H(z) - i/2 sum_c J_c^dag J_c,
unnormalised; the jump comes when |psi|^2 falls below a uniform threshold (the waiting-time
method), then a channel c with probability |J_c psi|^2 / sum, psi -> J_c psi, z -> target_c.
The jump time is resolved to the step (weak error O(dt)); at most one jump per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InputError
from ..models.finite import (
    AbstractFiniteModel,
    check_finite_positivity,
    expm,
    finite_data,
    finite_observable,
    initial_probabilities,
)
from ._keys import trajectory_key


@dataclass
class FiniteEnsembleResult:
    """Saved times and, per observable, the ensemble mean and its standard error (T,)."""

    t: np.ndarray
    mean: dict[str, np.ndarray]
    sem: dict[str, np.ndarray]
    trajectories: int


def jump_channels(model: AbstractFiniteModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(J (K, C, d, d), targets (C,), exp(-i H_eff dt) is built from these): channels out of each
    source state, C = K A (channels of zero rate are kept, with J = 0)."""
    data = finite_data(model)
    L, W = data["L"], data["W"]
    K, A, d = W.shape[0], L.shape[0], L.shape[-1]
    J = np.zeros((K, K * A, d, d), complex)
    for src in range(K):
        for dst in range(K):
            mu, U = np.linalg.eigh(0.5 * (W[dst, src] + W[dst, src].conj().T))
            mu = np.clip(mu, 0.0, None)  # rounding only: check_finite_positivity refused real deficits
            J[src, dst * A : (dst + 1) * A] = np.sqrt(mu)[:, None, None] * np.einsum("ak,aij->kij", U, L)
    return J, np.repeat(np.arange(K), A), data["H"]


def _propagators(model: AbstractFiniteModel, dt: float) -> tuple[np.ndarray, ...]:
    """exp(-i H_eff(z) dt) and over dt / 2 per state, the channels and their targets."""
    J, targets, H = jump_channels(model)
    gamma = np.einsum("zcji,zcjk->zik", J.conj(), J)
    U = np.stack([expm(-1j * (H[z] - 0.5j * gamma[z]) * dt) for z in range(H.shape[0])])
    Uh = np.stack([expm(-0.5j * (H[z] - 0.5j * gamma[z]) * dt) for z in range(H.shape[0])])
    return U, Uh, J, targets


def _trajectory(arrays: tuple[jax.Array, ...], key: jax.Array, n_saves: int, per_save: int) -> jax.Array:
    """One trajectory's observables at the saved times (n_saves + 1, k): z0 drawn from p0 with
    the trajectory's key, then the waiting-time jump steps. ``arrays``: the propagators U, Uh
    (K, d, d), the channels J (K, C, d, d), their targets (C,), the observables' factors on z
    (k, K) and on psi (k, d, d), p0 (K,), psi0 (d,)."""
    U, Uh, J, targets, ops_z, ops, p0, psi0 = arrays
    k_z0, k_u0, key = jax.random.split(key, 3)
    z0 = jax.random.categorical(k_z0, jnp.log(p0))

    def record(z, psi):
        psi = psi / jnp.linalg.norm(psi)
        return ops_z[:, z] * jnp.real(jnp.einsum("i,kij,j->k", jnp.conj(psi), ops, psi))

    def step(state, k):
        z, psi, u = state
        end = U[z] @ psi
        k1, k2 = jax.random.split(jax.random.fold_in(key, k))
        jumped = jnp.real(jnp.vdot(end, end)) < u
        # a jump in this step is applied at its midpoint (the crossing time is about uniform in
        # the step: the O(dt) delay cancels to second order), then the new state runs the rest
        cand = jnp.einsum("cij,j->ci", J[z], Uh[z] @ psi)
        c = jax.random.categorical(k1, jnp.log(jnp.sum(jnp.abs(cand) ** 2, axis=-1)))
        target = targets[c]
        after = Uh[target] @ (cand[c] / jnp.linalg.norm(cand[c]))
        psi = jnp.where(jumped, after, end)
        z = jnp.where(jumped, target, z)
        u = jnp.where(jumped, jax.random.uniform(k2, dtype=u.dtype), u)
        return (z, psi, u), None

    def save(state, i):
        state, _ = jax.lax.scan(step, state, i * per_save + jnp.arange(per_save))
        return state, record(state[0], state[1])

    state = (z0, psi0, jax.random.uniform(k_u0, dtype=jnp.float64))
    _, rest = jax.lax.scan(save, state, jnp.arange(n_saves))
    return jnp.concatenate([record(z0, psi0)[None], rest])


_CHUNK = 2**14


@partial(jax.jit, static_argnums=(2, 3))
def _batch(arrays: tuple[jax.Array, ...], keys: jax.Array, n_saves: int, per_save: int) -> jax.Array:
    """The trajectories of ``keys`` (compiled once per shape: the model's arrays are arguments)."""
    return jax.vmap(lambda k: _trajectory(arrays, k, n_saves, per_save))(keys)


def run_finite(
    model: AbstractFiniteModel,
    z0,
    psi0,
    *,
    t1: float,
    dt: float,
    n_saves: int,
    trajectories: int,
    observables: tuple[str, ...],
    seed: int = 0,
) -> FiniteEnsembleResult:
    """The jump unravelling of a finite model from p0(z) |psi0><psi0| (``z0``: a state index or
    probabilities (K,)); trajectory i uses ``trajectory_key(key(seed), i)``. float64 only."""
    if not jax.config.read("jax_enable_x64"):
        raise InputError("precision", "finite classical state spaces run in float64 (enable jax_enable_x64)")
    check_finite_positivity(model)
    n_steps = round(t1 / dt)
    if not (dt > 0 and t1 > 0 and abs(n_steps * dt - t1) <= 1e-9 * t1 and n_saves >= 1 and n_steps % n_saves == 0):
        raise InputError(
            "t1", f"{t1} must be a whole number of steps dt = {dt}, and of n_saves = {n_saves}", refs=("dt", "n_saves")
        )
    if trajectories < 2:
        raise InputError("trajectories", f"need at least 2 for a standard error, got {trajectories}")
    U, Uh, J, targets = _propagators(model, dt)
    K, d = U.shape[0], U.shape[-1]
    p0 = jnp.asarray(initial_probabilities(z0, K))
    psi0 = np.asarray(psi0, complex)
    if psi0.shape != (d,) or not np.linalg.norm(psi0) > 0:
        raise ValueError(f"state0: the jump unravelling carries a state vector of shape ({d},), got {psi0.shape}")
    obs = [finite_observable(name, model) for name in observables]
    f_obs = jnp.asarray(np.stack([f for f, _ in obs]))
    o_obs = jnp.asarray(np.stack([o for _, o in obs]))
    arrays = tuple(jnp.asarray(a) for a in (U, Uh, J, targets, f_obs, o_obs, p0, psi0 / np.linalg.norm(psi0)))
    root = jax.random.key(seed)
    chunk = min(_CHUNK, trajectories)

    def values(start: int) -> np.ndarray:
        """The observables (B, T, k) of trajectories start, start + 1, ... (at most ``chunk``)."""
        keys = jax.vmap(lambda i: trajectory_key(root, i))(jnp.arange(start, start + chunk))
        return np.asarray(_batch(arrays, keys, n_saves, n_steps // n_saves), np.float64)[: trajectories - start]

    first = values(0)
    shift = first[0]  # sums about the first trajectory: a quantity every trajectory shares is exact
    total, squares = np.zeros_like(shift), np.zeros_like(shift)
    for start in range(0, trajectories, chunk):  # one compiled shape: the last chunk is padded
        batch = first if start == 0 else values(start)
        total += (batch - shift).sum(0)
        squares += ((batch - shift) ** 2).sum(0)
    mean = total / trajectories
    var = np.clip(squares / trajectories - mean**2, 0.0, None) * trajectories / (trajectories - 1)
    mean, sem = shift + mean, np.sqrt(var / trajectories)
    t = np.arange(n_saves + 1) * (t1 / n_saves)
    return FiniteEnsembleResult(
        t=t,
        mean={n: mean[:, j] for j, n in enumerate(observables)},
        sem={n: sem[:, j] for j, n in enumerate(observables)},
        trajectories=trajectories,
    )
