"""Direct integration of the CQ master equation on a (q, p) grid: grid choice, initial density,
time stepping, observables and diagnostics (the lattice dynamics itself is in ``lattice.py``).

The equation is seed 004 eq. (5): I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics" (README, References).

``solve_master`` returns varrho(z, t) at the saved times together with
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
  the grid, is added to the estimate of each observable.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._memory import check_fits, host_memory
from ..models._base import CONSISTENCY_RTOL, AbstractModel
from ..models._consistency import (
    consistency,
    consistency_message,
    hermitian_back_reaction,
    validate_model,
)
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState
from ..spec.observables import parse_observable
from ._grid_choice import STEP_SAFETY, align_grid, choose_grid
from ._initial import initial_masses
from ._readout import (
    min_eig_over_cells,
    observable_bounds,
    observable_means,
    project_histogram,
    running_envelope,
)
from .grid import DEFAULT_CELLS, PhaseSpaceGrid
from .lattice import advance, lattice_generator, step_operators

_JUMP_ACCURACY = 0.02  # dt * (rate of the model's own jumps) <= this


_PHASE_ACCURACY = 0.1  # dt * ||H_I|| / hbar <= this


_SAFETY_FACTOR = 3.0  # on |f(N) - f(N/2)| (Roache's two-grid GCI)


@dataclass
class MasterResult:
    """The master-equation solution at the saved times (numpy arrays on the host)."""

    t: np.ndarray
    grid: PhaseSpaceGrid
    coords: tuple[str, ...]
    masses: np.ndarray  # (T, Nq, Np, d, d): varrho integrated over each cell
    mean: dict[str, np.ndarray]
    min_eig: np.ndarray
    trace: np.ndarray
    lost: np.ndarray
    lost_sides: np.ndarray  # (T, 2, 2): per coordinate, low and high side
    steps: int
    dt: float
    compile_seconds: float
    run_seconds: float
    completely_positive: bool
    err: dict[str, np.ndarray] = field(default_factory=dict)
    histogram: dict[str, np.ndarray] | None = None
    info: dict = field(default_factory=dict)

    @property
    def density(self) -> np.ndarray:
        """varrho on the grid: cell masses / cell volume, (T, Nq, Np, d, d)."""
        return self.masses / self.grid.cell_volume


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
        raise ValueError(f"master.dt: must be > 0, got {dt}")
    per_save = round(interval / dt)
    if per_save < 1 or abs(per_save * dt - interval) > 1e-9 * interval:
        raise ValueError(f"master.dt: the save interval t1/n_saves = {interval:.6g} is not a multiple of {dt}")
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise ValueError(f"master.dt: {dt:.4g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.4g}")
    return dt, per_save


def _integrate(model, initial, grid, *, t1, n_saves, dt, progress, label="", fallback_dt=None):
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    gen = lattice_generator(model, grid, dtype)
    dt, per_save = _time_step(gen, t1, n_saves, dt, fallback_dt)
    ops = step_operators(gen, dt)
    rho, lost0 = initial_masses(initial, grid, gen.hamiltonian.dtype)
    rho = jnp.asarray(rho)
    lost = jnp.zeros((2, 2), dtype)
    args = (gen.channels, ops, jnp.asarray(dt, dtype), per_save)
    t0 = time.perf_counter()
    compiled = advance.lower(rho, lost, *args).compile()
    compile_seconds = time.perf_counter() - t0
    masses = np.empty((n_saves + 1, *rho.shape), rho.dtype)  # one host copy of the saved densities
    sides = np.empty((n_saves + 1, *lost.shape), lost.dtype)
    masses[0], sides[0] = np.asarray(rho), np.asarray(lost)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_saves, unit="save", desc=label or None, dynamic_ncols=True)
    t0 = time.perf_counter()
    for k in range(1, n_saves + 1):
        rho, lost = compiled(rho, lost, *args)
        masses[k], sides[k] = np.asarray(rho), np.asarray(lost)
        if bar is not None:
            bar.update(1)
    run_seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    return gen, masses, sides, lost0, dt, per_save, compile_seconds, run_seconds


def check_cells(model: AbstractModel, grid: PhaseSpaceGrid, allow_non_cp: bool) -> None:
    """``consistency`` on every cell centre: H(z) and the back-reaction must be Hermitian
    everywhere; a generator that is not completely positive at some cell is refused unless
    ``allow_non_cp`` (then ``min_eig`` reports what it does to varrho)."""
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    points = grid.points(dtype).reshape(-1, model.n_coords)
    rel, amount = jax.tree.map(np.asarray, jax.jit(jax.vmap(lambda z: consistency(model, z, True)))(points))
    checks = (2,) if allow_non_cp else (2, 0, 1)
    for c in checks:
        k = int(np.argmax(rel[:, c]))
        if rel[k, c] > CONSISTENCY_RTOL:
            message = consistency_message(c, float(amount[k, c]), "at the master grid cell", points[k], model.coords)
            hint = (
                ""
                if c == 2
                else (
                    "; set master.allow_non_cp = true to integrate it anyway (min_eig then "
                    "shows where varrho stops being positive)"
                )
            )
            raise ValueError(f"master: {message}{hint}")


def _check_memory(grid: PhaseSpaceGrid, d: int, n_saves: int, error_estimate: bool) -> None:
    """Refuse, before integrating, a solution whose saved densities do not fit in host memory: cells
    x d^2 x saves complex entries, once in the run's precision and once in complex64 for the
    results file, plus a quarter of that for the error estimate's coarse run."""
    itemsize = 16 if jax.config.read("jax_enable_x64") else 8
    entries = float(np.prod(grid.cells, dtype=np.float64)) * d * d * (n_saves + 1)
    need = entries * (itemsize + 8) * (1.25 if error_estimate else 1.0)
    check_fits(
        "master",
        int(need),
        host_memory(),
        "use fewer master.cells or run.n_saves (the densities of every saved time are kept)",
    )


def solve_master(
    model: AbstractModel,
    initial: InitialState,
    *,
    t1: float,
    n_saves: int,
    cells: tuple[int, int] = DEFAULT_CELLS,
    extent: dict[str, tuple[float, float]] | None = None,
    dt: float | None = None,
    observables: tuple[str, ...] = (),
    histogram: HistogramSpec | None = None,
    error_estimate: bool = True,
    allow_non_cp: bool = False,
    progress: bool = False,
) -> MasterResult:
    """Integrate the CQ master equation of ``model`` from ``initial`` to ``t1`` on a (q, p) grid.

    The generator is the one the trajectories follow: the CQ master equation of seed 004 eq. (5)
    (Layton et al., "A healthier semi-classical dynamics"), with the back-reaction term
    -d_i(D1^{a0}_i L_a varrho + D1^{0a}_i varrho L_a^dag) (printed there with a + sign, see
    ``lattice.py``), built from the model as in ``lattice.py``, including extra Lindblad channels,
    jumps, and generators that are not completely positive (then ``min_eig`` shows where
    positivity fails). ``cells`` per axis and
    ``extent`` {coordinate: (lo, hi)} fix the grid (default: chosen from the initial state and a
    pilot run, see ``choose_grid``); ``dt`` default: automatic. With ``error_estimate`` the
    discretisation error of every output is estimated from a run with half the cells. The
    generator is checked on every cell (``check_cells``): one that is not completely positive
    somewhere is refused unless ``allow_non_cp``.
    """
    if n_saves < 1:
        raise ValueError(f"run.n_saves: must be >= 1, got {n_saves}")
    if not t1 > 0:
        raise ValueError(f"run.t1: must be > 0, got {t1}")
    if len(model.positions) != 1:
        raise ValueError(f"master: one degree of freedom (q, p) is supported, model has {list(model.coords)}")
    for name, value in (extent or {}).items():
        if name not in model.coords:
            raise ValueError(f"master.{name}: unknown coordinate; have {list(model.coords)}")
        if not (len(value) == 2 and value[1] > value[0]):
            raise ValueError(f"master.{name}: expected [lo, hi] with lo < hi, got {list(value)}")
    for n in cells:
        if n < 1:
            raise ValueError(f"master.cells: need >= 1 cell per axis, got {list(cells)}")
    validate_model(model, jnp.asarray(initial.z_mean)[None], psi_dim=initial.dim)
    if not hermitian_back_reaction(model, jnp.asarray(initial.z_mean)[None]):
        raise ValueError(
            f"master: {type(model).__name__} has a non-Hermitian back-reaction D1^{{a0}} L_a; the lattice "
            'realises Hermitian back-reaction operators only (trajectories run it with run.state = "mixed")'
        )
    names = tuple(observables)
    for name in names:
        parse_observable(name, model)
    grid, grid_info = choose_grid(model, initial, t1, tuple(cells), extent)
    _check_memory(grid, initial.dim, n_saves, error_estimate)
    check_cells(model, grid, allow_non_cp)
    gen, masses, sides, lost0, dt_used, per_save, ct, rt = _integrate(
        model, initial, grid, t1=t1, n_saves=n_saves, dt=dt, progress=progress, label="master"
    )
    t = np.arange(n_saves + 1) * (per_save * dt_used)
    trace = np.real(np.trace(masses, axis1=-2, axis2=-1)).reshape(len(t), -1).sum(-1)
    result = MasterResult(
        t=t,
        grid=grid,
        coords=model.coords,
        masses=masses,
        mean=observable_means(model, names, grid, masses),
        min_eig=min_eig_over_cells(masses),
        trace=trace,
        lost=sides.reshape(len(t), -1).sum(-1) + lost0,
        lost_sides=sides,
        steps=per_save * n_saves,
        dt=dt_used,
        compile_seconds=ct,
        run_seconds=rt,
        completely_positive=gen.completely_positive,
        info={
            **grid_info,
            "cells": list(grid.cells),
            "extent": {c: [grid.lo[i], grid.hi[i]] for i, c in enumerate(model.coords)},
            "rate_bound": gen.rate_bound,
            "initial_lost": lost0,
            "completely_positive": gen.completely_positive,
        },
    )
    if histogram is not None:
        result.histogram = project_histogram(masses, grid, model.coords, histogram)
    coarse_cells = tuple(max(n // 2, 4) if n > 1 else n for n in grid.cells)
    if error_estimate and coarse_cells != grid.cells:
        auto = [c not in (extent or {}) for c in model.coords]
        coarse = align_grid(PhaseSpaceGrid(lo=grid.lo, hi=grid.hi, cells=coarse_cells), model, initial, auto)
        # twice the step as well: the scheme is first order in both, so the difference estimates
        # the spatial and the temporal error of the fine run together
        coarse_dt = 2 * dt_used if per_save % 2 == 0 else dt_used
        _, cm, _, _, _, _, _, rt2 = _integrate(
            model, initial, coarse, t1=t1, n_saves=n_saves, dt=coarse_dt, progress=False, fallback_dt=dt_used
        )
        result.run_seconds += rt2
        cmean = observable_means(model, names, coarse, cm)
        bound = observable_bounds(model, names, grid)
        result.err = {
            k: _SAFETY_FACTOR * np.maximum.accumulate(np.abs(result.mean[k] - cmean[k])) + result.lost * bound[k]
            for k in result.mean
        }
        if histogram is not None:
            ch = project_histogram(cm, coarse, model.coords, histogram)
            diff = result.histogram["density"] - ch["density"]
            axes = 1 + len(histogram.coords)
            result.histogram["err"] = _SAFETY_FACTOR * (
                running_envelope(np.abs(diff.real), axes) + 1j * running_envelope(np.abs(diff.imag), axes)
            )
        result.info["error_estimate_cells"] = list(coarse_cells)
    return result
