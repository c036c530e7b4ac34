"""The time loop: one step, the noise it consumes, and the nested ``lax.scan`` over time.

One trajectory's step is written unbatched. The same loop runs a single trajectory
(``simulate``) or a vmapped batch (the ensemble runner), so both see bit-for-bit the same noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..dynamics._quantum import normalise
from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..dynamics.kraus import Kraus
from ..models._base import AbstractAbsorbingModel, AbstractModel
from ..models._time import at_time, is_time_dependent
from ..operators._ops import is_mixed
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


def make_loop_step(model: AbstractModel, unravelling: AbstractUnravelling, solver: AbstractSolver, dt):
    """(step, view): the time loop's step and what a stored state is read as (``view``).

    Where the unravelling allows it (``lazy_normalisation``) and the solver is the Kraus step, the
    loop carries a pure state unnormalised: the step normalises psi at its start and leaves U M psi
    unnormalised (``Kraus(renormalise=False)``), and ``view`` normalises it wherever it is read (saves,
    paths, the final state). The states read equal ``make_step``'s up to rounding, for the same noise.
    Otherwise ``make_step`` as it is and ``view`` the identity. One trajectory, unbatched, like the step.
    """
    if not (unravelling.lazy_normalisation and isinstance(solver, Kraus) and solver.renormalise):
        return make_step(model, unravelling, solver, dt), lambda state: state
    inner = make_step(model, unravelling, Kraus(renormalise=False), dt)

    def view(state):
        z, q = state
        return z, q if is_mixed(q) else normalise(q)

    return (lambda state, noise, t: inner(view(state), noise, t)), view


def path_group(grid: TimeGrid, stride: int) -> int:
    """Steps between the points a path-keeping loop evaluates: gcd(noise block, stride), so that the
    path points at multiples of ``stride`` are among them; stride // group of them per kept point."""
    return math.gcd(grid.block, stride)


def time_loop(
    step: Callable,
    draw: Callable,
    state,
    grid: TimeGrid,
    record: Callable,
    on_save: Callable | None = None,
    path: Callable | None = None,
    stride: int = 1,
    view: Callable | None = None,
):
    """Nested scan: save points outer, noise blocks, then steps. Returns (final, records), and with
    ``path`` (final, records, paths).

    ``draw(block_index, block_len)`` gives the block's standard normals with the step axis
    first; ``step(state, noise, t)`` advances from time t = step index x dt; ``record(state, t)``
    is what is kept at each save point (including t = 0); ``on_save(i)`` (optional, traced) runs
    after save block i (the runner's progress). ``path(state)`` (optional) is kept after every
    ``stride``-th step and at t = 0 (``stride`` divides the steps per save): a block's steps run in
    groups of g = gcd(block, stride) steps, each group's end state is a scan output, and every
    (stride / g)-th of them is kept (the same steps and noise as without paths). ``view(state)``
    (optional; ``make_loop_step``'s) is what ``record``, ``path`` and the returned final state see.
    """
    if view is not None:
        record_, path_ = record, path
        record = lambda state, t: record_(view(state), t)
        path = None if path_ is None else (lambda state: path_(view(state)))
    else:
        view = lambda state: state
    block = grid.block
    blocks_per_save = grid.steps_per_save // block
    g = path_group(grid, stride)

    def run_steps(state, xs):  # xs: (noise, t) per step
        state, _ = jax.lax.scan(lambda s, x: (step(s, *x), None), state, xs)
        return state

    def run_group(state, xg):
        state = run_steps(state, xg)
        return state, path(state)

    def run_block(state, b):
        xi = draw(b, block)
        xs = (xi, (b * block + jnp.arange(block)) * grid.dt)
        if path is None:
            return run_steps(state, xs), None
        return jax.lax.scan(run_group, state, jax.tree.map(lambda a: a.reshape(block // g, g, *a.shape[1:]), xs))

    def advance(state, i):  # save interval i: its blocks of steps, then the progress tick
        blocks = i * blocks_per_save + jnp.arange(blocks_per_save)
        state, ys = jax.lax.scan(run_block, state, blocks)
        if path is not None:  # (blocks, block / g, ...) -> every (stride / g)-th group end
            r = stride // g
            ys = jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:])[r - 1 :: r], ys)
        if on_save is not None:
            on_save(i)
        return state, ys

    kept_shape = None if path is None else jax.eval_shape(advance, state, 0)[1]

    def skip(state, i):  # after the last save: nothing left to integrate
        return state, jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), kept_shape)

    # one record per saved time, t = 0 included, all in the loop (the record is compiled once):
    # saved time i is recorded, then save interval i runs, except after the last
    def run_save(state, i):
        out = record(state, i * (grid.steps_per_save * grid.dt))
        state, ys = jax.lax.cond(i < grid.n_saves, advance, skip, state, i)
        return state, (out, ys)

    final, (records, kept) = jax.lax.scan(run_save, state, jnp.arange(grid.n_saves + 1))
    final = view(final)
    if path is None:
        return final, records
    kept = jax.tree.map(lambda a: a[:-1].reshape(-1, *a.shape[2:]), kept)  # the last slot is skip's
    paths = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), path(state), kept)
    return final, records, paths
