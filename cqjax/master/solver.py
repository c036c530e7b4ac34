"""Direct integration of the CQ master equation on a phase-space grid (one axis per coordinate, any
number of degrees of freedom): grid choice, initial density, time stepping, observables and
diagnostics (the lattice dynamics itself is in ``lattice.py``).

The equation is seed 004 eq. (5): I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics" (README, References).

``solve_master`` returns, at every saved time,
- ``<name>.mean``: sum over cells of f(z_c) Tr(O varrho_c) for the same observable names as an
  ensemble run (products of coordinates and at most one operator);
- ``min_eig``: the smallest eigenvalue of varrho over the grid, relative to the largest trace of
  a cell (negative where the partial Wigner function is not a CQ state);
- ``trace`` (the mass on the grid) and ``lost`` (the mass that jumped off it), with
  trace + lost = 1 to rounding;
- optionally an estimate of the discretisation error of every output: 3 |f(N, dt) - f(N/2, 2 dt)|
  from a run with half the cells per axis and twice the step. The scheme is first order in both,
  so the difference is the error of the fine solution to leading order; the factor 3 is Roache's
  safety factor for a two-grid grid-convergence index, for solutions not yet in the asymptotic
  range. Two solutions can cross where neither is exact, so for an observable the estimate at t
  is the largest difference up to t, and for a histogram entry the largest over the entry and its
  neighbours in time and in bins. The mass that left the grid, times the largest |f(z)| ||O|| on
  the grid, is added to the estimate of each observable;
and varrho itself (cell masses) at the ``save_density`` times only (default: a handful, always
the first and the last): everything above is read off on the device while the run goes, so only
the kept densities are ever copied to the host.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._memory import check_fits, host_memory
from ..errors import InputError
from ..models._base import CONSISTENCY_RTOL, AbstractGeneralModel, AbstractModel
from ..models._consistency import (
    consistency,
    consistency_message,
    hermitian_back_reaction,
    survey,
    validate_model,
)
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState, MixtureState
from ..spec.observables import Observable, parse_observable
from ._clock import autonomous
from ._grid_choice import STEP_SAFETY, align_grid, choose_grid
from ._initial import initial_masses
from ._readout import Readout, observable_bounds, outside_mask, project_histogram, read, running_envelope
from ._traced import concrete, concrete_model, host, is_traced
from .grid import PhaseSpaceGrid
from .lattice import LatticeGenerator, advance, advance_checkpointed, lattice_generator, map_cells, step_operators
from .transport import check_transport

_JUMP_ACCURACY = 0.02  # dt * (rate of the model's own jumps) <= this


_PHASE_ACCURACY = 0.1  # dt * ||H_I|| / hbar <= this


Values = np.ndarray | jax.Array  # numpy on the host; jax values that carry derivatives under jax.grad

_SAFETY_FACTOR = 3.0  # on |f(N) - f(N/2)| (Roache's two-grid GCI)


_DEFAULT_DENSITIES = 6  # densities kept by default: every saved time up to this many, else this many


@dataclass
class MasterResult:
    """The master-equation solution at the saved times (numpy arrays on the host; the outputs are
    jax values, which carry the derivative, when ``jax.grad`` traces the model's parameters)."""

    t: np.ndarray
    grid: PhaseSpaceGrid
    coords: tuple[str, ...]
    masses: Values  # (S, *cells, d, d): varrho integrated over each cell at the times density_t
    density_t: np.ndarray  # (S,): the saved times at which ``masses`` is kept
    mean: dict[str, Values]
    min_eig: Values
    trace: Values
    lost: Values
    lost_sides: Values  # (T, n, 2): per coordinate, low and high side
    steps: int
    dt: float
    compile_seconds: float
    run_seconds: float
    completely_positive: bool
    err: dict[str, np.ndarray] = field(default_factory=dict)
    histogram: dict[str, Values] | None = None
    info: dict = field(default_factory=dict)

    @property
    def density(self) -> Values:
        """varrho on the grid at ``density_t``: cell masses / cell volume, (S, *cells, d, d)."""
        return self.masses / self.grid.cell_volume


@dataclass
class _Run:
    """One integration: its step, the read-outs at every saved time, the kept densities."""

    gen: LatticeGenerator
    dt: float
    per_save: int
    lost0: float
    sides: Values
    trace: Values
    min_eig: Values
    mean: dict[str, Values]
    marginal: Values | None
    masses: Values
    compile_seconds: float
    run_seconds: float


def _time_step(gen, t1: float, n_saves: int, dt: float | None, fallback: float | None = None) -> tuple[float, int]:
    """(dt, steps per save): automatic, or the user's dt checked against stability (an unstable
    dt raises, or with ``fallback`` gives way to it)."""
    interval = t1 / n_saves
    if dt is not None and fallback is not None and dt * gen.rate_bound > 1.0:
        dt = fallback
    if dt is None:
        limits = [STEP_SAFETY / gen.rate_bound if gen.rate_bound > 0 else interval]
        if gen.jump_rate > 0:
            limits.append(_JUMP_ACCURACY / gen.jump_rate)
        if gen.unitary_rate > 0:
            limits.append(_PHASE_ACCURACY / gen.unitary_rate)
        per_save = max(1, math.ceil(interval / min(limits) - 1e-9))
        per_save += per_save % 2  # even, so that the error-estimate run can take steps of 2 dt
        return interval / per_save, per_save
    if not dt > 0:
        raise InputError("dt", f"must be > 0, got {dt}")
    per_save = round(interval / dt)
    if per_save < 1 or abs(per_save * dt - interval) > 1e-9 * interval:
        raise InputError("dt", f"the save interval t1/n_saves = {interval:.6g} is not a multiple of {dt}")
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise InputError("dt", f"{dt:.4g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.4g}")
    return dt, per_save


def _integrate(model, initial, grid, request, *, dt, keep, progress=False, label="", fallback_dt=None) -> _Run:
    """Integrate on ``grid`` to ``request.t1``, reading off the observables (``request.names``) and
    the histogram marginal at every save on the device; the densities at save indices ``keep``.

    A model whose parameters are traced (``jax.grad``) gives jax values that carry the derivative
    (the steps then run as ``advance_checkpointed``), any other numpy arrays on the host."""
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    traced = is_traced(model)
    gen = lattice_generator(model, grid, dtype, request.transport)
    dt, per_save = _time_step(gen, request.t1, request.n_saves, dt, fallback_dt)
    ops = step_operators(gen, dt)
    host_rho, lost0 = initial_masses(initial, grid, gen.hamiltonian.dtype)
    rho = jnp.asarray(host_rho)
    readout = Readout.build(concrete_model(model), request.names, grid, rho.shape[-1], request.histogram, dtype)
    lost = jnp.zeros((grid.ndim, 2), dtype)
    args = (gen.channels, ops, jnp.asarray(dt, dtype))
    t0 = time.perf_counter()
    advance_save: Callable
    if traced:
        advance_save = functools.partial(advance_checkpointed, n_steps=per_save)
    else:
        compiled = advance.lower(rho, lost, *args, per_save).compile()
        advance_save = lambda *a: compiled(*a, per_save)  # noqa: E731
    compile_seconds = time.perf_counter() - t0
    fetch = (lambda x: x) if traced else jax.device_get
    records, sides, masses = [fetch(read(readout, rho))], [host(lost)], []
    if 0 in keep:
        masses.append(host(rho))
    bar = _progress_bar(request.n_saves, label) if progress else None
    t0 = time.perf_counter()
    for k in range(1, request.n_saves + 1):
        rho, lost = advance_save(rho, lost, *args)
        records.append(fetch(read(readout, rho)))
        sides.append(host(lost))
        if k in keep:
            masses.append(host(rho))
        if bar is not None:
            bar.update(1)
    run_seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    stack = jnp.stack if traced else np.stack
    scalars = (
        (lambda key: jnp.stack([r[key] for r in records]))
        if traced
        # noqa: E731
        else (lambda key: np.array([float(r[key]) for r in records]))
    )
    means = stack([r["means"] for r in records], axis=-1)
    return _Run(
        gen=gen,
        dt=dt,
        per_save=per_save,
        lost0=lost0,
        sides=stack(sides),
        trace=scalars("trace"),
        min_eig=scalars("min_eig"),
        mean={name: means[i] for i, name in enumerate(readout.names)},
        marginal=stack([r["marginal"] for r in records]) if readout.histogram_axes else None,
        masses=stack(masses) if masses else np.zeros((0, *rho.shape), rho.dtype),
        compile_seconds=compile_seconds,
        run_seconds=run_seconds,
    )


def _progress_bar(total: int, label: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="save", desc=label or None, dynamic_ncols=True)


def check_cells(model: AbstractModel, grid: PhaseSpaceGrid, allow_non_cp: bool) -> None:
    """``consistency`` on every cell centre: H(z) and the back-reaction must be Hermitian
    everywhere; a generator that is not completely positive at some cell is refused unless
    ``allow_non_cp`` (then ``min_eig`` reports what it does to varrho)."""
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    points = grid.points(dtype).reshape(-1, model.n_coords)
    rel, amount = jax.tree.map(np.asarray, map_cells(_consistency_at, points, model))
    rel = np.where(outside_mask(model, grid, inverse=True).reshape(-1, 1) > 0, rel, 0.0)  # no dynamics outside
    checks = (2,) if allow_non_cp else (2, 0, 1)
    for c in checks:
        k = int(np.argmax(rel[:, c]))
        if rel[k, c] > CONSISTENCY_RTOL:
            message = consistency_message(c, float(amount[k, c]), "at the master grid cell", points[k], model.coords)
            hint = (
                ""
                if c == 2
                else (
                    "; set allow_non_cp = true to integrate it anyway (min_eig then "
                    "shows where varrho stops being positive)"
                )
            )
            raise InputError("master", f"{message}{hint}", refs=("allow_non_cp",))


def _consistency_at(z, model):
    return consistency(model, z, True)


def _check_memory(grid: PhaseSpaceGrid, d: int, n_keep: int, error_estimate: bool) -> None:
    """Refuse, before integrating, a solution that does not fit in memory: per cell, about 24
    d x d complex matrices while the lattice is built and stepped (its Kraus fields for two jumps
    per axis and the step's temporaries), plus the kept densities (once in the run's precision and
    once in complex64 for the results file), plus a 2^-n share of that for the error estimate's
    coarse run."""
    itemsize = 16 if jax.config.read("jax_enable_x64") else 8
    cells = float(grid.size)
    working = cells * d * d * itemsize * (12 + 3 * grid.ndim)
    kept = cells * d * d * n_keep * (itemsize + 8)
    need = (working + kept) * ((1 + 2.0**-grid.ndim) if error_estimate else 1.0)
    check_fits(
        "master",
        int(need),
        host_memory(),
        f"use fewer cells ({'x'.join(map(str, grid.cells))} now) or fewer save_density times",
        ("cells", "save_density"),
    )


def density_indices(n_saves: int, t1: float, save_density: int | Sequence[float] | None) -> np.ndarray:
    """The save indices whose densities are kept: ``None``: every saved time up to 6, else 6
    evenly spaced from the first to the last; an integer k: k evenly spaced ending with the last;
    a list of times: those (each must be a saved time)."""
    if save_density is None:
        return np.unique(np.round(np.linspace(0, n_saves, min(n_saves + 1, _DEFAULT_DENSITIES))).astype(int))
    if isinstance(save_density, (int, np.integer)) and not isinstance(save_density, bool):
        if not 1 <= save_density <= n_saves + 1:
            raise InputError(
                "save_density", f"need 1..{n_saves + 1} times (n_saves + 1), got {save_density}", refs=("n_saves",)
            )
        return np.unique(np.round(np.linspace(n_saves, 0, save_density)).astype(int))
    if isinstance(save_density, bool):
        raise InputError("save_density", f"expected a count or a list of saved times, got {save_density}")
    out = []
    for t in save_density:
        k = round(float(t) * n_saves / t1)
        if not (0 <= k <= n_saves and abs(k * t1 / n_saves - float(t)) <= 1e-9 * t1):
            raise InputError("save_density", f"{t} is not a saved time (multiples of t1/n_saves = {t1 / n_saves:.6g})")
        out.append(k)
    if not out:
        raise InputError("save_density", "give at least one time")
    return np.unique(np.asarray(out, int))


@dataclass(frozen=True)
class _Request:
    """What every integration of one solve reads off (times, observables, histogram) and how it moves the drift."""

    t1: float
    n_saves: int
    names: tuple[str | Observable, ...]
    histogram: HistogramSpec | None
    transport: str = "upwind"


def _validate(model, initial, t1, n_saves, cells, extent, observables) -> None:
    """Each argument of ``solve_master`` checked once, before any grid is built."""
    if n_saves < 1:
        raise InputError("n_saves", f"must be >= 1, got {n_saves}")
    if not t1 > 0:
        raise InputError("t1", f"must be > 0, got {t1}")
    for name, value in (extent or {}).items():
        if name not in model.coords:
            raise InputError("extent", f"{name!r}: unknown coordinate; have {list(model.coords)}")
        if not (len(value) == 2 and value[1] > value[0]):
            raise InputError("extent", f"{name!r}: expected [lo, hi] with lo < hi, got {list(value)}")
    if cells is not None and (len(cells) != model.n_coords or any(n < 1 for n in cells)):
        raise InputError("cells", f"need one count >= 1 per coordinate {list(model.coords)}, got {list(cells)}")
    z0 = jnp.asarray(initial.z_mean)[None]
    at = survey(model, z0, ("values", "pure") if isinstance(model, AbstractGeneralModel) else ("values",))
    validate_model(model, z0, psi_dim=initial.dim, at=at)
    if not hermitian_back_reaction(model, z0, at=at):
        raise InputError(
            "master",
            f"{type(model).__name__} has a non-Hermitian back-reaction D1^{{a0}} L_a; the lattice "
            'realises Hermitian back-reaction operators only (trajectories run it with state = "mixed")',
            refs=("state",),
        )
    for name in observables:
        parse_observable(name, model)


def solve_master(
    model: AbstractModel,
    initial: InitialState | MixtureState,
    *,
    t1: float,
    n_saves: int,
    cells: tuple[int, ...] | None = None,
    extent: dict[str, tuple[float, float]] | None = None,
    dt: float | None = None,
    observables: tuple[str | Observable, ...] = (),
    histogram: HistogramSpec | None = None,
    error_estimate: bool = True,
    allow_non_cp: bool = False,
    save_density: int | Sequence[float] | None = None,
    transport: str = "upwind",
    progress: bool = False,
) -> MasterResult:
    """Integrate the CQ master equation of ``model`` from ``initial`` to ``t1`` on a phase-space
    grid with one axis per coordinate (any number of degrees of freedom).

    The generator is the one the trajectories follow: the CQ master equation of seed 004 eq. (5)
    (Layton et al., "A healthier semi-classical dynamics"), with the back-reaction term
    -d_i(D1^{a0}_i L_a varrho + D1^{0a}_i varrho L_a^dag) (printed there with a + sign, see
    ``lattice.py``), built from the model as in ``lattice.py``, including extra Lindblad channels,
    jumps, and generators that are not completely positive (then ``min_eig`` shows where
    positivity fails). ``cells`` per axis (default ``default_cells``) and ``extent`` {coordinate:
    (lo, hi)} fix the grid (default: chosen from the initial state and a pilot run, see
    ``choose_grid``); ``dt`` default: automatic. With ``error_estimate`` the discretisation error
    of every output is estimated from a run with half the cells. The generator is checked on
    every cell (``check_cells``): one that is not completely positive somewhere is refused unless
    ``allow_non_cp``. ``save_density``: which densities to keep (``density_indices``).
    ``transport``: how the drift moves the cells, "upwind" (first-order jumps, the default) or
    "second-order" (flux-corrected and positive, ``transport.py``, with a channel step of second
    order in dt, ``lattice.channel_step``: more accurate on the same grid, but today about 15x the
    cost per cell-step on the CPU, BENCHMARKS.md).
    ``progress``: bars (tqdm, stderr) for the grid's pilot runs, the run and the error-estimate run.
    """
    model, initial = autonomous(model, initial)  # a time-dependent model: its clock form (_clock.py)
    values = concrete_model(model)  # the model itself, or its values when jax.grad traces it
    _validate(values, initial, t1, n_saves, cells, extent, observables)
    check_transport(transport)
    keep = density_indices(n_saves, t1, save_density)
    request = _Request(float(t1), int(n_saves), tuple(observables), histogram, transport)
    grid, grid_info = choose_grid(
        values, initial, t1, None if cells is None else tuple(cells), extent, progress, transport
    )
    _check_memory(grid, initial.dim, len(keep), error_estimate)
    check_cells(values, grid, allow_non_cp)
    run = _integrate(model, initial, grid, request, dt=dt, keep=set(keep.tolist()), progress=progress, label="master")
    t = np.arange(n_saves + 1) * (run.per_save * run.dt)
    result = MasterResult(
        t=t,
        grid=grid,
        coords=model.coords,
        masses=run.masses,
        density_t=t[keep],
        mean=run.mean,
        min_eig=run.min_eig,
        trace=run.trace,
        lost=run.sides.reshape(len(t), -1).sum(-1) + run.lost0,
        lost_sides=run.sides,
        steps=run.per_save * n_saves,
        dt=run.dt,
        compile_seconds=run.compile_seconds,
        run_seconds=run.run_seconds,
        completely_positive=run.gen.completely_positive,
        info={
            "conserved": [c for c, m in zip(model.coords, run.gen.moves) if not m],
            **grid_info,
            "cells": list(grid.cells),
            "extent": {c: [grid.lo[i], grid.hi[i]] for i, c in enumerate(model.coords)},
            "rate_bound": run.gen.rate_bound,
            "initial_lost": run.lost0,
            "completely_positive": run.gen.completely_positive,
            "density_t": t[keep].tolist(),
        },
    )
    if histogram is not None and run.marginal is not None:
        result.histogram = project_histogram(run.marginal, run.trace, grid, model.coords, histogram)
    if error_estimate:
        _error_estimate(values, initial, extent, request, run, result, progress)
    return result


def _error_estimate(
    model, initial, extent, request: _Request, run: _Run, result: MasterResult, progress: bool = False
) -> None:
    """``result.err`` (and the histogram's ``err``) from a run with half the cells per axis and
    twice the step (module docstring); nothing when the grid cannot be coarsened. The estimate is
    not differentiated: it is computed from the values of ``result``."""
    grid = result.grid
    coarse_cells = tuple(max(n // 2, 4) if n > 1 else n for n in grid.cells)
    if coarse_cells == grid.cells:
        return
    auto = [c not in (extent or {}) for c in model.coords]
    coarse = align_grid(PhaseSpaceGrid(lo=grid.lo, hi=grid.hi, cells=coarse_cells), model, initial, auto)
    # twice the step as well: the scheme is first order in both, so the difference estimates
    # the spatial and the temporal error of the fine run together
    coarse_dt = 2 * run.dt if run.per_save % 2 == 0 else run.dt
    label = "master (error estimate)"
    c = _integrate(
        model, initial, coarse, request, dt=coarse_dt, keep=set(), progress=progress, label=label, fallback_dt=run.dt
    )
    result.run_seconds += c.run_seconds
    bound = observable_bounds(model, request.names, grid)
    lost = concrete(result.lost)
    result.err = {
        k: _SAFETY_FACTOR * np.maximum.accumulate(np.abs(concrete(result.mean[k]) - c.mean[k])) + lost * bound[k]
        for k in result.mean
    }
    if request.histogram is not None and result.histogram is not None and c.marginal is not None:
        ch = project_histogram(c.marginal, c.trace, coarse, model.coords, request.histogram)
        diff = concrete(result.histogram["density"]) - ch["density"]
        axes = 1 + len(request.histogram.coords)
        result.histogram["err"] = _SAFETY_FACTOR * (
            running_envelope(np.abs(diff.real), axes) + 1j * running_envelope(np.abs(diff.imag), axes)
        )
    result.info["error_estimate_cells"] = list(coarse_cells)
