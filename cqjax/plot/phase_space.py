"""Classical sample paths: p_i against q_i per canonical pair, or p_i against t where q_i does not
move (seed 000: q is conserved, so the (q, p) portrait would be vertical lines). A jump between two
saved times is drawn dotted between its two ends, never as a stretch of the path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._data import as_data, model_name
from ._style import MAX_PANELS, jumps, panel_figure, pieces, sample_colors
from ._style import title as _title

__all__ = ["draw_path", "phase_space_figure"]


def draw_path(
    ax, x: np.ndarray, y: np.ndarray, color, lw: float = 1.0, ends: bool = True, has_jumps: bool = True
) -> int:
    """One path y(x): continuous pieces as lines; with ``has_jumps`` (a jump unravelling) a jump
    dotted with its landing point marked; a dot at the start and a cross at the end. Returns the
    number of jumps drawn."""
    xy = np.stack([x, y], axis=-1)
    scale = np.ptp(xy, axis=0)
    cut = jumps(xy / np.where(scale > 0, scale, 1.0)) if has_jumps else np.zeros(0, int)
    for piece in pieces(xy, cut):
        ax.plot(*piece.T, color=color, lw=lw, alpha=0.9)
    for i in cut:
        ax.plot(*xy[i : i + 2].T, color=color, lw=0.7, ls=":")
        ax.plot(*xy[i + 1], marker=".", color=color, ms=4)
    if ends:
        ax.plot(*xy[0], marker="o", color=color, ms=4.5, mec="k", mew=0.5)
        ax.plot(*xy[-1], marker="x", color=color, ms=6, mew=1.6)
    return len(cut)


def _conserved(q: np.ndarray) -> bool:
    """True when a coordinate does not move along any sample path (to rounding)."""
    return bool(np.all(np.ptp(q, axis=1) <= 1e-6 * max(1.0, float(np.max(np.abs(q))))))


def phase_space_figure(results, coords: Sequence[str] | None = None) -> Figure:
    """The sample trajectories' classical paths, one panel per canonical pair (q_i, p_i) in a grid
    (at most 24 panels): p_i against q_i, or against t where q_i is conserved."""
    data = as_data(results)
    z = data.get("samples.z")
    if z is None or z.ndim != 3 or z.shape[0] == 0:
        raise ValueError("phase_space_figure: the results hold no sample trajectories")
    n = z.shape[-1]
    if n % 2:
        raise ValueError(f"phase_space_figure: expected canonical pairs, got {n} coordinates")
    names = list(coords) if coords is not None else [str(c) for c in np.atleast_1d(data.get("coords", []))]
    if len(names) != n:
        names = [f"q{i + 1}" for i in range(n // 2)] + [f"p{i + 1}" for i in range(n // 2)]
    m = n // 2
    shown = min(m, MAX_PANELS)
    t = np.asarray(data["t"], float)
    colors = sample_colors(z.shape[0])
    fig, axes = panel_figure(shown, panel=(3.6, 3.0))
    n_jumps = 0
    has_jumps = data["meta"].get("unravelling", "jump") == "jump"  # unknown: look for jumps
    for i, ax in enumerate(axes):
        q, p = z[..., i], z[..., m + i]
        against_t = _conserved(q)
        for k, color in enumerate(colors):
            n_jumps += draw_path(ax, t if against_t else q[k], p[k], color, has_jumps=has_jumps)
        ax.set_xlabel("t" if against_t else names[i])
        ax.set_ylabel(names[m + i])
        if against_t:
            ax.set_title(f"{names[i]} is conserved: {names[m + i]} against t", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    handles = [
        Line2D([], [], color="k", marker="o", ls="none", ms=4.5, label="start"),
        Line2D([], [], color="k", marker="x", ls="none", ms=6, label="end"),
    ]
    if n_jumps:
        handles.append(Line2D([], [], color="k", ls=":", marker=".", label="jump"))
    if len(colors) <= 8:
        handles += [Line2D([], [], color=c, label=f"sample {k}") for k, c in enumerate(colors)]
    axes[0].legend(handles=handles, fontsize=6.5, loc="best")
    more = f"; {shown} of {m} pairs shown" if m > shown else ""
    fig.suptitle(_title(model_name(data), f"classical sample paths{more}"), fontsize=10)
    return fig
