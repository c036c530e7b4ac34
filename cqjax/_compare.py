"""Ensemble against master equation: z-scores for every observable, saved time and histogram
matrix element, and a figure of both.

For an ensemble estimate X (standard error SE) and the master value M (estimated discretisation
error E, from ``solve_master``'s half-resolution run):

    z = |X - M| / sqrt(SE^2 + E^2 + floor^2),

``floor`` = 10 x the rounding of the ensemble's precision relative to max(1, |M|), so that entries
known exactly to both (t = 0) do not divide by zero. For a histogram element (a, b) whose
master weight W = |varrho_ab| x bin volume stands for fewer than 30 trajectories (each adds at
most 1 / volume), SE is raised to at least sqrt(W / N) / (bin volume) (N the number of
trajectories): the sample SE of a nearly empty bin, or of a branch or a coherence nearly absent
from a bin, says nothing. The histogram is compared from the first saved time after t = 0: at t = 0 both
hold the same initial condition, and a point on a bin edge is binned differently by the two.

With K comparisons, the two agree when the worst z is below the threshold
z* = Phi^{-1}(1 - alpha / (2K)) (Bonferroni, alpha = 0.01 by default): if the ensemble and the
master describe the same dynamics, a false alarm happens in at most 1% of runs (fewer, since the
comparisons are positively correlated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

__all__ = ["Comparison", "compare_results", "plot_comparison", "threshold"]

_FEW = 30.0  # expected trajectories in a bin below which its SE gets the floor sqrt(P / N)


def threshold(n_comparisons: int, alpha: float = 0.01) -> float:
    """Bonferroni threshold on |z| for ``n_comparisons`` two-sided tests at family-wise level alpha."""
    return NormalDist().inv_cdf(1 - alpha / (2 * max(n_comparisons, 1)))


@dataclass
class Comparison:
    """z-scores per observable (T,) and per histogram element (T, bins..., d, d, 2: re, im)."""

    t: np.ndarray
    z: dict[str, np.ndarray]
    histogram_z: np.ndarray | None
    n_comparisons: int
    threshold: float
    alpha: float
    worst: float
    worst_where: str
    skipped: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return bool(self.worst <= self.threshold)

    def report(self) -> str:
        lines = [f"{'observable':<16} {'max |z|':>9}   at t"]
        for name, z in self.z.items():
            k = int(np.nanargmax(z))
            lines.append(f"{name:<16} {z[k]:>9.3g}   {self.t[k]:.4g}")
        if self.histogram_z is not None:
            hz = self.histogram_z
            d = hz.shape[-2]
            for a in range(d):
                for b in range(a, d):
                    for part, label in ((0, "Re"), (1, "Im")):
                        if a == b and part == 1:
                            continue
                        zz = hz[..., a, b, part]
                        k = np.unravel_index(int(np.nanargmax(zz)), zz.shape)
                        lines.append(f"{f'{label} rho_{a}{b} (hist)':<16} {zz[k]:>9.3g}   {self.t[k[0]]:.4g}")
        if self.skipped:
            lines.append(f"not compared: {', '.join(self.skipped)}")
        verdict = "agree" if self.agree else "DISAGREE"
        lines.append(
            f"worst z-score: {self.worst:.3g} ({self.worst_where}); threshold {self.threshold:.3g} for "
            f"{self.n_comparisons} comparisons at family-wise alpha = {self.alpha:g}: {verdict}"
        )
        return "\n".join(lines)


def _floor(run_meta: dict) -> float:
    precision = run_meta.get("config", {}).get("run", {}).get("precision", "float32")
    return 10 * float(np.finfo(np.float32 if precision == "float32" else np.float64).eps)


def compare_results(run: dict, master: dict, alpha: float = 0.01) -> Comparison:
    """Compare a loaded ensemble results file with a loaded master results file."""
    if "min_eig" in run or "min_eig" not in master:
        raise ValueError("compare: give an ensemble results file (cqjax run) and then a master file (cqjax master)")
    t = np.asarray(run["t"])
    if t.shape != np.shape(master["t"]) or not np.allclose(t, master["t"], rtol=1e-9, atol=1e-12):
        raise ValueError("compare: the two files have different saved times (use the same run.t1 and run.n_saves)")
    floor = _floor(run.get("meta", {}))
    n_traj = float(run.get("meta", {}).get("trajectories", np.nan))
    names = [k[:-5] for k in run if k.endswith(".mean")]
    zs, skipped = {}, []
    for name in names:
        if f"{name}.mean" not in master or f"{name}.sem" not in run:
            skipped.append(name)
            continue
        m = np.asarray(master[f"{name}.mean"])
        e = np.asarray(master.get(f"{name}.err", np.zeros_like(m)))
        scale = np.sqrt(run[f"{name}.sem"] ** 2 + e**2 + (floor * np.maximum(1.0, np.abs(m))) ** 2)
        zs[name] = np.abs(run[f"{name}.mean"] - m) / scale
    hz = None
    if "histogram.density" in run and "histogram.density" in master:
        hz = _histogram_z(run, master, floor, n_traj)
        hz[0] = np.nan  # t = 0: the shared initial condition (see the module docstring)
    elif "histogram.density" in run or "histogram.density" in master:
        skipped.append("histogram (only in one file)")
    n = sum(z.size for z in zs.values())
    worst, where = 0.0, "none"
    for name, z in zs.items():
        k = int(np.nanargmax(z))
        if z[k] > worst:
            worst, where = float(z[k]), f"{name} at t = {t[k]:.4g}"
    if hz is not None:
        valid = _histogram_mask(hz.shape)
        n += int(valid.sum()) * (hz.shape[0] - 1)
        masked = np.where(valid, hz, -np.inf)
        masked[0] = -np.inf
        k = np.unravel_index(int(np.argmax(masked)), masked.shape)
        if masked[k] > worst:
            part = "Re" if k[-1] == 0 else "Im"
            a, b = k[-3], k[-2]
            worst, where = float(masked[k]), f"histogram {part} rho_{a}{b}, bin {tuple(int(i) for i in k[1:-3])} at t = {t[k[0]]:.4g}"
    if not np.isfinite(worst):
        where += " (not finite)"
    return Comparison(t=t, z=zs, histogram_z=hz, n_comparisons=n, threshold=threshold(n, alpha), alpha=alpha,
                      worst=worst, worst_where=where, skipped=skipped)


def _histogram_mask(shape) -> np.ndarray:
    """Which (a, b, re/im) entries are independent: a <= b, and no imaginary part on the diagonal."""
    d = shape[-2]
    mask = np.zeros((d, d, 2), bool)
    for a in range(d):
        for b in range(a, d):
            mask[a, b, 0] = True
            mask[a, b, 1] = a != b
    return np.broadcast_to(mask, shape[1:])


def _histogram_z(run: dict, master: dict, floor: float, n_traj: float) -> np.ndarray:
    coords = [str(c) for c in run["histogram.coords"]]
    if [str(c) for c in master["histogram.coords"]] != coords or any(
        not np.allclose(run[f"histogram.edges.{c}"], master[f"histogram.edges.{c}"]) for c in coords
    ):
        raise ValueError("compare: the histograms use different bins")
    x = np.asarray(run["histogram.density"])
    se = np.asarray(run["histogram.sem"])
    m = np.asarray(master["histogram.density"])
    err = np.asarray(master.get("histogram.err", np.zeros_like(m)))
    vol = float(np.prod([np.diff(run[f"histogram.edges.{c}"])[0] for c in coords]))
    # W = |varrho_ab| x volume: each trajectory adds at most 1 / volume to |element|, so at least
    # W N trajectories carry it; below _FEW their sample SE is unreliable
    weight = np.abs(m) * vol
    few = weight * n_traj < _FEW
    se_floor = np.sqrt(weight / n_traj) / vol
    scale_m = floor * np.maximum(1.0, np.abs(m))
    out = []
    for part in (np.real, np.imag):
        s = np.where(few, np.maximum(part(se), se_floor), part(se))
        scale = np.sqrt(s**2 + part(err) ** 2 + scale_m**2)
        out.append(np.abs(part(x) - part(m)) / scale)
    return np.stack(out, axis=-1)


def plot_comparison(run: dict, master: dict, comparison: Comparison, path: str | Path) -> Path:
    """Observables (ensemble +- 2 SE against the master line) and, with a histogram, the matrix
    elements of varrho along the first histogram coordinate at three times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(comparison.z)
    has_hist = comparison.histogram_z is not None
    ncol = max(len(names), 4 if has_hist else 1)
    fig, axes = plt.subplots(2 if has_hist else 1, ncol, figsize=(3.2 * ncol, 6 if has_hist else 3.2),
                             squeeze=False)
    t = comparison.t
    for ax, name in zip(axes[0], names):
        ax.errorbar(t, run[f"{name}.mean"], yerr=2 * run[f"{name}.sem"], fmt=".", ms=3, lw=0.8,
                    label="ensemble ± 2 SE")
        ax.plot(t, master[f"{name}.mean"], "-", lw=1.2, label="master")
        ax.set_title(f"{name}  (max |z| {np.nanmax(comparison.z[name]):.2g})", fontsize=9)
        ax.set_xlabel("t")
    for ax in axes[0][len(names):]:
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
        panels = [("Re rho_00", np.real, 0, 0), ("Re rho_11", np.real, 1, 1), ("Re rho_01", np.real, 0, 1),
                  ("Im rho_01", np.imag, 0, 1)]
        times = sorted({len(t) // 3, 2 * len(t) // 3, len(t) - 1})
        for ax, (label, part, a, b) in zip(axes[1], panels):
            for k in times:
                line = ax.plot(centres, part(m[k, ..., a, b]), "-", lw=1.0)[0]
                ax.errorbar(centres, part(x[k, ..., a, b]), yerr=2 * part(se[k, ..., a, b]), fmt=".", ms=3,
                            lw=0.6, color=line.get_color(), label=f"t = {t[k]:.3g}")
            ax.set_title(f"{label}(z, t) along {coords[0]}", fontsize=9)
            ax.set_xlabel(coords[0])
        axes[1][0].legend(fontsize=7, title="lines: master", title_fontsize=7)
        for ax in axes[1][4:]:
            ax.axis("off")
    verdict = "agree" if comparison.agree else "disagree"
    fig.suptitle(f"ensemble vs master: worst |z| {comparison.worst:.3g}, threshold {comparison.threshold:.3g} "
                 f"({verdict})", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
