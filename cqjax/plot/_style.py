"""What every cqjax figure shares: readable grids, plain axes with a rounding floor, atomic saving.

Figures are built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas: no pyplot
state is created and the caller's backend is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._files import write_atomic

DPI = 110
MAX_COLS = 4  # panels per row in a grid
MAX_PANELS = 24  # observable panels per figure; the rest are named in the title
PANEL = (3.3, 2.5)  # inches per panel
MAX_INCHES = 34.0  # a figure side never exceeds this (34 in x 110 dpi = 3740 px)


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DPI, tight: bool = True) -> Path:
    """Render ``fig`` with Agg and write it to ``path`` as a PNG (atomically, folders created);
    ``tight``: crop to the drawn artists (a second layout pass; cqjax's own grids are laid out
    already and skip it)."""
    FigureCanvasAgg(fig)
    kw = {"bbox_inches": "tight"} if tight else {}
    write_atomic(Path(path), lambda f: fig.savefig(f, dpi=dpi, format="png", **kw))
    return Path(path)


def grid(n: int, max_cols: int = MAX_COLS) -> tuple[int, int]:
    """Rows and columns for ``n`` panels: at most ``max_cols`` per row."""
    cols = max(1, min(n, max_cols))
    return -(-max(n, 1) // cols), cols


# Fixed margins in inches (a constrained or tight layout measures every tick label: several times
# slower for a grid of panels): left for the y label, top for a two-line title, gaps for the
# panel titles, tick labels and axis labels.
_LEFT, _RIGHT, _TOP, _BOTTOM, _WGAP, _HGAP = 0.8, 0.25, 0.9, 0.55, 0.85, 0.75


def grid_figure(rows: int, cols: int, panel: tuple[float, float] = PANEL, **subplots_kw):
    """A figure of ``rows`` x ``cols`` panels of ``panel`` inches with fixed margins; each side
    capped at ``MAX_INCHES`` (the panels shrink). Returns (fig, axes (rows, cols))."""
    width = min(cols * panel[0] + (cols - 1) * _WGAP + _LEFT + _RIGHT, MAX_INCHES)
    height = min(rows * panel[1] + (rows - 1) * _HGAP + _TOP + _BOTTOM, MAX_INCHES)
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(rows, cols, squeeze=False, **subplots_kw)
    pw = (width - _LEFT - _RIGHT - (cols - 1) * _WGAP) / cols
    ph = (height - _TOP - _BOTTOM - (rows - 1) * _HGAP) / rows
    fig.subplots_adjust(
        left=_LEFT / width,
        right=1 - _RIGHT / width,
        bottom=_BOTTOM / height,
        top=1 - _TOP / height,
        wspace=_WGAP / pw,
        hspace=_HGAP / ph,
    )
    return fig, axes


def panel_figure(n: int, panel: tuple[float, float] = PANEL, **subplots_kw):
    """A figure with ``n`` panels in a grid of at most ``MAX_COLS`` columns (unused cells hidden);
    returns (fig, axes[:n])."""
    rows, cols = grid(n)
    fig, axes = grid_figure(rows, cols, panel, **subplots_kw)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def label_bottom_row(axes: Sequence, n_cols: int, xlabel: str) -> None:
    """x label and tick labels on the lowest panel of each column (shared x axes hide the rest)."""
    for col in range(min(n_cols, len(axes))):
        ax = axes[col + (len(axes) - 1 - col) // n_cols * n_cols]
        ax.set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)


def rounding_floor(meta: Mapping | None) -> float:
    """The relative size below which a value is rounding of the run's precision: 10 x its machine
    epsilon (float32 unless the config says float64), the floor ``compare_results`` uses too."""
    precision = "float32"
    if isinstance(meta, Mapping):
        precision = meta.get("config", {}).get("run", {}).get("precision", "float32")
    return 10 * float(np.finfo(np.float32 if precision == "float32" else np.float64).eps)


def plain_axis(ax, values: Sequence[np.ndarray], floor: float) -> bool:
    """Plain tick labels (no offset, no scientific multiplier on numbers near 1) and a y range at
    least ``floor x max(1, |y|)`` either side of the data's middle, so that rounding noise is drawn
    flat. Returns True where the floor set the range (the caller says so on the panel)."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    finite = np.concatenate([np.ravel(np.asarray(v, float)) for v in values])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return False
    lo, hi = float(finite.min()), float(finite.max())
    half = floor * max(1.0, abs(lo), abs(hi))
    if hi - lo >= 2 * half:
        if max(abs(lo), abs(hi)) < 1e-3 and hi > lo:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
        return False
    mid = 0.5 * (lo + hi)
    ax.set_ylim(mid - half, mid + half)
    if abs(mid) < 1e-3:  # a floor around zero: show it as +-floor, not 0.00000
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
    return True


def floor_note(ax, floor: float) -> None:
    """Say on the panel that its range is the rounding floor."""
    ax.text(
        0.02,
        0.04,
        f"flat within rounding (axis floor ±{floor:.0e})",
        transform=ax.transAxes,
        fontsize=6.5,
        color="0.35",
    )


def sample_colors(k: int) -> list:
    """One colour per sample trajectory (shared across figures)."""
    if k <= 10:
        return [colormaps["tab10"](i) for i in range(k)]
    return list(colormaps["viridis"](np.linspace(0.0, 0.95, k)))


def time_colors(n: int) -> list:
    """Colours for ``n`` saved times, early (light) to late (dark)."""
    return list(colormaps["viridis"](np.linspace(0.85, 0.0, n)))


def title(model: str | None, what: str) -> str:
    """Figure title, prefixed by the model name when known."""
    return f"{model}: {what}" if model else what


def jumps(path: np.ndarray, factor: float = 8.0, minimum: float = 0.2) -> np.ndarray:
    """Indices i where the step path[i] -> path[i+1] is a jump rather than a diffusive move: longer
    than ``factor`` x the median step and than ``minimum`` x the path's extent. ``path`` (T, k)."""
    step = np.linalg.norm(np.diff(path, axis=0), axis=-1)
    if step.size < 3:
        return np.zeros(0, int)
    extent = float(np.ptp(path, axis=0).max()) if path.size else 0.0
    typical = float(np.median(step))
    return np.flatnonzero((step > factor * typical) & (step > minimum * extent))


def pieces(path: np.ndarray, cut: np.ndarray) -> list[np.ndarray]:
    """``path`` (T, k) split after each index in ``cut``: the continuous pieces between jumps."""
    return np.split(path, np.asarray(cut) + 1)
