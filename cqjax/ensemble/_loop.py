"""The time loop: one step, the noise it consumes, and the nested ``lax.scan`` over time.

One trajectory's step is written unbatched. The same loop runs a single trajectory
(``simulate``) or a vmapped batch (the ensemble runner), so both see bit-for-bit the same noise.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..dynamics.jump import Jump, jump_step
from ..models._base import AbstractAbsorbingModel, AbstractModel, is_diagonal
from ._keys import draw_normals
from ._time import TimeGrid


def has_boundary(model: AbstractModel) -> bool:
    """Whether the model defines an absorbing rule (``inside``)."""
    return isinstance(model, AbstractAbsorbingModel)


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
