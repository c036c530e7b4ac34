"""One differentiable trajectory (seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics")."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from .._precision import cast_model, complex_dtype
from ..dynamics._choice import resolve_unravelling
from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..models._base import AbstractModel
from ._keys import noise_key
from ._loop import make_loop_step, time_loop
from ._time import TimeGrid


class Solution(eqx.Module):
    """One trajectory at the saved times: ``ts`` (T,), ``z`` (T, n), ``psi`` (T, d) -- or
    (T, d, d) density matrices for the mixed-state unravelling."""

    ts: Float[Array, " T"]
    z: Float[Array, "T n"]
    psi: Complex[Array, "T d"] | Complex[Array, "T d d"]


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
    noise: str = "gaussian",
) -> Solution:
    """Integrate one trajectory of ``unravelling`` with ``solver`` from (z0, psi0).

    ``psi0`` is a state vector (pure-state unravelling) or a density matrix (the mixed-state
    unravelling, seed 004 eqs. 7-8). ``key`` is the trajectory's own key
    (``trajectory_key(run_key, i)`` reproduces trajectory i
    of an ensemble run). Pure and differentiable with respect to the model's parameters and the
    initial state; vmap it for batches. ``noise``: the law of the increments (``"gaussian"``,
    ``"three-point"`` or ``"rademacher"``, see ``run_ensemble``).
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
    step, view = make_loop_step(model, unravelling, solver, grid.dt)
    draw = unravelling.make_draw(noise_key(key), unravelling.noise_dim(model, z0), dtype, noise)
    _, (zs, psis) = time_loop(step, draw, (z0, psi0), grid, lambda s, t: s, view=view)
    return Solution(ts=jnp.asarray(grid.ts, dtype), z=zs, psi=psis)
