"""A parameter sweep as one vmapped job: the chunk kernel of ``run_ensemble`` vmapped over B values
of some of the model's parameters, compiled once for the batch, every chunk of every point in one
device call. Point b uses the keys of a single run with the same seed (common random numbers:
differences between points are not blurred by independent noise), so its statistics are those of
``run_ensemble`` on that model, to rounding.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._memory import check_fits
from ..errors import SimulationError
from ..models._base import AbstractModel
from ..spec.initial import InitialState, MixtureState
from ._accumulator import init, update
from ._devices import device_memory, kernel_bytes, trajectory_sharding
from ._kernel import chunk_kernel
from ._keys import split_index
from ._progress import progress_bar
from ._statistics import first_violation
from .runner import (
    DEFAULT_SAMPLES,
    KERNEL_STATIC,
    EnsembleResult,
    _default_chunk,
    _Plan,
    _plan,
    _Program,
    _result,
    kernel_options,
)


def swept_models(model: AbstractModel, params: Mapping[str, object]) -> tuple[tuple[str, ...], list[AbstractModel]]:
    """(the swept names, the B models of the sweep): each named parameter (a float field of the
    model) replaced by its b-th value. Refuses an unknown or non-float parameter and batches of
    different or zero length."""
    fields = {f.name: f for f in dataclasses.fields(model)}
    values = {}
    for name, v in params.items():
        if name not in fields or fields[name].metadata.get("static", False) or np.ndim(getattr(model, name)) != 0:
            raise ValueError(f"params.{name}: not a swept parameter of {type(model).__name__} (a float field)")
        values[name] = np.asarray(v, float)
        if values[name].ndim != 1 or values[name].size < 1:
            shape = values[name].shape
            raise ValueError(f"params.{name}: expected a 1-d array of values (the batch), got shape {shape}")
    if not values:
        raise ValueError("params: give at least one parameter to sweep")
    sizes = {v.size for v in values.values()}
    if len(sizes) != 1:
        raise ValueError(f"params: every parameter needs the same number of values, got {sorted(sizes)}")
    names = tuple(values)
    get = lambda m: [getattr(m, k) for k in names]  # noqa: E731
    return names, [eqx.tree_at(get, model, [values[k][b] for k in names]) for b in range(sizes.pop())]


def _sweep_kernel(base, values, observables, initial, key, start_hi, start_lo, offsets, n_valid, *, names, **static):
    """``chunk_kernel`` vmapped over the swept values (a tuple of (B,) arrays, one per name in
    ``names``): records with a leading axis B."""

    def one(point):
        model = eqx.tree_at(lambda m: [getattr(m, k) for k in names], base, list(point))
        return chunk_kernel(model, observables, initial, key, start_hi, start_lo, offsets, n_valid, **static)

    return jax.vmap(one)(values)


_STATIC = tuple(name for name in KERNEL_STATIC if name != "ticks")  # the sweep feeds no bar within a chunk
_SWEEP = jax.jit(_sweep_kernel, static_argnames=("names", *_STATIC))


def run_sweep(
    model: AbstractModel,
    initial: InitialState | MixtureState,
    params: Mapping[str, ArrayLike | Sequence[float]],  # {name: values (B,)}, checked by swept_models
    *,
    trajectories: int,
    chunk_size: int | None = None,
    n_samples: int | None = None,
    progress: bool = False,
    **kwargs,
) -> list[EnsembleResult]:
    """``run_ensemble`` for each of B parameter points, as one vmapped job compiled once.

    ``params`` {name: values (B,)}: float parameters of ``model`` and their values; the other
    arguments are those of ``run_ensemble`` (no checkpoint: a sweep is one job). Every point is
    validated as a single run is, and all must need the same unravelling and state
    representation (else refused: run those points separately). A chunk holds B x chunk
    trajectory states, so the default chunk is B times smaller than a single run's."""
    if kwargs.get("checkpoint") is not None:
        raise ValueError("params: a sweep cannot be checkpointed; run the points separately with --checkpoint")
    names, models = swept_models(model, params)
    n_samples = min(DEFAULT_SAMPLES, trajectories) if n_samples is None else n_samples
    plans = [
        _plan(m, initial, trajectories=trajectories, n_samples=n_samples, chunk_size=chunk_size, **kwargs)
        for m in models
    ]
    _same_choices(plans, names)
    first = plans[0]
    entries = initial.dim * first.model.n_coords * len(models)
    chunk = _default_chunk(trajectories, chunk_size, entries, len(first.devices))
    program = _compile(
        first, initial, names, [p.model for p in plans], kwargs["solver"], kwargs.get("histogram"), chunk
    )
    accs = [init(program.record, n_samples, first.paths) for _ in plans]
    t0 = time.perf_counter()
    with progress_bar(progress, trajectories, 0) as bar:
        accs = _stream(program, plans, accs, bar)
    run_seconds = time.perf_counter() - t0
    info = dict(trajectories_this_run=trajectories, resumed_from=0, sweep_points=len(plans))
    return [_result(p, program, a, run_seconds, dict(info), complete=True) for p, a in zip(plans, accs)]


def _same_choices(plans: list[_Plan], names: tuple[str, ...]) -> None:
    """Refuse a sweep whose points need different unravellings or state representations."""
    choice = lambda p: (p.unravelling, p.state_name)  # noqa: E731
    for b, p in enumerate(plans[1:], start=1):
        if choice(p) != choice(plans[0]):
            at = ", ".join(f"{k} = {float(getattr(p.model, k)):.6g}" for k in names)
            raise ValueError(
                f"params: the sweep's points need different dynamics ({plans[0].state_name} "
                f"{plans[0].unravelling.name} at point 0, {p.state_name} {p.unravelling.name} at point {b}: "
                f"{at}); run them separately or fix run.state"
            )


def _compile(plan: _Plan, initial, names, models, solver, histogram, chunk: int) -> _Program:
    """The vmapped chunk kernel compiled for ``chunk`` trajectories per point; refuses one that
    does not fit in memory. ``record``: one point's record shapes."""
    t0 = time.perf_counter()
    kernel = partial(_SWEEP, names=names, **kernel_options(plan, solver, histogram, chunk))
    values = tuple(jnp.stack([jnp.asarray(getattr(m, k)) for m in models]) for k in names)
    offsets = jax.device_put(jnp.arange(chunk, dtype=jnp.int32), trajectory_sharding(plan.devices))
    args = (plan.model, values, plan.observables, initial, plan.key)
    lowered = _SWEEP.lower(*args, np.uint32(0), np.uint32(0), offsets, np.int32(0), **kernel.keywords)
    compiled = lowered.compile()
    if (use := kernel_bytes(compiled)) is not None:
        check_fits("run.chunk_size", sum(use), device_memory(plan.devices[0]), "set a smaller run.chunk_size")
    record = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape[1:], s.dtype), lowered.out_info)
    call = lambda start, n_valid: compiled(*args, *split_index(start), offsets, np.int32(n_valid))  # noqa: E731
    return _Program(
        call=call, chunk=chunk, record=record, compile_seconds=time.perf_counter() - t0, devices=plan.devices
    )


def _stream(program: _Program, plans: list[_Plan], accs: list, bar) -> list:
    """Every chunk for every point, each dispatched before the previous one's records are fetched;
    a point's violation (non-CP generator, non-finite trajectory) stops the sweep naming it."""
    total = plans[0].trajectories
    n_valid = lambda c: min(program.chunk, total - c * program.chunk)  # noqa: E731
    n_chunks = -(-total // program.chunk)
    nxt = program.call(0, n_valid(0))
    for c in range(n_chunks):
        out, start = nxt, c * program.chunk
        if c + 1 < n_chunks:
            nxt = program.call(start + program.chunk, n_valid(c + 1))
        recs = jax.device_get(out)
        for b, plan in enumerate(plans):
            rec = jax.tree.map(lambda x, b=b: x[b], recs)
            why = first_violation(rec, plan.grid.ts, plan.model.coords, plan.nonfinite, start, n_valid(c))
            if why is not None:
                raise SimulationError(f"params point {b}: {why}")
            accs[b] = update(accs[b], rec, start, n_valid(c))
        if bar is not None:
            bar.update(n_valid(c))
    return accs
