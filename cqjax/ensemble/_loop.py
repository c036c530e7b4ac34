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
from ._time import TimeGrid


def has_boundary(model: AbstractModel) -> bool:
    """Whether the model defines an absorbing rule (``inside``)."""
    return isinstance(model, AbstractAbsorbingModel)


def make_step(model: AbstractModel, unravelling: AbstractUnravelling, solver: AbstractSolver, dt):
    """One step (z, state), noise -> (z', state') for one trajectory: the unravelling's own step
    and, with an absorbing rule, a trajectory whose point is outside the model's domain keeps its
    state (it is stopped)."""
    step = unravelling.make_step(model, solver, dt)
    if not has_boundary(model):
        return step

    def stopping_step(state, noise):
        new = step(state, noise)
        live = model.inside(state[0])
        return jax.tree.map(lambda a, b: jnp.where(live, a, b), new, state)

    return stopping_step


def time_loop(
    step: Callable,
    draw: Callable,
    state,
    grid: TimeGrid,
    record: Callable,
    on_save: Callable | None = None,
    path: Callable | None = None,
    stride: int = 1,
):
    """Nested scan: save points outer, noise blocks, then steps. Returns (final, records), and with
    ``path`` (final, records, paths).

    ``draw(block_index, block_len)`` gives the block's standard normals with the step axis
    first; ``record(state)`` is what is kept at each save point (including t = 0); ``on_save(i)``
    (optional, traced) runs after save block i (the runner's progress). ``path(state)`` (optional)
    is kept after every ``stride``-th step and at t = 0 (``stride`` divides the steps per save): a
    buffer of the save interval's path points rides in the scan, each step writing its slot
    s // stride, so the last write to a slot is the state after its stride-th step.
    """
    block = grid.block
    blocks_per_save = grid.steps_per_save // block

    def one_step(carry, xs):
        if path is None:
            return step(carry, xs), None
        (state, buf), (x, s) = carry, xs
        state = step(state, x)
        buf = jax.tree.map(lambda b, v: jax.lax.dynamic_update_index_in_dim(b, v, s // stride, 0), buf, path(state))
        return (state, buf), None

    def run_block(carry, b):
        xi = draw(b, block)
        xs = xi if path is None else (xi, (b % blocks_per_save) * block + jnp.arange(block))
        carry, _ = jax.lax.scan(one_step, carry, xs)
        return carry, None

    def run_save(state, i):
        blocks = i * blocks_per_save + jnp.arange(blocks_per_save)
        if path is None:
            state, _ = jax.lax.scan(run_block, state, blocks)
            out = record(state)
        else:
            per_save = grid.steps_per_save // stride
            buf = jax.tree.map(lambda a: jnp.zeros((per_save, *a.shape), a.dtype), path(state))
            (state, buf), _ = jax.lax.scan(run_block, (state, buf), blocks)
            out = (record(state), buf)
        if on_save is not None:
            on_save(i)
        return state, out

    first = record(state)
    final, rest = jax.lax.scan(run_save, state, jnp.arange(grid.n_saves))
    if path is not None:
        rest, bufs = rest
    records = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
    if path is None:
        return final, records
    paths = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b.reshape(-1, *a.shape)]), path(state), bufs)
    return final, records, paths
