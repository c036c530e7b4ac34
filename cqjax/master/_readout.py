"""What is read off the grid: observable means and bounds, the histogram projection, min_eig."""

from __future__ import annotations

import numpy as np

from ..spec.histogram import HistogramSpec
from ..spec.observables import parse_observable
from .grid import PhaseSpaceGrid


def _coordinate_factors(model, names, grid):
    """(name, f(z_c) on the grid cells, operator or None) for each non-built-in observable."""
    pts = grid.mesh()
    for name in names:
        obs = parse_observable(name, model)
        if not obs.linear:  # purity, norm_error, products of expectations: properties of trajectories, not of varrho
            continue
        f = np.ones(pts.shape[:2])
        for i in obs.coord_indices:
            f = f * pts[..., i]
        yield name, f, None if obs.operator is None else np.asarray(obs.operator, complex)


def observable_means(model, names, grid, masses) -> dict[str, np.ndarray]:
    """sum_c f(z_c) Tr(O masses_c) per saved time."""
    out = {}
    for name, f, op in _coordinate_factors(model, names, grid):
        if op is None:
            val = np.real(np.trace(masses, axis1=-2, axis2=-1))
        else:
            val = np.real(np.einsum("ij,...ji->...", op, masses))
        out[name] = np.einsum("ab,tab->t", f, val)
    return out


def observable_bounds(model, names, grid) -> dict[str, float]:
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


def project_histogram(
    masses: np.ndarray, grid: PhaseSpaceGrid, coords: tuple[str, ...], spec: HistogramSpec
) -> dict[str, np.ndarray]:
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
    out = {"density": binned / spec.cell_volume, "coords": np.array(spec.coords), "outside": total - inside}
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out


def min_eig_over_cells(masses: np.ndarray) -> np.ndarray:
    herm = 0.5 * (masses + np.conj(np.swapaxes(masses, -1, -2)))
    ev = np.linalg.eigvalsh(herm)  # (T, Nq, Np, d)
    tr = np.real(np.trace(masses, axis1=-2, axis2=-1))
    t = ev.shape[0]
    return ev.reshape(t, -1).min(-1) / np.maximum(tr.reshape(t, -1).max(-1), 1e-300)


def running_envelope(x: np.ndarray, n_axes: int) -> np.ndarray:
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
