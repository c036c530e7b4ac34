"""The hybrid density histogram varrho(z, t) = E[delta(z - Z_t) rho_t]: matrix elements against a
histogram coordinate at four saved times, in a grid. For large d only the largest elements are
drawn (at most 4 diagonal and 4 off-diagonal ones, by their weight sum_t,z |varrho_ab| dz), never
all d(d+1)/2 of them; the title says which were chosen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._data import as_data, model_name
from ._style import panel_figure, time_colors
from ._style import title as _title

__all__ = ["histogram_figure", "select_elements", "time_indices"]

_TIMES = 4


def time_indices(n_times: int, k: int = _TIMES) -> np.ndarray:
    """``k`` saved-time indices from the first to the last, evenly spaced (fewer if fewer saved)."""
    return np.unique(np.linspace(0, n_times - 1, k).round().astype(int))


def select_elements(rho: np.ndarray, widths: np.ndarray, max_each: int = 4) -> list[tuple[int, int]]:
    """Matrix elements to draw from ``rho`` (T, bins, d, d): all of them when d(d+1)/2 <= 2 x
    ``max_each``, else the ``max_each`` diagonal and the ``max_each`` off-diagonal (a < b) ones of
    largest weight sum_t,bins |rho_ab| x width (elements of zero weight left out)."""
    d = rho.shape[-1]
    diag = [(a, a) for a in range(d)]
    off = [(a, b) for a in range(d) for b in range(a + 1, d)]
    if len(diag) + len(off) <= 2 * max_each:
        return diag + off
    weight = np.einsum("tbij,b->ij", np.abs(rho), widths)
    keep = weight > 1e-9 * weight.max()
    top_diag = [ab for ab in sorted(diag, key=lambda ab: -weight[ab])[:max_each] if keep[ab]]
    top_off = [ab for ab in sorted(off, key=lambda ab: -weight[ab])[:max_each] if keep[ab]]
    return (sorted(top_diag) + sorted(top_off)) or [(0, 0)]


def _element_name(a: int, b: int, d: int) -> str:
    sub = f"{a}{b}" if d <= 10 else f"{a},{b}"
    return rf"$\varrho_{{{sub}}}$"


def _draw_element(ax, x, rho, sem, idx, t, ab, coord: str) -> None:
    """Re (solid) and, off the diagonal, Im (dashed) of element ``ab`` against ``x`` at the times
    ``idx``; a +-2 SE band at the last."""
    a, b = ab
    colors = time_colors(len(idx))
    parts = [(np.real, "-")] if a == b else [(np.real, "-"), (np.imag, "--")]
    for take, ls in parts:
        for j, color in zip(idx, colors):
            ax.plot(x, take(rho[j, :, a, b]), color=color, ls=ls, lw=1.2)
        centre, err = take(rho[idx[-1], :, a, b]), take(sem[idx[-1], :, a, b])
        ax.fill_between(x, centre - 2 * err, centre + 2 * err, color=colors[-1], alpha=0.2, lw=0)
    d = rho.shape[-1]
    ax.set_title(("Re " if a == b else "") + _element_name(a, b, d) + f" along {coord}", fontsize=8)
    ax.set_xlabel(coord)
    ax.set_ylabel(f"density per unit {coord}", fontsize=7)
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _marginal(density: np.ndarray, sem: np.ndarray, widths: np.ndarray, axis: int):
    """Integrate a 2-D histogram over bin ``axis`` (1 or 2); standard errors in quadrature."""
    shape = [1] * density.ndim
    shape[axis] = widths.size
    w = widths.reshape(shape)
    err = np.sqrt(((sem.real * w) ** 2).sum(axis=axis)) + 1j * np.sqrt(((sem.imag * w) ** 2).sum(axis=axis))
    return (density * w).sum(axis=axis), err


def _legend(ax, t: np.ndarray, idx: np.ndarray, off_diagonal: bool) -> None:
    handles = [Line2D([], [], color=c, lw=1.4, label=f"t = {t[j]:.3g}") for j, c in zip(idx, time_colors(len(idx)))]
    if off_diagonal:
        handles += [Line2D([], [], color="k", ls="-", label="Re"), Line2D([], [], color="k", ls="--", label="Im")]
    ax.legend(handles=handles, fontsize=6.5, loc="best")


def histogram_figure(results) -> Figure:
    """Matrix elements of the histogram against each histogram coordinate (a 2-D histogram: its
    marginals, and Tr varrho over both coordinates at the last time) at four saved times."""
    data = as_data(results)
    density = np.asarray(_require(data, "histogram.density"))
    sem = np.asarray(data.get("histogram.sem", data.get("histogram.err", np.zeros_like(density))))
    names = [str(c) for c in np.atleast_1d(_require(data, "histogram.coords"))]
    edges = [np.asarray(_require(data, f"histogram.edges.{c}"), float) for c in names]
    t = np.asarray(data["t"], float)
    if density.shape[0] != t.size or density.ndim != len(names) + 3 or len(names) not in (1, 2):
        raise ValueError(
            f"'histogram.density' has shape {density.shape}: expected (T = {t.size}, bins per coordinate "
            f"{[e.size - 1 for e in edges]}, d, d) with 1 or 2 coordinates"
        )
    rows = (
        [(names[0], edges[0], density, sem)]
        if len(names) == 1
        else [(names[k], edges[k], *_marginal(density, sem, np.diff(edges[1 - k]), axis=2 - k)) for k in (0, 1)]
    )
    max_each = 4 if len(names) == 1 else 2
    chosen = [select_elements(rho, np.diff(e), max_each) for _, e, rho, _ in rows]
    n_panels = sum(len(c) for c in chosen) + (len(names) == 2)
    fig, axes = panel_figure(n_panels, panel=(3.3, 2.7))
    idx = time_indices(t.size)
    it = iter(axes)
    for (coord, e, rho, err), elements in zip(rows, chosen):
        for ab in elements:
            _draw_element(next(it), 0.5 * (e[1:] + e[:-1]), rho, err, idx, t, ab, coord)
    if len(names) == 2:
        _trace_map(fig, next(it), density[-1], edges, names, t[-1])
    _legend(axes[0], t, idx, any(a != b for a, b in sum(chosen, [])))
    fig.suptitle(_histogram_title(data, density.shape[-1], chosen[0], t, idx), fontsize=10)
    return fig


def _trace_map(fig, ax, density: np.ndarray, edges: Sequence[np.ndarray], names: Sequence[str], t: float) -> None:
    trace = np.einsum("...aa->...", density).real
    mesh = ax.pcolormesh(edges[0], edges[1], trace.T, cmap="magma", shading="flat")
    fig.colorbar(mesh, ax=ax, label=r"Tr $\varrho$")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(rf"Tr $\varrho$ at t = {t:.3g}", fontsize=8)


def _histogram_title(data: Mapping, d: int, elements: list, t: np.ndarray, idx: np.ndarray) -> str:
    n_all = d * (d + 1) // 2
    which = "all matrix elements" if len(elements) >= n_all else f"the {len(elements)} largest of {n_all} elements"
    title = (
        f"hybrid density histogram, d = {d}: {which}; times "
        + ", ".join(f"{t[j]:.3g}" for j in idx)
        + f" (band: ±2 SE at t = {t[idx[-1]]:.3g})"
    )
    if "histogram.outside" in data:
        title += f"\nmass outside the grid at t = {t[-1]:.3g}: {float(np.asarray(data['histogram.outside'])[-1]):.3g}"
    return _title(model_name(data), title)


def _require(data: Mapping, key: str) -> np.ndarray:
    if key not in data:
        raise ValueError(f"results have no {key!r} key")
    return data[key]
