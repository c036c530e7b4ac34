"""Seed 000's validity inequalities (16)-(18) against measured healed-vs-mean-field distances.

Model: seed 000 eq. (12) with A = sz at saturation (configs/seed000_validity.toml), from a point
(q0, p0) and cos(theta/2)|0> + sin(theta/2)|1>, so <A> = cos theta and <A^2> - <A>^2 = sin^2 theta.
At each (theta, tau), tau the elapsed time, three distances of the healed (exact) ensemble from the
mean-field dynamics (``cqjax.analysis.seed000_validity_measures``), measured (white contours) and
exact (black, ``cqjax.analysis.seed000_validity_distances``): (a) classical: the RMS distance of a
healed momentum from the mean-field one over the mean-field displacement (E[p_healed] = p_mf
exactly: E<A> is a martingale, so the distance is all spread); (b) the infidelity of the
ensemble-average state against the pure mean-field state; (c) their trace distance. Overlaid: the
boundaries of (16) and (17) as printed, and <A>^2 = <A^2> - <A>^2 from (18); mean-field is valid
where both measures are small, between (16) and (17), left of 45 deg.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

import cqjax
from cqjax.analysis import (
    seed000_deviation_moments,
    seed000_validity_bounds,
    seed000_validity_distances,
    seed000_validity_measures,
    seed000_validity_runs,
)

from ._runs import CONFIGS, Sizes

TITLES = dict(
    eps_c=r"(a) classical: RMS$|p_{healed}-p_{mf}|\,/\,|p_{mf}-p_0|$",
    infidelity=r"(b) quantum: $1-\langle\psi_{mf}|E\rho_{healed}|\psi_{mf}\rangle$",
    trace_distance=r"(c) quantum: $\frac{1}{2}\|E\rho_{healed}-\rho_{mf}\|_1$",
)
LEVELS = [0.1, 0.3, 1.0]


def make(sizes: Sizes) -> tuple[Figure, dict]:
    cfg = cqjax.load_config(CONFIGS / "seed000_validity.toml")
    lam, gc, gq = (float(getattr(cfg.model, k)) for k in ("lam", "gamma_c", "gamma_q"))
    thetas = np.radians(np.linspace(0, 80, sizes.thetas))
    t1 = sizes.tau_max or cfg.t1
    n = sizes.validity or cfg.trajectories
    v = seed000_validity_runs(
        cfg.model,
        cfg.initial.z_mean,
        thetas,
        t1=t1,
        dt=cfg.dt,
        n_saves=round(t1 / (cfg.t1 / cfg.n_saves)),
        trajectories=n,
        seed=cfg.seed,
        solver=cfg.solver,
    )
    m = seed000_validity_measures(v, float(cfg.initial.z_mean[1]))
    exact = seed000_validity_distances(thetas, v["tau"], lam, gc, gq)
    fig = Figure(figsize=(16, 5.4))
    panels(fig, np.degrees(thetas), v["tau"], m, exact, (lam, gc, gq))
    exact_msd, var_msd = seed000_deviation_moments(thetas, v["tau"], lam, gc)
    msd_z = float(np.max(np.abs(m["msd"] - exact_msd) / np.sqrt(var_msd / n)))
    mean_z = float(np.max(np.abs(m["mean"]) / np.sqrt(exact_msd / n)))
    fig.suptitle(
        f"seed 000 (16)-(18): where mean-field approximates the open system (configs/seed000_validity.toml: "
        rf"$\lambda$ = {lam:g}, $\gamma_C$ = {gc:g}, $\gamma_Q$ = {gq:g}, saturated; {n} healed trajectories "
        f"per state)\ncontours 0.1 (solid), 0.3 (dashed), 1 (dotted): measured (white), exact (black); "
        f"E[p_healed] = p_mf within {mean_z:.2g} SE (E<A> is a martingale)",
        fontsize=10,
        y=1.03,
    )
    return fig, {"msd_max_z": msd_z, "mean_max_z": mean_z, "trajectories_per_state": n, "states": len(thetas)}


def panels(fig: Figure, deg: np.ndarray, tau: np.ndarray, measured: dict, exact: dict, params: tuple) -> None:
    """One (theta, tau) map per distance: measured (colour, white contours), exact (black contours)."""
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (key, title) in zip(axes, TITLES.items()):
        data = np.log10(np.clip(measured[key], 1e-4, None))
        mesh = ax.pcolormesh(deg, tau, data.T, shading="nearest", cmap="viridis", vmin=-3, vmax=1)
        fig.colorbar(mesh, ax=ax, label="log10 (floor 1e-4)", pad=0.01)
        if len(deg) > 1:
            for data, color, lw in ((measured[key], "w", 1.8), (exact[key], "k", 0.8)):
                ax.contour(deg, tau, data.T, levels=LEVELS, colors=color, linewidths=lw, linestyles=["-", "--", ":"])
        overlay_inequalities(ax, deg, tau, *params)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(r"initial polar angle $\theta$ (deg): $\langle A\rangle=\cos\theta$")
    axes[0].set_ylabel(r"$\tau$ (elapsed time)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.06))


def overlay_inequalities(ax, deg: np.ndarray, tau: np.ndarray, lam: float, gc: float, gq: float) -> None:
    """The boundaries of seed 000's (16) and (17) and the line (18) where <A>^2 = <A^2> - <A>^2."""
    th = np.radians(np.linspace(0.5, 89.5, 300))
    tau16, tau17 = seed000_validity_bounds(th, lam, gc, gq)
    ax.plot(np.degrees(th), tau16, color="tab:red", lw=1.8, label=r"(16) $\tau=\gamma_C/\lambda^2\langle A\rangle^2$")
    label17 = r"(17) $\tau=1/\gamma_Q(\langle A^2\rangle-\langle A\rangle^2)$"
    ax.plot(np.degrees(th), tau17, color="magenta", lw=1.8, label=label17)
    label18 = r"(18) $\langle A\rangle^2=\langle A^2\rangle-\langle A\rangle^2$"
    ax.axvline(45, color="0.85", ls="-.", lw=1.2, label=label18)
    ax.set_yscale("log")
    ax.set_xlim(deg[0] - 2.5, deg[-1] + 2.5)
    ax.set_ylim(tau[0], tau[-1])
