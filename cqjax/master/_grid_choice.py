"""The automatic grid: extents from the initial state and a coarse pilot run, spacings commensurate with the jumps."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..models._base import AbstractJumpModel, AbstractModel
from ..models._generator import generator
from ..spec.initial import InitialState, MixtureState
from ._initial import initial_masses, initial_moments
from .grid import PhaseSpaceGrid, default_cells
from .lattice import advance, lattice_generator, step_operators

_PILOT_CELLS = 64  # per axis at most


_PILOT_TOTAL = 2**14  # cells in all at most (a 4-D pilot: 11 per axis)


_LOST_TOL = 1e-6  # per side: the automatic grid grows until the pilot run loses less than this


_TRIM_TOL = 1e-6  # per side: then it shrinks to where the pilot's marginals held more than this


_REFINE = 0.8  # a trim that narrows an axis to less than this fraction is piloted again


_REFINEMENTS = 2  # at most this many pilots on trimmed (finer) extents


_FINE_TOTAL = 2**16  # cells in all at most of a refining pilot with second-order transport (256^2, 16^4)


STEP_SAFETY = 0.5  # dt <= STEP_SAFETY / rate_bound


def _guess_width(model: AbstractModel, initial: InitialState | MixtureState, t1: float) -> np.ndarray:
    """A first guess of the extent of varrho along each axis by t1, from the rates at z_mean."""
    mean, cov = initial_moments(initial)
    z = jnp.asarray(mean)
    g = generator(model, z)
    sigma = np.asarray(model.noise(z))
    d2 = 0.5 * np.diag(sigma @ sigma.T)
    force = np.abs(np.asarray(g.force)).reshape(len(mean), -1).max(axis=1)
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
    initial: InitialState | MixtureState,
    t1: float,
    cells: tuple[int, ...] | None = None,
    extent: dict[str, tuple[float, float]] | None = None,
    progress: bool = False,
    transport: str = "upwind",
) -> tuple[PhaseSpaceGrid, dict]:
    """The grid: ``extent`` where given, else grown from a guess until a coarse pilot run (with the
    run's ``transport``) loses less than 1e-6 of the probability through each side by t1. A
    coordinate nothing moves and the initial state holds at one value gets a single cell (the
    reduced form: one 1-D problem). ``progress``: a bar that counts the pilot runs."""
    extent = dict(extent or {})
    mean, cov = initial_moments(initial)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    names = model.coords
    auto = [c not in extent for c in names]
    width = _guess_width(model, initial, t1) if any(auto) else np.ones(len(names))
    lo = [float(extent[c][0]) if c in extent else float(mean[i] - 0.5 * width[i]) for i, c in enumerate(names)]
    hi = [float(extent[c][1]) if c in extent else float(mean[i] + 0.5 * width[i]) for i, c in enumerate(names)]
    cells = list(cells or default_cells(len(names)))
    per_axis = max(8, min(_PILOT_CELLS, math.floor(_PILOT_TOTAL ** (1 / len(names)))))
    pilot_cells = tuple(min(n, per_axis) for n in cells)
    fine_axis = max(8, math.floor(_FINE_TOTAL ** (1 / len(names))))
    fine_cells = pilot_cells if transport == "upwind" else tuple(min(n, fine_axis) for n in cells)
    moves, rounds = _grow(model, initial, t1, lo, hi, auto, (pilot_cells, fine_cells), progress, transport)
    reduced = []
    for i in range(len(names)):
        if auto[i] and not moves[i]:
            if std[i] == 0:
                cells[i] = 1
                lo[i], hi[i] = mean[i] - 0.5, mean[i] + 0.5
                reduced.append(names[i])
            else:
                lo[i], hi[i] = mean[i] - 7 * std[i], mean[i] + 7 * std[i]
    grid = align_grid(PhaseSpaceGrid(lo=lo, hi=hi, cells=cells), model, initial, auto)
    info = {"pilot_rounds": rounds, "single_value": reduced}
    if any(auto):
        info["conserved"] = [c for c, m in zip(names, moves) if not m]
    return grid, info


def _grow(model, initial, t1, lo, hi, auto, cells, progress, transport) -> tuple[tuple[bool, ...], int]:
    """Widen ``lo``/``hi`` (in place) along the automatic axes until a pilot run on ``cells[0]``
    loses less than ``_LOST_TOL`` per side, then trim them to what the pilot reached; while a trim
    narrows an axis by more than ``_REFINE``, pilot again on the narrower extents with ``cells[1]``
    (the run's own cells, up to ``_FINE_TOTAL``, for second-order transport) and trim again, at
    most ``_REFINEMENTS`` times: a coarse pilot's own numerical spreading widens the tails it sees.
    Returns which axes anything moves along and the number of pilot runs. The pilot moves the drift
    as the run will (``transport``): upwind jumps spread the tails by a numerical diffusion (a
    Poisson tail of one-cell jumps) that second-order transport does not have."""
    moves, rounds, trims = (True,) * len(lo), 0, 0
    if not any(auto):  # every extent given: nothing to pilot (the run's lattice says what moves)
        return moves, rounds
    bar = _pilot_bar() if progress else None
    for _ in range(12):
        pilot = PhaseSpaceGrid(lo=tuple(lo), hi=tuple(hi), cells=cells[min(trims, 1)])
        gen = lattice_generator(model, pilot, transport=transport)
        moves = gen.moves
        axes = [i for i in range(len(lo)) if auto[i] and moves[i]]
        if not axes:
            break
        sides, reach = _pilot_run(gen, initial, pilot, t1)
        rounds += 1
        if bar is not None:
            bar.update(1)
        if _widen(lo, hi, axes, sides, 1.0 if trims == 0 else 0.25):
            continue
        narrowest = 1.0
        for i in axes:  # trim what the pilot barely reached (1e-6 of the mass per side), keep 2 cells more
            first, last = reach[i]
            e = pilot.edges(i)
            width = hi[i] - lo[i]
            lo[i], hi[i] = float(e[max(first - 2, 0)]), float(e[min(last + 3, pilot.cells[i])])
            narrowest = min(narrowest, (hi[i] - lo[i]) / width)
        trims += 1
        if narrowest > _REFINE or trims > _REFINEMENTS:
            break
    if bar is not None:
        bar.close()
    return moves, rounds


def _widen(lo, hi, axes, sides, factor: float) -> bool:
    """Widen (in place) each side of the ``axes`` through which the pilot lost more than
    ``_LOST_TOL`` by ``factor`` times the axis' width; whether any side was widened."""
    grew = False
    for i in axes:
        w = hi[i] - lo[i]
        if sides[i, 0] > _LOST_TOL:
            lo[i] -= factor * w
            grew = True
        if sides[i, 1] > _LOST_TOL:
            hi[i] += factor * w
            grew = True
    return grew


def _pilot_bar():
    from tqdm.auto import tqdm

    return tqdm(total=None, unit="pilot run", desc="master (grid pilot)", dynamic_ncols=True)


def _pilot_run(gen, initial, grid, t1, segments: int = 8) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Mass lost per (axis, side) by t1, and per axis the first and last cell of the range outside
    which at most 1e-6 of the mass ever lies on either side (from the marginals at ``segments``
    times)."""
    dtype = jnp.real(gen.hamiltonian).dtype
    rho, _ = initial_masses(initial, grid, gen.hamiltonian.dtype)
    # upwind: small steps (the jumps move mass at most one cell per step, so a coarse step would cut
    # off the Poisson tails the pilot is there to find); second order: the run's own step
    if gen.channels.transport == "upwind":
        per = max(1, math.ceil(max(t1 * gen.rate_bound / 0.1, 4 * max(grid.cells)) / segments))
    else:
        per = max(1, math.ceil(t1 * gen.rate_bound / STEP_SAFETY / segments))
    dt = t1 / (per * segments)
    ops = step_operators(gen, dt)
    n = grid.ndim
    rho, lost = jnp.asarray(rho), jnp.zeros((n, 2), dtype)
    reach = [np.zeros(c) for c in grid.cells]
    for k in range(segments + 1):
        if k:
            rho, lost = advance(rho, lost, gen.channels, ops, jnp.asarray(dt, dtype), per)
        tr = np.real(np.trace(np.asarray(rho), axis1=-2, axis2=-1))
        reach = [np.maximum(r, tr.sum(axis=tuple(a for a in range(n) if a != i))) for i, r in enumerate(reach)]
    spans = []
    for r in reach:  # keep the cells inside which all but _TRIM_TOL of the largest marginal lies
        low = np.nonzero(np.cumsum(r) > _TRIM_TOL)[0]
        high = np.nonzero(np.cumsum(r[::-1]) > _TRIM_TOL)[0]
        spans.append((int(low[0]), len(r) - 1 - int(high[0])) if low.size and high.size else (0, len(r) - 1))
    return np.asarray(lost), spans


def _jump_shifts(model: AbstractModel, initial: InitialState | MixtureState) -> np.ndarray:
    """|shift| per jump channel and axis (k, n) at z_mean; empty for models without jumps."""
    if not isinstance(model, AbstractJumpModel):
        return np.zeros((0, model.n_coords))
    _, shifts = model.jump_channels(jnp.asarray(initial.z_mean))
    return np.abs(np.asarray(shifts, float))


def align_grid(
    grid: PhaseSpaceGrid, model: AbstractModel, initial: InitialState | MixtureState, axes=None
) -> PhaseSpaceGrid:
    """Adjust the automatic axes of a grid: a spacing that divides the smallest jump shift along
    the axis (more cells, same extent; jumps then land on cells exactly), and a shift by less
    than half a cell where the initial state is a point, so that the point is a cell centre."""
    mean, cov = initial_moments(initial)
    shifts = _jump_shifts(model, initial)
    lo, hi, cells = list(grid.lo), list(grid.hi), list(grid.cells)
    axes = [True] * grid.ndim if axes is None else axes
    for i in range(grid.ndim):
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
