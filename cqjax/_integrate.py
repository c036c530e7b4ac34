"""The time loop: one step, the noise it consumes, and the nested ``lax.scan`` over time.

One trajectory's step is written unbatched. The same loop runs a single trajectory
(``simulate``) or a vmapped batch (the ensemble runner), so both see bit-for-bit the same noise:
trajectory i draws its increments from ``fold_in(fold_in(key, i), 1)`` and block b of its steps
from ``fold_in(that, b)``, whatever the batch it runs in.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from ._model import AbstractModel, is_diagonal
from ._jumps import jump_step
from ._solver import AbstractSolver
from ._unravelling import AbstractUnravelling, Jump, resolve_unravelling

__all__ = ["TimeGrid", "simulate", "Solution"]

_MAX_BLOCK = 64  # steps whose noise is drawn at once


class TimeGrid(eqx.Module):
    """Fixed steps: ``n_saves`` save intervals of ``steps_per_save`` steps of size ``dt``."""

    dt: float = eqx.field(static=True)
    n_saves: int = eqx.field(static=True)
    steps_per_save: int = eqx.field(static=True)

    @classmethod
    def make(cls, t1: float, dt: float, n_saves: int) -> "TimeGrid":
        """Validate t1, dt, n_saves: t1 must be a multiple of dt, and the steps of n_saves."""
        if not dt > 0:
            raise ValueError(f"run.dt: must be > 0, got {dt}")
        if not t1 > 0:
            raise ValueError(f"run.t1: must be > 0, got {t1}")
        n_steps = round(t1 / dt)
        if n_steps < 1 or abs(n_steps * dt - t1) > 1e-9 * max(t1, 1.0):
            raise ValueError(f"run.t1: {t1} is not a multiple of run.dt = {dt}")
        if n_saves < 1 or n_steps % n_saves:
            raise ValueError(
                f"run.n_saves: {n_saves} does not divide the number of steps t1/dt = {n_steps}"
            )
        return cls(dt=float(dt), n_saves=int(n_saves), steps_per_save=n_steps // n_saves)

    @property
    def n_steps(self) -> int:
        return self.n_saves * self.steps_per_save

    @property
    def block(self) -> int:
        """Steps per noise block: the largest divisor of steps_per_save up to _MAX_BLOCK.

        A block never spans two saves, so a steps_per_save with no divisor near _MAX_BLOCK
        (a prime, say) draws its noise in small blocks and runs slower.
        """
        return max(b for b in range(1, min(_MAX_BLOCK, self.steps_per_save) + 1)
                   if self.steps_per_save % b == 0)

    @property
    def ts(self) -> np.ndarray:
        """The saved times, t = 0 included."""
        return np.arange(self.n_saves + 1) * (self.steps_per_save * self.dt)


def trajectory_key(key: PRNGKeyArray, index) -> PRNGKeyArray:
    """The key of trajectory ``index``: independent of how trajectories are chunked."""
    return jax.random.fold_in(key, index)


def initial_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for sampling a trajectory's initial classical point."""
    return jax.random.fold_in(traj_key, 0)


def noise_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for a trajectory's Wiener increments."""
    return jax.random.fold_in(traj_key, 1)


def complex_dtype(dtype):
    """The complex dtype matching a real one."""
    return jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64


def has_boundary(model: AbstractModel) -> bool:
    """Whether the model defines an absorbing rule (``inside``)."""
    return type(model).inside is not AbstractModel.inside


def make_step(model: AbstractModel, unravelling: AbstractUnravelling, solver: AbstractSolver, dt):
    """One step (z, state), noise -> (z', state') for one trajectory.

    The noise is xi ~ N(0, I_m) for the diffusive unravellings and a PRNG key for jumps; the
    quantum state is a vector psi or a density matrix rho. With an absorbing rule a trajectory
    whose point is outside the model's domain keeps its state (it is stopped).
    """
    diagonal = is_diagonal(model)
    if isinstance(unravelling, Jump):
        step = jump_step(model, unravelling, dt, diagonal)
    else:
        sqdt = jnp.sqrt(dt)
        coefficients = lambda z, q: unravelling.coefficients(model, z, q)

        def step(state, xi):
            z, q = state
            dW = xi * sqdt if unravelling.stochastic else None
            return solver.step(coefficients, z, q, dW, dt, diagonal)

    if not has_boundary(model):
        return step

    def stopping_step(state, noise):
        new = step(state, noise)
        live = model.inside(state[0])
        return jax.tree.map(lambda a, b: jnp.where(live, a, b), new, state)

    return stopping_step


def make_draw(unravelling: AbstractUnravelling, nkey: PRNGKeyArray, m: int, dtype) -> Callable:
    """``draw(block_index, block_len)``: one trajectory's noise for a block, step axis first."""
    if isinstance(unravelling, Jump):
        return lambda b, length: jax.random.split(jax.random.fold_in(nkey, b), length)
    return lambda b, length: draw_normals(nkey, b, length, m, dtype)


def time_loop(step: Callable, draw: Callable, state, grid: TimeGrid, record: Callable):
    """Nested scan: save points outer, noise blocks, then steps. Returns (final, records).

    ``draw(block_index, block_len)`` gives the block's standard normals with the step axis
    first; ``record(state)`` is what is kept at each save point (including t = 0).
    """
    block = grid.block
    blocks_per_save = grid.steps_per_save // block

    def run_block(state, b):
        xi = draw(b, block)
        state, _ = jax.lax.scan(lambda s, x: (step(s, x), None), state, xi)
        return state, None

    def run_save(state, i):
        blocks = i * blocks_per_save + jnp.arange(blocks_per_save)
        state, _ = jax.lax.scan(run_block, state, blocks)
        return state, record(state)

    first = record(state)
    final, rest = jax.lax.scan(run_save, state, jnp.arange(grid.n_saves))
    records = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
    return final, records


def draw_normals(key: PRNGKeyArray, block_index, block_len: int, m: int, dtype) -> Array:
    """Standard normals (block_len, m) for block ``block_index`` of one trajectory."""
    return jax.random.normal(jax.random.fold_in(key, block_index), (block_len, m), dtype=dtype)


class Solution(eqx.Module):
    """One trajectory at the saved times: ``ts`` (T,), ``z`` (T, n), ``psi`` (T, d) -- or
    (T, d, d) density matrices for the mixed-state unravelling."""

    ts: Float[Array, " T"]
    z: Float[Array, "T n"]
    psi: Complex[Array, "T d"] | Complex[Array, "T d d"]


def cast_model(model: AbstractModel, dtype) -> AbstractModel:
    """Cast the model's floating-point parameters to the run's precision (differentiable)."""

    def cast(x):
        if eqx.is_inexact_array(x) and not jnp.iscomplexobj(x):
            return x.astype(dtype)
        if isinstance(x, float):
            return jnp.asarray(x, dtype)
        return x

    return jax.tree.map(cast, model)


def simulate(
    model: AbstractModel,
    z0: Float[Array, " n"],
    psi0: Complex[Array, " d"] | Complex[Array, "d d"],
    key: PRNGKeyArray,
    *,
    t1: float,
    dt: float,
    n_saves: int,
    unravelling: AbstractUnravelling,
    solver: AbstractSolver,
) -> Solution:
    """Integrate one trajectory of ``unravelling`` with ``solver`` from (z0, psi0).

    ``psi0`` is a state vector (pure-state unravelling) or a density matrix (the mixed-state
    unravelling, seed 004 eqs. 7-8). ``key`` is the trajectory's own key (``trajectory_key(run_key, i)`` reproduces trajectory i
    of an ensemble run). Pure and differentiable with respect to the model's parameters and the
    initial state; vmap it for batches.
    """
    grid = TimeGrid.make(t1, dt, n_saves)
    z0 = jnp.asarray(z0)
    if not jnp.issubdtype(z0.dtype, jnp.floating):
        raise ValueError(f"z0: expected a floating-point array, got dtype {z0.dtype}")
    dtype = z0.dtype
    model = cast_model(model, dtype)
    psi0 = jnp.asarray(psi0).astype(complex_dtype(dtype))
    psi0 = psi0 / (jnp.real(jnp.trace(psi0)) if psi0.ndim == 2 else jnp.linalg.norm(psi0))
    unravelling = resolve_unravelling(model, unravelling, solver.name)
    step = make_step(model, unravelling, solver, grid.dt)
    draw = make_draw(unravelling, noise_key(key), unravelling.noise_dim(model, z0), dtype)
    _, (zs, psis) = time_loop(step, draw, (z0, psi0), grid, lambda s: s)
    return Solution(ts=jnp.asarray(grid.ts, dtype), z=zs, psi=psis)
