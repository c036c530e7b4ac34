"""The figure of an ensemble against the master equation: per observable the ensemble (mean, +-2 SE
band) under the master line and its error band; with a histogram, matrix elements of varrho along the first
histogram coordinate at three times. A grid of at most 4 columns, whatever the number of
observables or d."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..analysis.compare import Comparison, argworst, compare_results
from ._data import as_data
from ._style import MAX_COLS, MAX_PANELS, floor_note, grid_figure, plain_axis, rounding_floor, save_figure, time_colors
from .histogram import select_elements
from .observables import describe_observable

__all__ = ["comparison_figure", "plot_comparison"]

_MASTER = {"color": "C3", "lw": 1.3, "zorder": 4}


def comparison_figure(run, master, comparison: Comparison | None = None) -> Figure:
    """The comparison of ``run`` (an ensemble) with ``master`` (files, loaded dicts or result
    objects); ``comparison`` is computed by ``compare_results`` when not given."""
    run, master = as_data(run), as_data(master)
    if comparison is None:
        comparison = compare_results(run, master)
    names = list(comparison.z)[:MAX_PANELS]
    hist = _histogram_panels(run, master) if comparison.histogram_z is not None else []
    cols = max(1, min(MAX_COLS, max(len(names), len(hist))))
    rows_obs, rows_hist = -(-len(names) // cols), -(-len(hist) // cols)
    rows = max(rows_obs + rows_hist, 1)
    fig, axes = grid_figure(rows, cols, panel=(3.3, 2.5))
    for ax in axes.ravel():
        ax.set_visible(False)
    floor = rounding_floor(run.get("meta"))
    for k, name in enumerate(names):
        _observable_panel(axes[k // cols, k % cols], comparison, run, master, name, floor)
    for k, panel in enumerate(hist):
        panel(axes[rows_obs + k // cols, k % cols])
    if names:
        axes[0, 0].legend(fontsize=6.5, loc="best")
    fig.suptitle(_verdict(comparison, len(comparison.z) - len(names)), fontsize=10)
    return fig


def _observable_panel(ax, comparison: Comparison, run: dict, master: dict, name: str, floor: float) -> None:
    ax.set_visible(True)
    t, x, se, m = comparison.t, run[f"{name}.mean"], run[f"{name}.sem"], master[f"{name}.mean"]
    err = master.get(f"{name}.err")
    ax.fill_between(t, x - 2 * se, x + 2 * se, color="C0", alpha=0.3, lw=0, zorder=1, label="ensemble ± 2 SE")
    ax.plot(t, x, color="C0", lw=0.9, zorder=2, label="ensemble mean")
    ax.plot(t, m, label="master", **_MASTER)
    values = [x - 2 * se, x + 2 * se, m]
    if err is not None:
        ax.fill_between(t, m - err, m + err, color="C3", alpha=0.2, lw=0, zorder=3, label="master ± err")
        values += [m - err, m + err]
    if plain_axis(ax, values, floor):
        floor_note(ax, floor)
    k = argworst(comparison.z[name])  # a NaN is the max, never skipped
    zmax = comparison.z[name][k] if k is not None else np.nan
    ax.set_title(f"{name}  (max |z| {zmax:.2g})", fontsize=8)
    ax.set_ylabel(describe_observable(name), fontsize=8)
    ax.set_xlabel("t", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _histogram_panels(run: dict, master: dict) -> list:
    """Drawers of Re (and, off the diagonal, Im) of the master's largest matrix elements along the
    first histogram coordinate (a 2-D histogram: its marginal) at three times."""
    coords = [str(c) for c in np.atleast_1d(run["histogram.coords"])]
    edges = np.asarray(run[f"histogram.edges.{coords[0]}"], float)
    x, se, m = run["histogram.density"], run["histogram.sem"], master["histogram.density"]
    if len(coords) == 2:  # marginal along the first coordinate
        w2 = np.diff(run[f"histogram.edges.{coords[1]}"])[None, None, :, None, None]
        x, m = (x * w2).sum(2), (m * w2).sum(2)
        se = np.sqrt(((se.real * w2) ** 2).sum(2)) + 1j * np.sqrt(((se.imag * w2) ** 2).sum(2))
    t = np.asarray(run["t"], float)
    times = sorted({len(t) // 3, 2 * len(t) // 3, len(t) - 1})
    centres = 0.5 * (edges[1:] + edges[:-1])
    panels: list = []
    for a, b in select_elements(np.asarray(m), np.diff(edges), max_each=2):
        for label, part in [("Re", np.real)] + ([("Im", np.imag)] if a != b else []):
            first = not panels
            panels.append(_element_drawer(centres, x, se, m, t, times, (a, b), label, part, coords[0], first))
    return panels


def _element_drawer(centres, x, se, m, t, times, ab, label, part, coord, legend: bool):
    a, b = ab

    def draw(ax) -> None:
        ax.set_visible(True)
        for k, color in zip(times, time_colors(len(times))):
            ax.errorbar(
                centres,
                part(x[k, ..., a, b]),
                yerr=2 * part(se[k, ..., a, b]),
                fmt="o",
                ms=2.5,
                lw=0.6,
                color=color,
                alpha=0.6,
                zorder=2,
                label=f"t = {t[k]:.3g}",
            )
            ax.plot(centres, part(m[k, ..., a, b]), "-", lw=1.1, color=color, zorder=4)
        sub = f"{a}{b}" if m.shape[-1] <= 10 else f"{a},{b}"
        ax.set_title(rf"{label} $\varrho_{{{sub}}}$ along {coord} (dots: ensemble, lines: master)", fontsize=7)
        ax.set_xlabel(coord, fontsize=8)
        ax.set_ylabel(f"density per unit {coord}", fontsize=7)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if legend:
            ax.legend(fontsize=6.5, loc="best")

    return draw


def _verdict(comparison: Comparison, hidden: int) -> str:
    n = len(comparison.problems)
    verdict = (
        f"cannot agree: {n} problem{'s' if n > 1 else ''}, see the report"
        if n
        else "agree"
        if comparison.agree
        else "disagree"
    )
    more = f"; {hidden} more observables in the report" if hidden else ""
    return (
        f"ensemble vs master: worst |z| {comparison.worst:.3g}, threshold {comparison.threshold:.3g} ({verdict}){more}"
    )


def plot_comparison(run, master, comparison: Comparison | None, path: str | os.PathLike) -> Path:
    """Write ``comparison_figure(run, master, comparison)`` to ``path`` (PNG); return the path."""
    return save_figure(comparison_figure(run, master, comparison), path, tight=False)
