"""Figures for cqjax results files.

The single public entry point is :func:`plot_results`, which reads a results
``.npz`` written by cqjax and renders a small set of PNG figures: classical
phase-space paths, Bloch-sphere paths (qubits only), ensemble observables and,
when present, the hybrid density histogram.

Figures are built with the object-oriented :class:`matplotlib.figure.Figure`
API on an explicit Agg canvas, so no pyplot state is created and the caller's
matplotlib backend is left untouched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .._files import write_atomic

_DPI = 120


_PAULIS = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


_N_EARLIER_TIMES = 3


def plot_results(path: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Write PNG figures for a cqjax results file (.npz); return the paths written.

    Parameters
    ----------
    path
        Results file written by cqjax.
    out_dir
        Directory for the figures; created if missing.

    Returns
    -------
    list of pathlib.Path
        The figures written, in the order ``phase_space.png``, ``bloch.png``,
        ``observables.png``, ``histogram.png`` (each only if applicable).

    Raises
    ------
    ValueError
        If the file lacks the saved times ``t`` or another required key.
    """
    with np.load(path, allow_pickle=False) as npz:
        data = {key: npz[key] for key in npz.files}
    if "t" not in data:
        raise ValueError(f"results file {os.fspath(path)!r} has no 't' key (saved times)")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = _model_name(data)
    t = np.asarray(data["t"], dtype=float)

    figures: list[tuple[str, Figure]] = []
    z = _samples(data, "samples.z")
    if z is not None:
        names = _coord_names(data, z.shape[-1])
        figures.append(("phase_space.png", _phase_space_figure(z, names, model)))
    psi = _samples(data, "samples.psi")
    rho = _samples(data, "samples.rho", ndim=4)
    if psi is not None and psi.shape[-1] == 2:
        figures.append(("bloch.png", _bloch_figure(_bloch_vectors(psi), model)))
    elif rho is not None and rho.shape[-1] == 2:
        figures.append(("bloch.png", _bloch_figure(_bloch_vectors(rho, mixed=True), model)))
    observables = _observables(data)
    if observables:
        figures.append(("observables.png", _observables_figure(t, observables, model)))
    if "histogram.density" in data:
        figures.append(("histogram.png", _histogram_figure(data, t, model)))

    written = []
    for filename, fig in figures:
        written.append(_save(fig, out / filename))
    return written


def _require(data: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """Return ``data[key]`` or raise a ValueError naming the missing key."""
    if key not in data:
        raise ValueError(f"results file has no {key!r} key")
    return data[key]


def _model_name(data: Mapping[str, np.ndarray]) -> str | None:
    """Model name from the JSON ``meta`` entry, or None if unavailable."""
    if "meta" not in data:
        return None
    try:
        meta = json.loads(str(data["meta"]))
    except json.JSONDecodeError:
        return None
    model = meta.get("model") if isinstance(meta, dict) else None
    return str(model) if model else None


def _samples(data: Mapping[str, np.ndarray], key: str, ndim: int = 3) -> np.ndarray | None:
    """Sample array ``(k, T, ...)`` or None if absent or empty."""
    arr = data.get(key)
    if arr is None or arr.ndim != ndim or arr.shape[0] == 0:
        return None
    return arr


def _coord_names(data: Mapping[str, np.ndarray], n: int) -> list[str]:
    """Coordinate names, defaulting to ``q1..qm, p1..pm``."""
    if "coords" in data:
        names = [str(c) for c in np.atleast_1d(data["coords"])]
        if len(names) != n:
            raise ValueError(f"'coords' names {len(names)} coordinates, samples have {n}")
        return names
    m = n // 2
    return [f"q{i + 1}" for i in range(m)] + [f"p{i + 1}" for i in range(m)]


def _observables(data: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Map observable name to ``(mean, sem)`` in file order; sem may be None."""
    suffix = ".mean"
    return {
        key[: -len(suffix)]: (data[key], data.get(key[: -len(suffix)] + ".sem")) for key in data if key.endswith(suffix)
    }


def _save(fig: Figure, path: Path) -> Path:
    """Lay out, render with Agg and write ``fig`` to ``path``; release it."""
    FigureCanvasAgg(fig)
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, dpi=_DPI, format="png"))
    fig.clear()
    return path


def _title(model: str | None, what: str) -> str:
    """Figure title, prefixed by the model name when known."""
    return f"{model}: {what}" if model else what


def _sample_colors(k: int) -> list:
    """One colour per sample trajectory (shared across figures)."""
    if k <= 10:
        return [colormaps["tab10"](i) for i in range(k)]
    return list(colormaps["viridis"](np.linspace(0.0, 0.95, k)))


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    """Rows and columns for ``n`` panels."""
    cols = min(n, max_cols)
    return -(-n // cols), cols


def _path_legend(ax, colors: Sequence, max_samples: int = 8) -> None:
    """Legend with start/end markers and, for few samples, the sample colours."""
    handles = [
        Line2D([], [], color="k", marker="o", linestyle="none", label="start"),
        Line2D([], [], color="k", marker="x", linestyle="none", label="end"),
    ]
    if len(colors) <= max_samples:
        handles += [Line2D([], [], color=c, label=f"sample {i}") for i, c in enumerate(colors)]
    ax.legend(handles=handles, fontsize="small", loc="best")


def _plot_path(ax, *coords: np.ndarray, color) -> None:
    """Draw one path with a dot at its start and a cross at its end."""
    ax.plot(*coords, color=color, lw=1.0, alpha=0.85)
    ax.plot(*(c[:1] for c in coords), color=color, marker="o", ms=5, linestyle="none")
    ax.plot(*(c[-1:] for c in coords), color=color, marker="x", ms=7, mew=2, linestyle="none")


def _phase_space_figure(z: np.ndarray, names: Sequence[str], model: str | None) -> Figure:
    """Sample paths ``p_i`` vs ``q_i``, one panel per canonical pair."""
    n = z.shape[-1]
    if n % 2:
        raise ValueError(f"expected canonical pairs, got an odd number of coordinates ({n})")
    m = n // 2
    colors = _sample_colors(z.shape[0])
    rows, cols = _grid(m)
    fig = Figure(figsize=(4.2 * cols, 4.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, ax in enumerate(axes[:m]):
        for path, color in zip(z, colors):
            _plot_path(ax, path[:, i], path[:, m + i], color=color)
        ax.set_xlabel(names[i])
        ax.set_ylabel(names[m + i])
        ax.grid(alpha=0.3)
    for ax in axes[m:]:
        ax.set_visible(False)
    _path_legend(axes[0], colors)
    fig.suptitle(_title(model, "phase-space sample paths"))
    return fig


def _bloch_vectors(psi: np.ndarray, mixed: bool = False) -> np.ndarray:
    """Bloch vectors ``(<sx>, <sy>, <sz>)`` of qubit states ``(..., 2)`` or, ``mixed``, density
    matrices ``(..., 2, 2)`` (length < 1 for mixed states)."""
    if mixed:
        rho = psi / np.trace(psi, axis1=-2, axis2=-1)[..., None, None]
        return np.einsum("pij,...ji->...p", _PAULIS, rho).real
    psi = psi / np.linalg.norm(psi, axis=-1, keepdims=True)
    return np.einsum("...i,pij,...j->...p", psi.conj(), _PAULIS, psi).real


def _bloch_figure(r: np.ndarray, model: str | None) -> Figure:
    """Sample Bloch-vector paths ``r`` (k, T, 3) on a wireframe Bloch sphere."""
    colors = _sample_colors(r.shape[0])
    fig = Figure(figsize=(6.0, 6.0))
    ax = fig.add_subplot(projection="3d")
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(
        np.cos(u) * np.sin(v),
        np.sin(u) * np.sin(v),
        np.cos(v),
        color="0.6",
        lw=0.4,
        alpha=0.5,
    )
    for axis in np.eye(3):
        ax.plot(*np.stack([-axis, axis], axis=1), color="0.4", lw=0.6)
    for path, color in zip(r, colors):
        _plot_path(ax, path[:, 0], path[:, 1], path[:, 2], color=color)
    for set_lim, set_ticks in (
        (ax.set_xlim, ax.set_xticks),
        (ax.set_ylim, ax.set_yticks),
        (ax.set_zlim, ax.set_zticks),
    ):
        set_lim(-1.05, 1.05)
        set_ticks([-1, 0, 1])
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    _path_legend(ax, colors)
    ax.set_title(_title(model, "Bloch-vector sample paths"))
    return fig


def _observables_figure(
    t: np.ndarray,
    observables: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    model: str | None,
) -> Figure:
    """Ensemble mean of every observable vs time with a +-2 SEM band."""
    rows, cols = _grid(len(observables))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True).ravel()
    for ax, (name, (mean, sem)) in zip(axes, observables.items()):
        ax.plot(t, mean, color="C0", lw=1.5, label="mean")
        if sem is not None:
            ax.fill_between(t, mean - 2 * sem, mean + 2 * sem, color="C0", alpha=0.25, lw=0, label=r"$\pm 2$ SEM")
        ax.set_title(name)
        ax.set_ylabel(f"<{name}>")
        ax.grid(alpha=0.3)
    for ax in axes[len(observables) :]:
        ax.set_visible(False)
    for ax in axes[max(len(observables) - cols, 0) : len(observables)]:
        ax.set_xlabel("t")  # lowest visible panel of each column
        ax.xaxis.set_tick_params(labelbottom=True)
    axes[0].legend(fontsize="small", loc="best")
    fig.suptitle(_title(model, "observables"))
    return fig


def _density_panels(d: int) -> list[tuple[int, int]]:
    """Matrix elements shown: diagonals ``(a, a)``, then off-diagonals ``a < b``."""
    return [(a, a) for a in range(d)] + [(a, b) for a in range(d) for b in range(a + 1, d)]


def _time_indices(n_times: int) -> np.ndarray:
    """The final saved time and about three evenly spaced earlier ones."""
    return np.unique(np.linspace(0, n_times - 1, _N_EARLIER_TIMES + 1).round().astype(int))


def _draw_density_row(
    axes: Sequence,
    x: np.ndarray,
    rho: np.ndarray,
    sem: np.ndarray,
    t: np.ndarray,
    name: str,
) -> None:
    """Plot elements of ``rho`` (T, b, d, d) vs bin centres ``x``, one panel each.

    Earlier times are drawn as lighter lines; the final time carries a
    +-2 SE band.
    """
    idx = _time_indices(rho.shape[0])
    shades = np.linspace(0.3, 1.0, len(idx))
    parts = {"Re": (np.real, "Blues", "-"), "Im": (np.imag, "Oranges", "--")}
    for ax, (a, b) in zip(axes, _density_panels(rho.shape[-1])):
        shown = ("Re",) if a == b else ("Re", "Im")
        for part in shown:
            take, cmap, ls = parts[part]
            for j, shade in zip(idx, shades):
                final = j == idx[-1]
                if a == b:
                    label = f"t = {t[j]:.3g}"
                else:
                    label = part if final else None
                ax.plot(
                    x, take(rho[j, :, a, b]), color=colormaps[cmap](shade), ls=ls, lw=1.6 if final else 1.0, label=label
                )
            centre, err = take(rho[-1, :, a, b]), take(sem[-1, :, a, b])
            ax.fill_between(x, centre - 2 * err, centre + 2 * err, color=colormaps[cmap](0.8), alpha=0.25, lw=0)
        ax.set_title(rf"$\mathrm{{Re}}\,\rho_{{{a}{a}}}$" if a == b else rf"$\rho_{{{a}{b}}}$")
        ax.set_xlabel(name)
        ax.axhline(0.0, color="0.5", lw=0.5)
        ax.grid(alpha=0.3)
        if a == b == 0 or (a, b) == (0, 1):
            ax.legend(fontsize="x-small", loc="best")
    axes[0].set_ylabel(f"density in {name}")


def _marginal(density: np.ndarray, sem: np.ndarray, widths: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a 2-D histogram over bin ``axis`` (1 or 2); SEs in quadrature."""
    shape = [1] * density.ndim
    shape[axis] = widths.size
    w = widths.reshape(shape)
    rho = (density * w).sum(axis=axis)
    err_re = np.sqrt(((sem.real * w) ** 2).sum(axis=axis))
    err_im = np.sqrt(((sem.imag * w) ** 2).sum(axis=axis))
    return rho, err_re + 1j * err_im


def _histogram_figure(data: Mapping[str, np.ndarray], t: np.ndarray, model: str | None) -> Figure:
    """Density-matrix histogram over one or two classical coordinates."""
    density = _require(data, "histogram.density")
    sem = data.get("histogram.sem", np.zeros_like(density))
    names = [str(c) for c in np.atleast_1d(_require(data, "histogram.coords"))]
    edges = [np.asarray(_require(data, f"histogram.edges.{c}"), dtype=float) for c in names]
    if density.shape[0] != t.size:
        raise ValueError(f"'histogram.density' has {density.shape[0]} times, 't' has {t.size}")
    if density.ndim != len(names) + 3:
        raise ValueError(
            f"'histogram.density' has shape {density.shape}, inconsistent with {len(names)} histogram coordinate(s)"
        )
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    n_panels = len(_density_panels(density.shape[-1]))

    if len(names) == 1:
        fig = Figure(figsize=(3.4 * n_panels, 3.4))
        axes = fig.subplots(1, n_panels, squeeze=False)[0]
        _draw_density_row(axes, centres[0], density, sem, t, names[0])
    elif len(names) == 2:
        fig = Figure(figsize=(3.4 * n_panels + 4.6, 6.6))
        grid = fig.add_gridspec(2, n_panels + 1, width_ratios=[1] * n_panels + [1.35])
        for row, (name, x) in enumerate(zip(names, centres)):
            other = 2 - row  # bin axis of the other coordinate in (T, b1, b2, d, d)
            rho, err = _marginal(density, sem, np.diff(edges[1 - row]), axis=other)
            axes = [fig.add_subplot(grid[row, col]) for col in range(n_panels)]
            _draw_density_row(axes, x, rho, err, t, name)
        ax = fig.add_subplot(grid[:, -1])
        trace = np.einsum("...aa->...", density[-1]).real
        mesh = ax.pcolormesh(edges[0], edges[1], trace.T, cmap="magma", shading="flat")
        fig.colorbar(mesh, ax=ax, label=r"$\mathrm{Tr}\,\rho$")
        ax.set_box_aspect(1)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(rf"$\mathrm{{Tr}}\,\rho$ at t = {t[-1]:.3g}")
    else:
        raise ValueError(f"histograms over {len(names)} coordinates are not supported")

    title = _title(model, f"hybrid density histogram (t = {t[-1]:.3g})")
    if "histogram.outside" in data:
        title += f", mass outside grid: {float(data['histogram.outside'][-1]):.3g}"
    fig.suptitle(title)
    return fig
