"""The Bloch sphere: a wireframe with labelled poles and axes (no tick labels to overlap), and
Bloch-vector paths on it, with a jump drawn as a jump (its two ends marked, no chord through the
ball)."""

from __future__ import annotations

import numpy as np
from jaxtyping import Float
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis.bloch import bloch_vector, bloch_vector_rho
from ._data import as_data, model_name
from ._style import jumps, pieces, sample_colors
from ._style import title as _title

__all__ = ["bloch_figure", "draw_bloch_path", "draw_bloch_sphere", "sample_bloch_vectors"]


def draw_bloch_sphere(ax, labels: tuple[str, str] = ("|0>", "|1>")) -> None:
    """A wireframe unit sphere on a 3-D axes, its x, y, z axes drawn and named at their ends (the
    poles named ``labels``), the matplotlib box and ticks hidden."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.75", lw=0.3)
    for axis in np.eye(3):
        ax.plot(*np.stack([-axis, axis], axis=1), color="0.55", lw=0.6)
    ax.text(1.18, 0, 0, "x", fontsize=8, ha="center")
    ax.text(0, 1.18, 0, "y", fontsize=8, ha="center")
    ax.text(0, 0, 1.14, f"z  {labels[0]}", fontsize=8, ha="center")
    ax.text(0, 0, -1.24, labels[1], fontsize=8, ha="center")
    for lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        lim(-1.0, 1.0)
    ax.set_box_aspect((1, 1, 1), zoom=1.3)
    ax.set_axis_off()


def draw_bloch_path(
    ax, r: Float[np.ndarray, "T 3"], color, lw: float = 1.1, ends: bool = True, has_jumps: bool = True
) -> int:
    """One Bloch-vector path: continuous pieces as lines; with ``has_jumps`` (a jump unravelling) a
    jump between two saved times (a step far longer than the path's typical step) as an open circle
    where it leaves and a dot where it lands, no chord. Start: a black-edged dot; end: a cross.
    Returns the number of jumps drawn."""
    cut = jumps(r) if has_jumps else np.zeros(0, int)
    for piece in pieces(r, cut):
        ax.plot(*piece.T, color=color, lw=lw)
    for i in cut:
        ax.scatter(*r[i], s=14, facecolors="none", edgecolors=[color], linewidths=0.8)
        ax.scatter(*r[i + 1], s=10, color=color)
    if ends:
        ax.scatter(*r[0], s=22, color=color, edgecolors="k", linewidths=0.6)
        ax.scatter(*r[-1], s=40, color=color, marker="x")
    return len(cut)


def sample_bloch_vectors(data: dict) -> np.ndarray | None:
    """(k, T, 3) Bloch vectors of the sample trajectories of a qubit (pure or mixed); None if the
    results hold no qubit samples."""
    psi, rho = data.get("samples.psi"), data.get("samples.rho")
    if psi is not None and psi.ndim == 3 and psi.shape[0] and psi.shape[-1] == 2:
        return bloch_vector(psi)
    if rho is not None and rho.ndim == 4 and rho.shape[0] and rho.shape[-1] == 2:
        return bloch_vector_rho(rho)
    return None


def bloch_figure(results) -> Figure:
    """The Bloch vectors of a qubit's sample trajectories on the Bloch sphere."""
    data = as_data(results)
    r = sample_bloch_vectors(data)
    if r is None:
        raise ValueError("bloch_figure: the results hold no qubit sample states")
    colors = sample_colors(r.shape[0])
    fig = Figure(figsize=(5.6, 5.6))
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.93)
    ax = fig.add_subplot(projection="3d")
    draw_bloch_sphere(ax)
    has_jumps = data["meta"].get("unravelling", "jump") == "jump"  # unknown: look for jumps
    n_jumps = sum(draw_bloch_path(ax, path, color, has_jumps=has_jumps) for path, color in zip(r, colors))
    handles = [
        Line2D([], [], color="k", marker="o", ls="none", ms=5, label="start"),
        Line2D([], [], color="k", marker="x", ls="none", ms=6, label="end"),
    ]
    if n_jumps:
        handles += [
            Line2D([], [], color="k", marker="o", mfc="none", ls="none", ms=5, label="jump from"),
            Line2D([], [], color="k", marker=".", ls="none", ms=6, label="jump to"),
        ]
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.set_title(_title(model_name(data), f"Bloch vectors of {r.shape[0]} sample trajectories"), fontsize=9)
    return fig
