"""The ensemble view (no paper figure): the final classical momentum by branch, the collapse of
<sz> across the ensemble, and E<sx>(t) against the decoherence-diffusion trade-off's prediction
(``cqjax.analysis.coherence_prediction``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

import cqjax
from cqjax.analysis import bloch_vector, coherence_prediction, moment_z_scores

from ._runs import BRANCH, MF, Runs, describe


def final_branch_histogram(ax, r: Runs, coord: str, exact: Callable | None) -> dict:
    """The final ``coord`` of the kept trajectories, split by the sign of their final <sz>, against
    the exact law where known."""
    x = r.values(coord)[0][:, -1]
    sz = bloch_vector(r.psi[:, -1])[:, 2]
    bins = np.linspace(*np.percentile(x, [0.1, 99.9]), 61)
    for s in (+1, -1):
        sel = np.sign(sz) == s
        weights = np.full(sel.sum(), 1 / (len(x) * np.diff(bins)[0]))
        label = f"final <sz> {'>' if s > 0 else '<'} 0 ({sel.mean():.1%})"
        ax.hist(x[sel], bins=bins, weights=weights, color=BRANCH[s][0], alpha=0.6, label=label)
    ax.axvline(r.values(coord)[1][-1], **MF)
    info = {"final_sz_positive": float(np.mean(sz > 0)), "kept": len(x)}
    if exact is not None:
        grid = np.linspace(bins[0], bins[-1], 300)
        density, mean, var = exact(r, grid)
        ax.plot(grid, density, "k-", lw=1.2, label="exact (mixture of the branches)")
        info["mean_z"], info["var_z"] = moment_z_scores(x, mean, var)
    ax.set_xlabel(f"{coord}(t = {r.t[-1]:.3g})")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"final {coord} by branch ({len(x)} trajectories)", fontsize=9)
    return info


def collapse_ridges(ax, r: Runs) -> None:
    """Histograms of <sz> across the ensemble at several times: from one value to +-1."""
    sz = bloch_vector(r.psi)[..., 2]
    idx = np.unique((np.array([0, 1 / 32, 1 / 8, 1 / 4, 1 / 2, 1]) * (len(r.t) - 1)).round().astype(int))
    bins = np.linspace(-1, 1, 51)
    centres = 0.5 * (bins[1:] + bins[:-1])
    for j, ti in enumerate(idx):
        h, _ = np.histogram(sz[:, ti], bins=bins)
        color = colormaps["viridis"](j / max(len(idx) - 1, 1))
        ax.fill_between(centres, j, j + 0.9 * h / h.max(), step="mid", color=color, alpha=0.8)
    labels = [f"t = {r.t[ti]:.3g}\n{np.mean(np.abs(sz[:, ti]) > 0.9):.0%}" for ti in idx]
    ax.set_yticks(np.arange(len(idx)) + 0.3, labels, fontsize=7)
    ax.set_ylabel(r"t (fraction with $|\langle\sigma_z\rangle| > 0.9$)")
    ax.set_xlim(-1, 1)
    ax.set_xlabel(r"$\langle\sigma_z\rangle$ of each trajectory")
    ax.set_title(r"collapse of $\langle\sigma_z\rangle$ across the ensemble", fontsize=9)


def decoherence_panels(ax, ax_log, r: Runs) -> dict:
    """E<sx> (+-2 SE, thinned markers) against the trade-off's prediction; below, the coherence
    2|E rho_01| on a log axis (floored at 1e-4) against the envelope."""
    pred = coherence_prediction(r.cfg.model, r.t, r.mf_z, r.mf_psi, r.cfg.initial.z_cov)
    diosi = isinstance(r.cfg.model, cqjax.Diosi)
    t, sx, se = r.t, r.mean["sx"], r.sem["sx"]
    every = max(len(t) // 40, 1)
    ax.plot(
        t,
        pred["full"],
        "k-",
        lw=1.2,
        zorder=4,
        label=r"trade-off: $e^{-\int\Gamma dt}\,\langle s_x\rangle_{mf}$"
        + (r" $\times e^{-Var\Phi/2}$" if diosi else ""),
    )
    ax.errorbar(
        t[::every],
        sx[::every],
        2 * se[::every],
        fmt="o",
        ms=3,
        color="C0",
        alpha=0.7,
        elinewidth=1,
        label=r"ensemble E<sx> $\pm$ 2 SE",
        zorder=3,
    )
    if diosi:
        ax.plot(t, pred["naive"], "k:", lw=1.0, label=r"without the phase diffusion $e^{-Var\Phi/2}$")
    ax.plot(t, pred["sx_mf"], **{**MF, "lw": 1.0, "label": "mean-field <sx>"})
    ax.set_ylabel(r"E$\langle\sigma_x\rangle$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    g = pred["gamma"]
    rate = f"{g[0]:.3g}" if np.allclose(g, g[0], rtol=1e-4) else f"{g.min():.3g} to {g.max():.3g}"
    ax.set_title(rf"decoherence vs trade-off: $\Gamma = |\Delta F|^2/8\sigma^2$ = {rate}", fontsize=9)
    coherence = np.hypot(r.mean["sx"], r.mean["sy"])
    ax_log.semilogy(t, np.maximum(coherence, 1e-4), color="C0", label=r"$2|E\rho_{01}|$ (ensemble, floor 1e-4)")
    ax_log.semilogy(t, pred["envelope"] * pred["diffusion"], "k-", lw=1.0, label="trade-off envelope")
    if diosi:
        ax_log.semilogy(t, pred["envelope"], "k:", lw=1.0, label=r"$e^{-\Gamma t}$ alone")
    ax_log.set_xlabel("t")
    ax_log.grid(alpha=0.3, which="both")
    ax_log.legend(fontsize=6.5, loc="lower left")
    ok = se > 0
    return {
        "gamma": [float(g.min()), float(g.max())],
        "sx_max_z": float((np.abs(sx - pred["full"])[ok] / se[ok]).max()),
        "sx_max_z_naive": float((np.abs(sx - pred["naive"])[ok] / se[ok]).max()),
    }


def ensemble_figure(r: Runs, coord: str, title: str, exact: Callable | None = None) -> tuple[Figure, dict]:
    """Final ``coord`` by branch, the collapse of <sz>, and E<sx> against the trade-off."""
    fig = Figure(figsize=(15, 4.8))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.6, 1], width_ratios=[1, 1, 1.1], wspace=0.45)
    info = final_branch_histogram(fig.add_subplot(grid[:, 0]), r, coord, exact)
    collapse_ridges(fig.add_subplot(grid[:, 1]), r)
    ax = fig.add_subplot(grid[0, 2])
    info.update(decoherence_panels(ax, fig.add_subplot(grid[1, 2], sharex=ax), r))
    info["trajectories"] = r.trajectories
    fig.suptitle(
        f"{title}: {r.trajectories} healed trajectories (histograms: {info['kept']})\n{describe(r)}",
        fontsize=10,
        y=1.04,
    )
    return fig, info
