"""The time loop: one step, the noise it consumes, and the nested ``lax.scan`` over time.

One trajectory's step is written unbatched. The same loop runs a single trajectory
(``simulate``) or a vmapped batch (the ensemble runner), so both see bit-for-bit the same noise.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..models._base import AbstractAbsorbingModel, AbstractModel
from ..models._time import at_time, is_time_dependent
from ._time import TimeGrid


def has_boundary(model: AbstractModel) -> bool:
    """Whether the model defines an absorbing rule (``inside``)."""
    return isinstance(model, AbstractAbsorbingModel)


def make_step(model: AbstractModel, unravelling: AbstractUnravelling, solver: AbstractSolver, dt):
    """One step (z, state), noise, t -> (z', state') for one trajectory from time t (since the
    start of the run): the unravelling's own step of the model (a time-dependent model at its
    start time + t: every coefficient at the step's left end, as the clock form has it) and, with
    an absorbing rule, a trajectory whose point is outside the model's domain keeps its state (it
    is stopped)."""
    timed = is_time_dependent(model)
    fixed = None if timed else unravelling.make_step(model, solver, dt)

    def step(state, noise, t):
        if not timed:
            return fixed(state, noise)
        return unravelling.make_step(at_time(model, jnp.asarray(t, state[0].dtype)), solver, dt)(state, noise)

    if not has_boundary(model):
        return step

    def stopping_step(state, noise, t):
        new = step(state, noise, t)
        live = at_time(model, jnp.asarray(t, state[0].dtype)).inside(state[0])
        return jax.tree.map(lambda a, b: jnp.where(live, a, b), new, state)

    return stopping_step


def time_loop(step: Callable, draw: Callable, state, grid: TimeGrid, record: Callable, on_save: Callable | None = None):
    """Nested scan: save points outer, noise blocks, then steps. Returns (final, records).

    ``draw(block_index, block_len)`` gives the block's standard normals with the step axis
    first; ``step(state, noise, t)`` advances from time t = step index x dt; ``record(state, t)``
    is what is kept at each save point (including t = 0); ``on_save(i)`` (optional, traced) runs
    after save block i (the runner's progress).
    """
    block = grid.block
    blocks_per_save = grid.steps_per_save // block

    def run_block(state, b):
        xi = draw(b, block)
        ts = (b * block + jnp.arange(block)) * grid.dt
        state, _ = jax.lax.scan(lambda s, x: (step(s, *x), None), state, (xi, ts))
        return state, None

    def run_save(state, i):
        blocks = i * blocks_per_save + jnp.arange(blocks_per_save)
        state, _ = jax.lax.scan(run_block, state, blocks)
        out = record(state, (i + 1) * (grid.steps_per_save * grid.dt))
        if on_save is not None:
            on_save(i)
        return state, out

    first = record(state, 0.0)
    final, rest = jax.lax.scan(run_save, state, jnp.arange(grid.n_saves))
    records = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
    return final, records
