"""The figure of an ensemble against the master equation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import write_atomic
from ..analysis.compare import Comparison, argworst


def plot_comparison(run: dict, master: dict, comparison: Comparison, path: str | Path) -> Path:
    """Observables (ensemble +- 2 SE against the master line) and, with a histogram, the matrix
    elements of varrho along the first histogram coordinate at three times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(comparison.z)
    has_hist = comparison.histogram_z is not None
    ncol = max(len(names), 4 if has_hist else 1)
    fig, axes = plt.subplots(2 if has_hist else 1, ncol, figsize=(3.2 * ncol, 6 if has_hist else 3.2), squeeze=False)
    t = comparison.t
    for ax, name in zip(axes[0], names):
        ax.errorbar(t, run[f"{name}.mean"], yerr=2 * run[f"{name}.sem"], fmt=".", ms=3, lw=0.8, label="ensemble ± 2 SE")
        ax.plot(t, master[f"{name}.mean"], "-", lw=1.2, label="master")
        k = argworst(comparison.z[name])  # a NaN is the max, never skipped
        zmax = comparison.z[name][k] if k is not None else np.nan
        ax.set_title(f"{name}  (max |z| {zmax:.2g})", fontsize=9)
        ax.set_xlabel("t")
    for ax in axes[0][len(names) :]:
        ax.axis("off")
    if names:
        axes[0][0].legend(fontsize=7)
    if has_hist:
        coords = [str(c) for c in run["histogram.coords"]]
        edges = run[f"histogram.edges.{coords[0]}"]
        centres = 0.5 * (edges[1:] + edges[:-1])
        x, se, m = run["histogram.density"], run["histogram.sem"], master["histogram.density"]
        if len(coords) == 2:  # marginal along the first coordinate
            w2 = np.diff(run[f"histogram.edges.{coords[1]}"])[0]
            x, m = x.sum(2) * w2, m.sum(2) * w2
            se = (np.sqrt((se.real**2).sum(2)) + 1j * np.sqrt((se.imag**2).sum(2))) * w2
        panels = [
            ("Re rho_00", np.real, 0, 0),
            ("Re rho_11", np.real, 1, 1),
            ("Re rho_01", np.real, 0, 1),
            ("Im rho_01", np.imag, 0, 1),
        ]
        times = sorted({len(t) // 3, 2 * len(t) // 3, len(t) - 1})
        for ax, (label, part, a, b) in zip(axes[1], panels):
            for k in times:
                line = ax.plot(centres, part(m[k, ..., a, b]), "-", lw=1.0)[0]
                ax.errorbar(
                    centres,
                    part(x[k, ..., a, b]),
                    yerr=2 * part(se[k, ..., a, b]),
                    fmt=".",
                    ms=3,
                    lw=0.6,
                    color=line.get_color(),
                    label=f"t = {t[k]:.3g}",
                )
            ax.set_title(f"{label}(z, t) along {coords[0]}", fontsize=9)
            ax.set_xlabel(coords[0])
        axes[1][0].legend(fontsize=7, title="lines: master", title_fontsize=7)
        for ax in axes[1][4:]:
            ax.axis("off")
    n = len(comparison.problems)
    verdict = (
        f"cannot agree: {n} problem{'s' if n > 1 else ''}, see the report"
        if n
        else "agree"
        if comparison.agree
        else "disagree"
    )
    fig.suptitle(
        f"ensemble vs master: worst |z| {comparison.worst:.3g}, threshold {comparison.threshold:.3g} ({verdict})",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    plt.close(fig)
    return path
