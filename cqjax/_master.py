"""Direct integration of the CQ master equation on a (q, p) grid: grid choice, initial density,
time stepping, observables and diagnostics (the lattice dynamics itself is in ``_lattice.py``).

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

from ._ensemble import HistogramSpec, InitialState
from ._lattice import PhaseSpaceGrid, advance, lattice_generator, step_operators
from ._model import (
    CONSISTENCY_RTOL,
    AbstractJumpModel,
    AbstractModel,
    consistency,
    consistency_message,
    generator,
    hermitian_back_reaction,
    validate_model,
)
from ._observables import parse_observable

__all__ = ["MasterResult", "solve_master", "choose_grid", "initial_masses"]

DEFAULT_CELLS = (128, 128)
_PILOT_CELLS = 64
_LOST_TOL = 1e-6  # per side: the automatic grid grows until the pilot run loses less than this
_TRIM_TOL = 1e-6  # per side: then it shrinks to where the pilot's marginals held more than this
_SAFETY = 0.5  # dt <= _SAFETY / rate_bound
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


# --------------------------------------------------------------------------------------------
# Initial density and grid.


def _moments(initial: InitialState) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(initial.z_mean, float)
    cov = np.zeros((2, 2)) if initial.z_cov is None else np.asarray(initial.z_cov, float)
    return mean, cov


def initial_masses(initial: InitialState, grid: PhaseSpaceGrid, dtype) -> tuple[np.ndarray, float]:
    """Cell masses of N(z_mean, z_cov) |psi><psi| and the probability that lies off the grid.

    Exact cell integrals for an uncorrelated covariance (a point along an axis of zero variance:
    its cell); otherwise the density at 8 x 8 points per cell.
    """
    mean, cov = _moments(initial)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    weights = []
    for i in range(2):
        edges = grid.edges(i)
        if std[i] == 0:
            w = np.zeros(grid.cells[i])
            k = np.searchsorted(edges, mean[i], side="right") - 1
            if not 0 <= k < grid.cells[i]:
                raise ValueError(f"initial.z_mean: {mean[i]} lies outside the master grid "
                                 f"[{edges[0]:.4g}, {edges[-1]:.4g}] along axis {i}")
            w[k] = 1.0
        else:
            cdf = 0.5 * (1 + np.vectorize(math.erf)((edges - mean[i]) / (std[i] * math.sqrt(2))))
            w = np.diff(cdf)
        weights.append(w)
    if std[0] > 0 and std[1] > 0 and abs(cov[0, 1]) > 1e-12 * std[0] * std[1]:
        sub = 8
        pts = [np.linspace(e[0], e[-1], (len(e) - 1) * sub + 1) for e in (grid.edges(0), grid.edges(1))]
        mid = [0.5 * (x[1:] + x[:-1]) for x in pts]
        qq, pp = np.meshgrid(*mid, indexing="ij")
        x = np.stack([qq - mean[0], pp - mean[1]], -1)
        inv = np.linalg.inv(cov)
        dens = np.exp(-0.5 * np.einsum("...i,ij,...j->...", x, inv, x)) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
        dv = (mid[0][1] - mid[0][0]) * (mid[1][1] - mid[1][0])
        mass = (dens * dv).reshape(grid.cells[0], sub, grid.cells[1], sub).sum(axis=(1, 3))
    else:
        mass = np.outer(weights[0], weights[1])
    rho_q = _initial_rho(initial)
    rho = mass[:, :, None, None] * rho_q
    return np.asarray(rho, dtype), float(1.0 - mass.sum())


def _initial_rho(initial: InitialState) -> np.ndarray:
    if initial.rho is not None:
        rho = np.asarray(initial.rho, complex)
        return rho / np.trace(rho).real
    psi = np.asarray(initial.psi, complex)
    psi = psi / np.linalg.norm(psi)
    return np.outer(psi, psi.conj())


def _guess_width(model: AbstractModel, initial: InitialState, t1: float) -> np.ndarray:
    """A first guess of the extent of varrho along each axis by t1, from the rates at z_mean."""
    mean, cov = _moments(initial)
    z = jnp.asarray(mean)
    g = generator(model, z)
    sigma = np.asarray(model.noise(z))
    d2 = 0.5 * np.diag(sigma @ sigma.T)
    force = np.abs(np.asarray(g.force)).reshape(2, -1).max(axis=1)
    width = 12 * np.sqrt(np.diag(cov) + 2 * d2 * t1) + 2 * t1 * (np.abs(np.asarray(g.drift)) + force)
    if isinstance(model, AbstractJumpModel):
        ops, shifts = model.jump_channels(z)
        rates = np.real(np.einsum("kij,kij->k", np.conj(np.asarray(ops)), np.asarray(ops)))
        shifts = np.abs(np.asarray(shifts))
        width = width + 2 * t1 * rates @ shifts + 12 * np.sqrt(t1 * rates @ shifts**2)
    scale = max(float(np.max(width)), 1.0)
    return np.where(width > 0, width, scale)


def _align(lo: float, hi: float, cells: int, centre: float) -> tuple[float, float]:
    """Shift [lo, hi] by less than half a cell so that ``centre`` is a cell centre."""
    delta = (hi - lo) / cells
    k = math.floor((centre - lo) / delta)
    new_lo = centre - (k + 0.5) * delta
    return new_lo, new_lo + cells * delta


def choose_grid(
    model: AbstractModel,
    initial: InitialState,
    t1: float,
    cells: tuple[int, int] = DEFAULT_CELLS,
    extent: dict[str, tuple[float, float]] | None = None,
) -> tuple[PhaseSpaceGrid, dict]:
    """The grid: ``extent`` where given, else grown from a guess until a coarse pilot run loses
    less than 1e-6 of the probability through each side by t1. A coordinate nothing moves and the
    initial state holds at one value gets a single cell (the reduced form: one 1-D problem)."""
    extent = dict(extent or {})
    mean, cov = _moments(initial)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    names = model.coords
    width = _guess_width(model, initial, t1)
    lo = [float(extent[c][0]) if c in extent else float(mean[i] - 0.5 * width[i]) for i, c in enumerate(names)]
    hi = [float(extent[c][1]) if c in extent else float(mean[i] + 0.5 * width[i]) for i, c in enumerate(names)]
    auto = [c not in extent for c in names]
    cells = list(cells)
    pilot_cells = tuple(min(n, _PILOT_CELLS) for n in cells)
    moves = (True, True)
    rounds = 0
    for rounds in range(12):
        pilot = PhaseSpaceGrid(lo=tuple(lo), hi=tuple(hi), cells=pilot_cells)
        gen = lattice_generator(model, pilot)
        moves = gen.moves
        if not any(a and m for a, m in zip(auto, moves)):
            break
        sides, reach = _pilot_run(gen, initial, pilot, t1)
        grew = False
        for i in range(2):
            if not (auto[i] and moves[i]):
                continue
            w = hi[i] - lo[i]
            if sides[i, 0] > _LOST_TOL:
                lo[i] -= w
                grew = True
            if sides[i, 1] > _LOST_TOL:
                hi[i] += w
                grew = True
        if not grew:  # trim what the pilot barely reached (1e-6 of the mass per side), keep 2 cells more
            for i in range(2):
                if auto[i] and moves[i]:
                    first, last = reach[i]
                    e = pilot.edges(i)
                    lo[i], hi[i] = float(e[max(first - 2, 0)]), float(e[min(last + 3, pilot_cells[i])])
            break
    reduced = []
    for i in range(2):
        if auto[i] and not moves[i]:
            if std[i] == 0:
                cells[i] = 1
                lo[i], hi[i] = mean[i] - 0.5, mean[i] + 0.5
                reduced.append(names[i])
            else:
                lo[i], hi[i] = mean[i] - 7 * std[i], mean[i] + 7 * std[i]
    grid = align_grid(PhaseSpaceGrid(lo=lo, hi=hi, cells=cells), model, initial, auto)
    return grid, {"pilot_rounds": rounds + 1, "single_value": reduced,
                  "conserved": [c for c, m in zip(names, moves) if not m]}


def _pilot_run(gen, initial, grid, t1, segments: int = 8) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Mass lost per (axis, side) by t1, and per axis the first and last cell of the range outside
    which at most 1e-6 of the mass ever lies on either side (from the marginals at ``segments``
    times)."""
    dtype = jnp.real(gen.hamiltonian).dtype
    rho, _ = initial_masses(initial, grid, gen.hamiltonian.dtype)
    # small steps: the explicit lattice moves mass at most one cell per step, so a coarse step
    # would cut off the tails the pilot is there to find
    per = max(1, math.ceil(max(t1 * gen.rate_bound / 0.1, 4 * max(grid.cells)) / segments))
    dt = t1 / (per * segments)
    ops = step_operators(gen, dt)
    rho, lost = jnp.asarray(rho), jnp.zeros((2, 2), dtype)
    reach = [np.zeros(grid.cells[0]), np.zeros(grid.cells[1])]
    for k in range(segments + 1):
        if k:
            rho, lost = advance(rho, lost, gen.channels, ops, jnp.asarray(dt, dtype), per)
        tr = np.real(np.trace(np.asarray(rho), axis1=-2, axis2=-1))
        reach = [np.maximum(reach[0], tr.sum(1)), np.maximum(reach[1], tr.sum(0))]
    spans = []
    for r in reach:  # keep the cells inside which all but _TRIM_TOL of the largest marginal lies
        low = np.nonzero(np.cumsum(r) > _TRIM_TOL)[0]
        high = np.nonzero(np.cumsum(r[::-1]) > _TRIM_TOL)[0]
        spans.append((int(low[0]), len(r) - 1 - int(high[0])) if low.size and high.size else (0, len(r) - 1))
    return np.asarray(lost), spans


def _jump_shifts(model: AbstractModel, initial: InitialState) -> np.ndarray:
    """|shift| per jump channel and axis (k, 2) at z_mean; empty for models without jumps."""
    if not isinstance(model, AbstractJumpModel):
        return np.zeros((0, 2))
    _, shifts = model.jump_channels(jnp.asarray(initial.z_mean))
    return np.abs(np.asarray(shifts, float))


def align_grid(grid: PhaseSpaceGrid, model: AbstractModel, initial: InitialState,
               axes=(True, True)) -> PhaseSpaceGrid:
    """Adjust the automatic axes of a grid: a spacing that divides the smallest jump shift along
    the axis (more cells, same extent; jumps then land on cells exactly), and a shift by less
    than half a cell where the initial state is a point, so that the point is a cell centre."""
    mean, cov = _moments(initial)
    shifts = _jump_shifts(model, initial)
    lo, hi, cells = list(grid.lo), list(grid.hi), list(grid.cells)
    for i in range(2):
        if not axes[i] or cells[i] == 1:
            continue
        s = shifts[:, i][shifts[:, i] > 0] if shifts.size else np.zeros(0)
        if s.size:
            delta = (hi[i] - lo[i]) / cells[i]
            delta = float(s.min()) / math.ceil(float(s.min()) / delta - 1e-9)
            cells[i] = math.ceil((hi[i] - lo[i]) / delta - 1e-9)
            hi[i] = lo[i] + cells[i] * delta
        if cov[i, i] == 0:
            lo[i], hi[i] = _align(lo[i], hi[i], cells[i], float(mean[i]))
    return PhaseSpaceGrid(lo=lo, hi=hi, cells=cells)


# --------------------------------------------------------------------------------------------
# Time stepping.


def _time_step(gen, t1: float, n_saves: int, dt: float | None, fallback: float | None = None) -> tuple[float, int]:
    """(dt, steps per save): automatic, or the user's dt checked against stability (an unstable
    dt raises, or with ``fallback`` gives way to it)."""
    interval = t1 / n_saves
    if dt is not None and fallback is not None and dt * gen.rate_bound > 1.0:
        dt = fallback
    if dt is None:
        limits = [_SAFETY / gen.rate_bound if gen.rate_bound > 0 else interval]
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
    saves = [np.asarray(rho)]
    sides = [np.asarray(lost)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_saves, unit="save", desc=label or None, dynamic_ncols=True)
    t0 = time.perf_counter()
    for _ in range(n_saves):
        rho, lost = compiled(rho, lost, *args)
        saves.append(np.asarray(rho))
        sides.append(np.asarray(lost))
        if bar is not None:
            bar.update(1)
    run_seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    masses = np.stack(saves)
    return gen, masses, np.stack(sides), lost0, dt, per_save, compile_seconds, run_seconds


def _coordinate_factors(model, names, grid):
    """(name, f(z_c) on the grid cells, operator or None) for each non-built-in observable."""
    pts = grid.mesh()
    for name in names:
        obs = parse_observable(name, model)
        if obs.builtin is not None:  # purity, norm_error: properties of trajectories, not of varrho
            continue
        f = np.ones(pts.shape[:2])
        for i in obs.coord_indices:
            f = f * pts[..., i]
        yield name, f, None if obs.operator is None else np.asarray(obs.operator, complex)


def _observable_means(model, names, grid, masses) -> dict[str, np.ndarray]:
    """sum_c f(z_c) Tr(O masses_c) per saved time."""
    out = {}
    for name, f, op in _coordinate_factors(model, names, grid):
        if op is None:
            val = np.real(np.trace(masses, axis1=-2, axis2=-1))
        else:
            val = np.real(np.einsum("ij,...ji->...", op, masses))
        out[name] = np.einsum("ab,tab->t", f, val)
    return out


def _observable_bounds(model, names, grid) -> dict[str, float]:
    """max over the grid of |f(z)| ||O||: what a unit of mass off the grid can change an observable by."""
    out = {}
    for name, f, op in _coordinate_factors(model, names, grid):
        norm = 1.0 if op is None else float(np.max(np.abs(np.linalg.eigvalsh(op))))
        out[name] = float(np.max(np.abs(f))) * norm
    return out


def _overlap(edges_bins: np.ndarray, grid: PhaseSpaceGrid, axis: int) -> np.ndarray:
    """W[bin, cell]: the fraction of each cell (uniform density inside it) that lies in each bin;
    a single-cell axis holds a point, which belongs to the bin containing it."""
    if grid.cells[axis] == 1:
        c = grid.centres(axis)[0]
        w = ((edges_bins[:-1] <= c) & (c < edges_bins[1:])).astype(float)
        return w[:, None]
    e = grid.edges(axis)
    lo = np.maximum(edges_bins[:-1, None], e[None, :-1])
    hi = np.minimum(edges_bins[1:, None], e[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(e)[None, :]


def project_histogram(masses: np.ndarray, grid: PhaseSpaceGrid, coords: tuple[str, ...],
                      spec: HistogramSpec) -> dict[str, np.ndarray]:
    """varrho averaged over the histogram's bins (the quantity an ensemble histogram estimates)."""
    axes = [coords.index(c) for c in spec.coords]
    w = [_overlap(e, grid, a) for e, a in zip(spec.edges(), axes)]
    if len(axes) == 1:
        other = 1 - axes[0]
        marginal = masses.sum(axis=1 + other)  # (T, N_axis, d, d)
        binned = np.einsum("bc,tcij->tbij", w[0], marginal)
    else:
        wq, wp = (w[0], w[1]) if axes == [0, 1] else (w[1], w[0])
        binned = np.einsum("xa,yb,tabij->txyij", wq, wp, masses)
        if axes != [0, 1]:
            binned = np.swapaxes(binned, 1, 2)
    inside = np.real(np.trace(binned, axis1=-2, axis2=-1)).reshape(binned.shape[0], -1).sum(-1)
    total = np.real(np.trace(masses, axis1=-2, axis2=-1)).reshape(masses.shape[0], -1).sum(-1)
    out = {"density": binned / spec.cell_volume, "coords": np.array(spec.coords),
           "outside": total - inside}
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out


def _min_eig(masses: np.ndarray) -> np.ndarray:
    herm = 0.5 * (masses + np.conj(np.swapaxes(masses, -1, -2)))
    ev = np.linalg.eigvalsh(herm)  # (T, Nq, Np, d)
    tr = np.real(np.trace(masses, axis1=-2, axis2=-1))
    t = ev.shape[0]
    return ev.reshape(t, -1).min(-1) / np.maximum(tr.reshape(t, -1).max(-1), 1e-300)


def _envelope(x: np.ndarray, n_axes: int) -> np.ndarray:
    """Max over each entry and its neighbours along the first ``n_axes`` axes (time, bins).

    A difference of two solutions can vanish where they cross while neither is exact there; the
    envelope keeps the error estimate of the surrounding entries."""
    out = x.copy()
    for axis in range(n_axes):
        n = x.shape[axis]
        if n < 2:
            continue
        lo = [slice(None)] * x.ndim
        hi = [slice(None)] * x.ndim
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        grown = out.copy()
        grown[tuple(lo)] = np.maximum(grown[tuple(lo)], out[tuple(hi)])
        grown[tuple(hi)] = np.maximum(grown[tuple(hi)], out[tuple(lo)])
        out = grown
    return out


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
            hint = "" if c == 2 else ("; set master.allow_non_cp = true to integrate it anyway (min_eig then "
                                      "shows where varrho stops being positive)")
            raise ValueError(f"master: {message}{hint}")


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

    The generator is the one the trajectories follow (PHYSICS.md section 2, built from the model as
    in ``_lattice.py``), including extra Lindblad channels, jumps, and generators that are not
    completely positive (then ``min_eig`` shows where positivity fails). ``cells`` per axis and
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
    for i, n in enumerate(cells):
        if n < 1:
            raise ValueError(f"master.cells: need >= 1 cell per axis, got {list(cells)}")
    validate_model(model, jnp.asarray(initial.z_mean)[None], psi_dim=initial.dim)
    if not hermitian_back_reaction(model, jnp.asarray(initial.z_mean)[None]):
        raise ValueError(
            f"master: {type(model).__name__} has a non-Hermitian back-reaction D1^{{a0}} L_a; the lattice "
            "realises Hermitian back-reaction operators only (trajectories run it with run.state = \"mixed\")"
        )
    names = tuple(observables)
    for name in names:
        parse_observable(name, model)
    grid, grid_info = choose_grid(model, initial, t1, tuple(cells), extent)
    check_cells(model, grid, allow_non_cp)
    gen, masses, sides, lost0, dt_used, per_save, ct, rt = _integrate(
        model, initial, grid, t1=t1, n_saves=n_saves, dt=dt, progress=progress, label="master")
    t = np.arange(n_saves + 1) * (per_save * dt_used)
    trace = np.real(np.trace(masses, axis1=-2, axis2=-1)).reshape(len(t), -1).sum(-1)
    result = MasterResult(
        t=t, grid=grid, coords=model.coords, masses=masses,
        mean=_observable_means(model, names, grid, masses),
        min_eig=_min_eig(masses), trace=trace, lost=sides.reshape(len(t), -1).sum(-1) + lost0,
        lost_sides=sides, steps=per_save * n_saves, dt=dt_used, compile_seconds=ct, run_seconds=rt,
        completely_positive=gen.completely_positive,
        info={**grid_info, "cells": list(grid.cells), "extent": {c: [grid.lo[i], grid.hi[i]]
              for i, c in enumerate(model.coords)}, "rate_bound": gen.rate_bound,
              "initial_lost": lost0, "completely_positive": gen.completely_positive},
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
        _, cm, _, _, _, _, _, rt2 = _integrate(model, initial, coarse, t1=t1, n_saves=n_saves, dt=coarse_dt,
                                               progress=False, fallback_dt=dt_used)
        result.run_seconds += rt2
        cmean = _observable_means(model, names, coarse, cm)
        bound = _observable_bounds(model, names, grid)
        result.err = {k: _SAFETY_FACTOR * np.maximum.accumulate(np.abs(result.mean[k] - cmean[k]))
                      + result.lost * bound[k] for k in result.mean}
        if histogram is not None:
            ch = project_histogram(cm, coarse, model.coords, histogram)
            diff = result.histogram["density"] - ch["density"]
            axes = 1 + len(histogram.coords)
            result.histogram["err"] = _SAFETY_FACTOR * (_envelope(np.abs(diff.real), axes)
                                                        + 1j * _envelope(np.abs(diff.imag), axes))
        result.info["error_estimate_cells"] = list(coarse_cells)
    return result
