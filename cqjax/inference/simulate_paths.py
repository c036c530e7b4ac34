"""Simulated records: the full classical paths of N healed trajectories, in the data format.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._precision import cast_model
from ..dynamics import Healed, Kraus
from ..ensemble._keys import initial_key, trajectory_key
from ..ensemble.simulate import simulate
from ..models._base import AbstractAbsorbingModel, AbstractJumpModel, AbstractModel
from ..models._consistency import check_unravellable, needs_mixed, survey, validate_model
from ..spec.initial import InitialState
from .data import PathData

STATES = ("auto", "pure", "mixed")


def simulate_paths(
    model: AbstractModel,
    initial: InitialState,
    *,
    t1: float,
    dt: float,
    paths: int,
    seed: int = 0,
    stride: int = 1,
    state: str = "auto",
    dtype=jnp.float64,
) -> tuple[PathData, jax.Array]:
    """N = ``paths`` healed trajectories (Kraus step, Gaussian noise) of ``model`` from ``initial``,
    kept every ``stride`` steps: ``(PathData, states)`` with states (N, T, d) or (N, T, d, d).
    A jump model's trajectories are its jump unravelling (seed 003 sec. IV), pure states (N, T, d).

    Trajectory i uses ``trajectory_key(key(seed), i)`` for its initial point and noise, as an
    ensemble run does; its noise is drawn in blocks of the save interval, so it is an independent
    draw, not trajectory i of a ``run_ensemble`` with other ``n_saves``. ``state``: ``"auto"``
    (mixed when the model's decoherence exceeds saturation or ``initial.rho`` is given), ``"pure"``
    or ``"mixed"``.

    A run keeps paths in the same format (``run_ensemble(..., paths=N, path_stride=k)``, ``run.paths``
    in a config) but not the quantum states along them (d or d^2 numbers per point); this function
    returns those states too, to check the filter path by path.
    """
    if state not in STATES:
        raise ValueError(f"state: unknown {state!r}; choose from {list(STATES)}")
    jumpy = isinstance(model, AbstractJumpModel)
    if jumpy and (state == "mixed" or initial.rho is not None):
        raise ValueError(f"state: {type(model).__name__} is a jump model; its jump unravelling runs pure states only")
    if isinstance(model, AbstractAbsorbingModel):
        raise ValueError(f"paths: {type(model).__name__} has an absorbing rule; stopped paths are not supported")
    if not (isinstance(paths, int) and paths >= 1):
        raise ValueError(f"paths: must be an integer >= 1, got {paths!r}")
    if not (isinstance(stride, int) and stride >= 1):
        raise ValueError(f"path_stride: must be an integer >= 1, got {stride!r}")
    n_steps = round(t1 / dt)
    if n_steps % stride:
        raise ValueError(f"path_stride: {stride} does not divide the number of steps t1/dt = {n_steps}")
    key = jax.random.key(seed)
    keys = jax.vmap(lambda i: trajectory_key(key, i))(jnp.arange(paths, dtype=jnp.uint32))
    z0s = jax.vmap(lambda k: initial.sample(initial_key(k), dtype)[0])(keys)
    at = survey(model, z0s[:256], ("values", "cp", "pure"))  # one compiled program for the checks
    validate_model(model, z0s[:256], psi_dim=initial.dim, at=at)
    mixed = state == "mixed" or (state == "auto" and (initial.rho is not None or needs_mixed(model, z0s[:256], at=at)))
    check_unravellable(model, z0s[:256], mixed=mixed or jumpy, at=at)  # a jump model's extra channels are jumps
    mixed = mixed and not jumpy
    states0 = jax.vmap(lambda k: initial.sample(initial_key(k), dtype, mixed)[1])(keys)
    sol = _simulate_batch(cast_model(model, dtype), z0s, states0, keys, t1, dt, n_steps // stride)
    data = PathData(t=np.asarray(sol.ts[0], np.float64), z=np.asarray(sol.z, np.float64), coords=model.coords)
    return data, sol.psi


@eqx.filter_jit
def _simulate_batch(model, z0s, states0, keys, t1: float, dt: float, n_saves: int):
    """``simulate`` vmapped over trajectories, compiled once per model type and shapes."""
    one = lambda z0, s0, k: simulate(
        model, z0, s0, k, t1=t1, dt=dt, n_saves=n_saves, unravelling=Healed(), solver=Kraus()
    )
    return jax.vmap(one)(z0s, states0, keys)
