"""Regenerate the papers' figures, and ensemble views the papers lack, into ``figures/``.

    python scripts/figures.py [--out figures/] [--only NAME ...] [--quick] [--list]

Every figure reads its physics from a config in ``configs/`` (model, parameters, initial state,
t1, dt; the comments there say which numbers the paper gives and which were chosen). The
numerical sizes are this script's: the trajectory figures draw ``Sizes.samples`` healed
trajectories on a finer save grid, the ensemble views run the config's ``run.trajectories``, and
``--quick`` shrinks everything for the smoke test (``tests/test_figures.py``). The physics drawn
beside the runs (the trade-off rate, exact closed forms, Bloch vectors) comes from
``cqjax.analysis.exact`` and ``cqjax.analysis.bloch``; this script only arranges the figures.

Figures (PNG, one per name):
- ``fig2_diosi``, ``fig5_diosi`` (seed 004 Figs. 2, 5; linear Diosi), ``fig3_superposed_mass``,
  ``fig7_superposed_mass`` (Figs. 3, 7), ``fig1_seed000`` (seed 000 Fig. 1), ``fig4_ghz_lattice``,
  ``fig6_sqrt_well`` (Figs. 4, 6; skipped while their models are not registered): healed sample
  trajectories (one ending in each branch, highlighted, as in Fig. 5) beside the mean-field
  prediction (red, dashed), in phase space, as Bloch components against t and on the Bloch sphere.
- ``ensemble_diosi``, ``ensemble_superposed_mass``: the final classical momentum by branch, the
  collapse of <sz> across the ensemble, and E<sx>(t) against the decoherence-diffusion trade-off.
- ``validity_seed000``: seed 000's validity inequalities (16)-(18) against measured distances
  between the healed (exact) and the mean-field dynamics.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import cqjax  # noqa: E402
from cqjax.analysis.bloch import bloch_vector  # noqa: E402
from cqjax.analysis.exact import (  # noqa: E402
    diosi_final_momentum,
    diosi_phase_diffusion,
    seed000_deviation_moments,
    seed000_validity_bounds,
    seed000_validity_distances,
    tradeoff_envelope,
)
from cqjax.models import MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
BRANCH = {+1: ("tab:orange", "final <sz> > 0 (towards |0>)"), -1: ("tab:blue", "final <sz> < 0 (towards |1>)")}
MF = {"color": "tab:red", "ls": "--", "lw": 1.6, "label": "mean-field"}
DPI = 110


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Numerical sizes (the physics comes from the configs)."""

    samples: int = 48  # healed trajectories in a trajectory figure
    max_saves: int = 500  # saved times per trajectory figure (the largest divisor of the steps up to this)
    ensemble: int | None = None  # ensemble views: trajectories (None: the config's run.trajectories)
    kept: int = 20_000  # of which kept whole for the histograms
    thetas: int = 17  # validity map: initial states, 0 to 80 degrees
    validity: int | None = None  # validity map: trajectories per state (None: the config's)
    tau_max: float | None = None  # validity map: longest tau (None: the config's t1)


FULL = Sizes()
QUICK = Sizes(samples=8, max_saves=100, ensemble=4000, kept=4000, thetas=4, validity=400, tau_max=4.0)


class Skipped(Exception):
    """A figure whose model or config does not exist yet."""


# --------------------------------------------------------------------------------------------
# Runs: healed trajectories and ensemble statistics, and the mean-field trajectory
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Runs:
    """One config's healed run and the mean-field trajectory from the mean initial point."""

    config: str
    cfg: cqjax.RunConfig
    t: np.ndarray  # (T,)
    z: np.ndarray  # (K, T, n) healed trajectories kept whole
    psi: np.ndarray  # (K, T, d)
    mean: dict[str, np.ndarray]  # ensemble means over all trajectories
    sem: dict[str, np.ndarray]
    trajectories: int
    mf_z: np.ndarray  # (T, n)
    mf_psi: np.ndarray  # (T, d)

    def coord(self, name: str) -> int:
        return self.cfg.model.coords.index(name)

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(healed (K, T), mean-field (T,)) values of a coordinate, or of the time for 't'."""
        if name == "t":
            return np.broadcast_to(self.t, self.z.shape[:2]), self.t
        i = self.coord(name)
        return self.z[..., i], self.mf_z[:, i]


def require_model(name: str, config: str) -> None:
    if name not in MODELS:
        raise Skipped(f"model {name} not available yet")
    if not (CONFIGS / config).exists():
        raise Skipped(f"config configs/{config} not available yet")


def fine_saves(cfg: cqjax.RunConfig, cap: int) -> int:
    """The largest divisor of the number of steps up to ``cap`` (or the config's n_saves if larger)."""
    steps = round(cfg.t1 / cfg.dt)
    return max(k for k in range(1, min(max(cap, cfg.n_saves), steps) + 1) if steps % k == 0)


def mean_field(cfg: cqjax.RunConfig, n_saves: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean-field (seed 004 eqs. 13-14) trajectory from the mean initial point."""
    dtype = jnp.float32 if cfg.precision == "float32" else jnp.float64
    sol = cqjax.simulate(
        cfg.model,
        jnp.asarray(cfg.initial.z_mean, dtype),
        cfg.initial.psi,
        jax.random.key(0),
        t1=cfg.t1,
        dt=cfg.dt,
        n_saves=n_saves,
        unravelling=cqjax.MeanField(),
        solver=cfg.solver,
    )
    return np.asarray(sol.z, np.float64), np.asarray(sol.psi, np.complex128)


@functools.cache
def runs(config: str, sizes: Sizes, ensemble: bool) -> Runs:
    """A few trajectories on a fine save grid, or (``ensemble``) the config's ensemble with the
    qubit's Bloch components streamed over all trajectories (``Sizes.kept`` of them kept whole)."""
    cfg = cqjax.load_config(CONFIGS / config)
    kw = cfg.run_kwargs()
    kw.update(histogram=None)
    if ensemble:
        n = sizes.ensemble or cfg.trajectories
        kw.update(trajectories=n, n_samples=min(n, sizes.kept), observables=("sx", "sy", "sz"))
    else:
        kw.update(
            trajectories=sizes.samples,
            n_samples=sizes.samples,
            observables=("norm_error",),
            n_saves=fine_saves(cfg, sizes.max_saves),
        )
    res = cqjax.run_ensemble(cfg.model, cfg.initial, **kw)
    mf_z, mf_psi = mean_field(cfg, kw["n_saves"])
    return Runs(
        config=config,
        cfg=cfg,
        t=np.asarray(res.t, np.float64),
        z=np.asarray(res.samples_z, np.float64),
        psi=np.asarray(res.samples_psi, np.complex128),
        mean=res.mean,
        sem=res.sem,
        trajectories=res.trajectories,
        mf_z=mf_z,
        mf_psi=mf_psi,
    )


# --------------------------------------------------------------------------------------------
# Branches
# --------------------------------------------------------------------------------------------


def branch_picks(final_sz: np.ndarray) -> dict[int, int]:
    """The first trajectory ending with <sz> > 0 and the first with <sz> < 0 (if any)."""
    picks = {}
    for s in (+1, -1):
        hits = np.flatnonzero(np.sign(final_sz) == s)
        if hits.size:
            picks[s] = int(hits[0])
    return picks


# --------------------------------------------------------------------------------------------
# The shared "sample trajectories + mean-field" figure
# --------------------------------------------------------------------------------------------

PhasePanel = Callable[[object, Runs, dict], None]


def pair_panel(xname: str, yname: str, marks: Callable[[Runs], list] | None = None, n_faint: int = 10) -> PhasePanel:
    """Phase-space panel ``yname`` against ``xname`` ('t' for time): faint extra samples, the
    highlighted branch samples, the mean-field path, and optional marked points."""

    def draw(ax, r: Runs, picks: dict[int, int]) -> None:
        x, x_mf = r.values(xname)
        y, y_mf = r.values(yname)
        faint = [i for i in range(len(x)) if i not in picks.values()][:n_faint]
        for i in faint:
            ax.plot(x[i], y[i], color="0.75", lw=0.6, zorder=1)
        for s, i in picks.items():
            ax.plot(x[i], y[i], color=BRANCH[s][0], lw=1.1, label=f"healed, {BRANCH[s][1]}", zorder=3)
            ax.plot(x[i, -1], y[i, -1], "x", color=BRANCH[s][0], ms=8, mew=2, zorder=4)
        ax.plot(x_mf, y_mf, **MF, zorder=5)
        ax.plot(x_mf[:1], y_mf[:1], "ko", ms=5, zorder=6, label="start (mean)")
        for mx, my, label in marks(r) if marks else []:
            ax.plot(mx, my, "k+", ms=14, mew=2.5, zorder=6)
            ax.annotate(label, (mx, my), textcoords="offset points", xytext=(0, -16), fontsize=8, ha="center")
        ax.set_xlabel(xname)
        ax.set_ylabel(yname)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax.set_title(f"classical: {yname} vs {xname} ({len(faint)} more samples in grey)", fontsize=9)

    return draw


def lattice_panel() -> PhasePanel:
    """Seed 004 Fig. 4: the local fields phi_i against the site i at six equal time steps."""

    def draw(ax, r: Runs, picks: dict[int, int]) -> None:
        k = len(r.cfg.model.positions)
        final = np.abs(bloch_vector(r.psi[:, -1])[:, 2])
        i = max(picks.values(), key=lambda j: final[j])  # the branch sample that collapsed further
        sites = np.arange(1, k + 1)
        idx = np.linspace(0, len(r.t) - 1, 6).round().astype(int)
        for j, ti in enumerate(idx):
            ax.plot(
                sites,
                r.z[i, ti, :k],
                "o-",
                color=colormaps["viridis"](j / 5),
                ms=4,
                lw=1,
                label=f"healed, t = {r.t[ti]:.3g}",
            )
        ax.plot(sites, r.mf_z[-1, :k], marker="s", **{**MF, "label": f"mean-field, t = {r.t[-1]:.3g}"})
        ax.set_xlabel("site i")
        ax.set_ylabel(", ".join(r.cfg.model.positions[:2]) + ", ...")
        ax.set_xticks(sites)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        color = next(BRANCH[s][0] for s, j in picks.items() if j == i)
        ax.set_title("classical: local fields of one healed trajectory", fontsize=9, color=color)

    return draw


def bloch_components(axes, r: Runs, b: np.ndarray, b_mf: np.ndarray, picks: dict[int, int]) -> None:
    """<sx>, <sy>, <sz> (collective for n qubits) against t: branch samples and mean-field."""
    n = r.psi.shape[-1].bit_length() - 1
    power = "" if n == 1 else rf"^{{\otimes {n}}}"
    for k, (ax, name) in enumerate(zip(axes, ("x", "y", "z"))):
        for s, i in picks.items():
            ax.plot(r.t, b[i, :, k], color=BRANCH[s][0], lw=1.0)
        ax.plot(r.t, b_mf[:, k], **{**MF, "label": None})
        ax.set_ylim(-1.08, 1.08)
        ax.set_ylabel(rf"$\langle\sigma_{name}{power}\rangle$")
        ax.grid(alpha=0.3)
        if k < 2:
            ax.tick_params(labelbottom=False)
    axes[0].set_title("quantum: Bloch components", fontsize=9)
    axes[-1].set_xlabel("t")


def bloch_sphere(ax, b: np.ndarray, b_mf: np.ndarray, picks: dict[int, int]) -> None:
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.7", lw=0.3)
    for axis in np.eye(3):
        ax.plot(*np.stack([-axis, axis], axis=1), color="0.5", lw=0.6)
    for s, i in picks.items():
        ax.plot(*b[i].T, color=BRANCH[s][0], lw=1.2)
        ax.scatter(*b[i, -1], color=BRANCH[s][0], marker="x", s=40)
    ax.plot(*b_mf.T, color=MF["color"], ls="--", lw=1.4)
    ax.scatter(*b_mf[0], color="k", s=15)
    for lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        lim(-1.05, 1.05)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("x", labelpad=-8)
    ax.set_ylabel("y", labelpad=-8)
    ax.set_zlabel("z", labelpad=-8)
    for ticks in (ax.set_xticks, ax.set_yticks, ax.set_zticks):
        ticks([-1, 0, 1])
    ax.tick_params(labelsize=6, pad=0)
    ax.set_title("Bloch sphere", fontsize=9)


def trajectory_figure(r: Runs, title: str, phase: PhasePanel) -> tuple[Figure, dict]:
    """Healed sample trajectories (one per branch highlighted) beside the mean-field prediction."""
    b, b_mf = bloch_vector(r.psi), bloch_vector(r.mf_psi)
    picks = branch_picks(b[:, -1, 2])
    fig = Figure(figsize=(14.5, 4.8))
    grid = fig.add_gridspec(3, 3, width_ratios=[1.2, 1.0, 0.95])
    phase(fig.add_subplot(grid[:, 0]), r, picks)
    bloch_components([fig.add_subplot(grid[k, 1]) for k in range(3)], r, b, b_mf, picks)
    bloch_sphere(fig.add_subplot(grid[:, 2], projection="3d"), b, b_mf, picks)
    fig.suptitle(f"{title}\n{describe(r)}", fontsize=10, y=1.04)
    final = b[:, -1, 2]
    return fig, {
        "samples": len(final),
        "final_sz_positive": float(np.mean(final > 0)),
        "max_norm_error": float(np.max(np.abs(np.linalg.norm(r.psi, axis=-1) - 1))),
    }


def describe(r: Runs) -> str:
    params = ", ".join(f"{f.name} = {float(getattr(r.cfg.model, f.name)):g}" for f in dataclasses.fields(r.cfg.model))
    return (
        f"configs/{r.config}: {params}; t in [0, {r.cfg.t1:g}], dt = {r.cfg.dt:g}; "
        f"healed ({r.cfg.solver.name}) vs mean-field (red dashed)"
    )


# --------------------------------------------------------------------------------------------
# Ensemble views
# --------------------------------------------------------------------------------------------


def phase_diffusion(r: Runs) -> np.ndarray:
    """The exact extra factor exp(-Var Phi / 2) of E<sx> from the random unitary phase (Diosi only)."""
    model = r.cfg.model
    if not isinstance(model, cqjax.Diosi):
        return np.ones_like(r.t)
    return diosi_phase_diffusion(r.t, float(model.lam), float(model.sigma), float(model.m), r.cfg.initial.z_cov)


def decoherence_prediction(r: Runs) -> dict[str, np.ndarray]:
    """E<sx>(t) from the trade-off: the envelope exp(-int Gamma(z_mf) dt) along the mean-field path
    times the mean-field <sx>_mf(t) (the unitary phase), times the phase diffusion where known."""
    gamma, envelope = tradeoff_envelope(r.cfg.model, r.t, r.mf_z)
    sx_mf = bloch_vector(r.mf_psi)[:, 0]
    return dict(
        gamma=gamma, envelope=envelope, naive=envelope * sx_mf, sx_mf=sx_mf, full=envelope * sx_mf * phase_diffusion(r)
    )


def final_branch_histogram(ax, r: Runs, coord: str, exact: Callable | None) -> dict:
    x = r.values(coord)[0][:, -1]
    sz = bloch_vector(r.psi[:, -1])[:, 2]
    bins = np.linspace(*np.percentile(x, [0.1, 99.9]), 61)
    for s in (+1, -1):
        sel = np.sign(sz) == s
        ax.hist(
            x[sel],
            bins=bins,
            weights=np.full(sel.sum(), 1 / (len(x) * np.diff(bins)[0])),
            color=BRANCH[s][0],
            alpha=0.6,
            label=f"final <sz> {'>' if s > 0 else '<'} 0 ({sel.mean():.1%})",
        )
    ax.axvline(r.values(coord)[1][-1], **MF)
    info = {"final_sz_positive": float(np.mean(sz > 0)), "kept": len(x)}
    if exact is not None:
        grid = np.linspace(bins[0], bins[-1], 300)
        density, mean, var = exact(r, grid)
        ax.plot(grid, density, "k-", lw=1.2, label="exact (mixture of the branches)")
        n = len(x)
        m4 = np.mean((x - x.mean()) ** 4)
        info.update(
            mean_z=float((x.mean() - mean) / np.sqrt(x.var() / n)),
            var_z=float((x.var() - var) / np.sqrt((m4 - x.var() ** 2) / n)),
        )
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
        h = h / h.max()
        color = colormaps["viridis"](j / max(len(idx) - 1, 1))
        ax.fill_between(centres, j, j + 0.9 * h, step="mid", color=color, alpha=0.8)
    ax.set_yticks(
        np.arange(len(idx)) + 0.3,
        [f"t = {r.t[ti]:.3g}\n{np.mean(np.abs(sz[:, ti]) > 0.9):.0%}" for ti in idx],
        fontsize=7,
    )
    ax.set_ylabel(r"t (fraction with $|\langle\sigma_z\rangle| > 0.9$)")
    ax.set_xlim(-1, 1)
    ax.set_xlabel(r"$\langle\sigma_z\rangle$ of each trajectory")
    ax.set_title(r"collapse of $\langle\sigma_z\rangle$ across the ensemble", fontsize=9)


def decoherence_panels(ax, ax_log, r: Runs) -> dict:
    pred = decoherence_prediction(r)
    t, sx, se = r.t, r.mean["sx"], r.sem["sx"]
    every = max(len(t) // 40, 1)
    ax.errorbar(
        t[::every],
        sx[::every],
        2 * se[::every],
        fmt="o",
        ms=3,
        color="C0",
        elinewidth=1,
        label=r"ensemble E<sx> $\pm$ 2 SE",
        zorder=3,
    )
    ax.plot(
        t,
        pred["full"],
        "k-",
        lw=1.2,
        label=r"trade-off: $e^{-\int\Gamma dt}\,\langle s_x\rangle_{mf}$"
        + (r" $\times e^{-Var\Phi/2}$" if isinstance(r.cfg.model, cqjax.Diosi) else ""),
    )
    if isinstance(r.cfg.model, cqjax.Diosi):
        ax.plot(t, pred["naive"], "k:", lw=1.0, label=r"without the phase diffusion $e^{-Var\Phi/2}$")
    ax.plot(t, pred["sx_mf"], **{**MF, "lw": 1.0, "label": "mean-field <sx>"})
    ax.set_ylabel(r"E$\langle\sigma_x\rangle$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    g = pred["gamma"]
    rate = f"{g[0]:.3g}" if np.allclose(g, g[0], rtol=1e-4) else f"{g.min():.3g} to {g.max():.3g}"
    ax.set_title(rf"decoherence vs trade-off: $\Gamma = |\Delta F|^2/8\sigma^2$ = {rate}", fontsize=9)
    coherence = np.hypot(r.mean["sx"], r.mean["sy"])
    ax_log.semilogy(t, np.maximum(coherence, 1e-4), color="C0", label=r"$2|E\rho_{01}|$ (ensemble)")
    envelope = pred["envelope"]
    ax_log.semilogy(t, envelope * phase_diffusion(r), "k-", lw=1.0, label="trade-off envelope")
    if isinstance(r.cfg.model, cqjax.Diosi):
        ax_log.semilogy(t, envelope, "k:", lw=1.0, label=r"$e^{-\Gamma t}$ alone")
    ax_log.set_xlabel("t")
    ax_log.grid(alpha=0.3, which="both")
    ax_log.legend(fontsize=6.5, loc="lower left")
    ok = se > 0
    z = np.abs(sx - pred["full"])[ok] / se[ok]
    return {
        "gamma": [float(g.min()), float(g.max())],
        "sx_max_z": float(z.max()),
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


def diosi_exact_final_p(r: Runs, grid: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The exact law of the final p (a Born-weighted mixture of the branches): density, mean, var."""
    model, initial = r.cfg.model, r.cfg.initial
    p_var0 = 0.0 if initial.z_cov is None else float(np.asarray(initial.z_cov)[1, 1])
    return diosi_final_momentum(
        grid, r.t[-1], initial.psi, float(initial.z_mean[1]), float(model.lam), float(model.sigma), p_var0
    )


# --------------------------------------------------------------------------------------------
# Seed 000: validity of the mean-field approximation, inequalities (16)-(18)
# --------------------------------------------------------------------------------------------


def validity_runs(cfg: cqjax.RunConfig, sizes: Sizes, thetas: np.ndarray, n_tau: int = 60) -> dict:
    """For each initial polar angle, at about ``n_tau`` log-spaced saved times tau: healed p
    (S, N, tau) and E[rho] (S, tau, 2, 2), mean-field p (S, tau) and psi (S, tau, 2)."""
    t1 = sizes.tau_max or cfg.t1
    n_saves = round(t1 / (cfg.t1 / cfg.n_saves))
    t = np.arange(n_saves + 1) * (t1 / n_saves)
    sel = np.unique(np.geomspace(1, n_saves, n_tau).round().astype(int))
    n = sizes.validity or cfg.trajectories
    z0 = jnp.asarray(cfg.initial.z_mean, jnp.float32)
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(cfg.seed), i))(jnp.arange(n))
    kw = dict(t1=t1, dt=cfg.dt, n_saves=n_saves, solver=cfg.solver)

    @jax.jit
    def healed(psi0):
        sol = jax.vmap(lambda k: cqjax.simulate(cfg.model, z0, psi0, k, unravelling=cqjax.Healed(), **kw))(keys)
        psi = sol.psi[:, sel]
        return sol.z[:, sel, 1], jnp.mean(psi[..., :, None] * jnp.conj(psi[..., None, :]), axis=0)

    @jax.jit
    def mean_field(psi0):
        sol = cqjax.simulate(cfg.model, z0, psi0, keys[0], unravelling=cqjax.MeanField(), **kw)
        return sol.z[sel, 1], sol.psi[sel]

    out = {k: [] for k in ("p", "rho", "p_mf", "psi_mf")}
    for th in thetas:
        psi0 = jnp.array([np.cos(th / 2), np.sin(th / 2)], jnp.complex64)
        for key, value in zip(out, (*healed(psi0), *mean_field(psi0))):
            out[key].append(np.asarray(value, np.complex128 if key in ("rho", "psi_mf") else np.float64))
    out = {k: np.stack(v) for k, v in out.items()}
    return dict(out, tau=t[sel], n=n)


def validity_measures(v: dict, p0: float) -> dict[str, np.ndarray]:
    """(theta, tau) maps of the three distances, from the runs."""
    dev2 = (v["p"] - v["p_mf"][:, None, :]) ** 2  # (S, N, T)
    msd = dev2.mean(1)
    psi = v["psi_mf"] / np.linalg.norm(v["psi_mf"], axis=-1, keepdims=True)
    rho_mf = psi[..., :, None] * psi[..., None, :].conj()
    fidelity = np.einsum("sti,stij,stj->st", psi.conj(), v["rho"], psi).real
    eig = np.linalg.eigvalsh(v["rho"] - rho_mf)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps_c = np.sqrt(msd) / np.abs(v["p_mf"] - p0)
    return dict(
        msd=msd,
        mean=v["p"].mean(1) - v["p_mf"],
        eps_c=eps_c,
        infidelity=1 - fidelity,
        trace_distance=0.5 * np.abs(eig).sum(-1),
    )


VALIDITY_TITLES = dict(
    eps_c=r"(a) classical: RMS$|p_{healed}-p_{mf}|\,/\,|p_{mf}-p_0|$",
    infidelity=r"(b) quantum: $1-\langle\psi_{mf}|E\rho_{healed}|\psi_{mf}\rangle$",
    trace_distance=r"(c) quantum: $\frac{1}{2}\|E\rho_{healed}-\rho_{mf}\|_1$",
)
LEVELS = [0.1, 0.3, 1.0]


def validity_figure(sizes: Sizes) -> tuple[Figure, dict]:
    """Seed 000's validity inequalities (16)-(18) against measured healed-vs-mean-field distances.

    Model: seed 000 eq. (12) with A = sz at saturation (configs/seed000_validity.toml), from a
    point (q0, p0) and cos(theta/2)|0> + sin(theta/2)|1>, so <A> = cos theta and
    <A^2> - <A>^2 = sin^2 theta. At each (theta, tau), with tau the elapsed time, three distances
    of the healed (exact) ensemble from the mean-field dynamics, measured (white contours) and
    exact (black, ``cqjax.analysis.exact.seed000_validity_distances``): (a) classical: the RMS
    distance of a healed momentum from the mean-field one over the mean-field displacement
    (E[p_healed] = p_mf exactly: E<A> is a martingale, so the distance is all spread); (b) the
    infidelity of the ensemble-average state against the pure mean-field state; (c) their trace
    distance. Overlaid: the boundaries of (16) and (17) as printed, and <A>^2 = <A^2> - <A>^2 from
    (18); mean-field is valid where both measures are small, between (16) and (17), left of 45 deg.
    """
    cfg = cqjax.load_config(CONFIGS / "seed000_validity.toml")
    lam, gc, gq = (float(getattr(cfg.model, k)) for k in ("lam", "gamma_c", "gamma_q"))
    thetas = np.radians(np.linspace(0, 80, sizes.thetas))
    v = validity_runs(cfg, sizes, thetas)
    m = validity_measures(v, float(cfg.initial.z_mean[1]))
    exact = seed000_validity_distances(thetas, v["tau"], lam, gc, gq)
    fig = Figure(figsize=(16, 5.4))
    validity_panels(fig, np.degrees(thetas), v["tau"], m, exact, (lam, gc, gq))
    exact_msd, var_msd = seed000_deviation_moments(thetas, v["tau"], lam, gc)
    msd_z = float(np.max(np.abs(m["msd"] - exact_msd) / np.sqrt(var_msd / v["n"])))
    mean_z = float(np.max(np.abs(m["mean"]) / np.sqrt(exact_msd / v["n"])))
    fig.suptitle(
        f"seed 000 (16)-(18): where mean-field approximates the open system (configs/seed000_validity.toml: "
        rf"$\lambda$ = {lam:g}, $\gamma_C$ = {gc:g}, $\gamma_Q$ = {gq:g}, saturated; {v['n']} healed trajectories "
        f"per state)\ncontours 0.1 (solid), 0.3 (dashed), 1 (dotted): measured (white), exact (black); "
        f"E[p_healed] = p_mf within {mean_z:.2g} SE (E<A> is a martingale)",
        fontsize=10,
        y=1.03,
    )
    return fig, {"msd_max_z": msd_z, "mean_max_z": mean_z, "trajectories_per_state": int(v["n"]), "states": len(thetas)}


def validity_panels(
    fig: Figure, deg: np.ndarray, tau: np.ndarray, measured: dict, exact: dict, params: tuple[float, float, float]
) -> None:
    """One (theta, tau) map per distance: measured (colour, white contours), exact (black contours)."""
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (key, title) in zip(axes, VALIDITY_TITLES.items()):
        data = np.log10(np.clip(measured[key], 1e-4, None))
        mesh = ax.pcolormesh(deg, tau, data.T, shading="nearest", cmap="viridis", vmin=-3, vmax=1)
        fig.colorbar(mesh, ax=ax, label="log10", pad=0.01)
        if len(deg) > 1:
            for data, color, lw in ((measured[key], "w", 1.8), (exact[key], "k", 0.8)):
                ax.contour(deg, tau, data.T, levels=LEVELS, colors=color, linewidths=lw, linestyles=["-", "--", ":"])
        overlay_inequalities(ax, deg, tau, *params)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(r"initial polar angle $\theta$ (deg): $\langle A\rangle=\cos\theta$")
    axes[0].set_ylabel(r"$\tau$ (elapsed time)")
    fig.legend(
        *axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.06)
    )


def overlay_inequalities(ax, deg: np.ndarray, tau: np.ndarray, lam: float, gc: float, gq: float) -> None:
    """The boundaries of seed 000's (16) and (17) and the line (18) where <A>^2 = <A^2> - <A>^2."""
    th = np.radians(np.linspace(0.5, 89.5, 300))
    tau16, tau17 = seed000_validity_bounds(th, lam, gc, gq)
    ax.plot(np.degrees(th), tau16, color="tab:red", label=r"(16) $\tau=\gamma_C/\lambda^2\langle A\rangle^2$", lw=1.8)
    ax.plot(
        np.degrees(th),
        tau17,
        color="magenta",
        label=r"(17) $\tau=1/\gamma_Q(\langle A^2\rangle-\langle A\rangle^2)$",
        lw=1.8,
    )
    ax.axvline(
        45, color="0.85", ls="-.", lw=1.2, label=r"(18) $\langle A\rangle^2=\langle A^2\rangle-\langle A\rangle^2$"
    )
    ax.set_yscale("log")
    ax.set_xlim(deg[0] - 2.5, deg[-1] + 2.5)
    ax.set_ylim(tau[0], tau[-1])


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------


def planets(r: Runs) -> list:
    d = float(r.cfg.model.d)
    return [(d, 0.0, "planet in |0>"), (-d, 0.0, "planet in |1>")]


def fig_trajectories(config: str, title: str, phase: PhasePanel, model: str | None = None):
    def make(sizes: Sizes):
        if model:
            require_model(model, config)
        r = runs(config, sizes, False)
        return trajectory_figure(r, title, phase)

    return make


def fig_ghz(sizes: Sizes):
    require_model("ghz_lattice", "ghz_fig4.toml")
    r = runs("ghz_fig4.toml", sizes, False)
    return trajectory_figure(r, "seed 004 Fig. 4: n qubits from a GHZ state, local classical fields", lattice_panel())


def fig_sqrt_well(sizes: Sizes):
    require_model("sqrt_well", "sqrt_well_fig6.toml")
    r = runs("sqrt_well_fig6.toml", sizes, False)
    fig, info = trajectory_figure(
        r,
        r"seed 004 Fig. 6: $\pm\lambda\sqrt{q}$ well/barrier in superposition "
        "(absorbed at q <= 0)",
        pair_panel("q", "p"),
    )
    fig.axes[0].axvline(0.0, color="k", lw=1.0)
    info["absorbed_fraction"] = float(np.mean(np.any(r.z[..., 0] <= 0, axis=1)))
    return fig, info


def fig_ensemble(config: str, coord: str, title: str, exact: Callable | None = None):
    def make(sizes: Sizes):
        return ensemble_figure(runs(config, sizes, True), coord, title, exact)

    return make


FIGURES: dict[str, Callable[[Sizes], tuple[Figure, dict]]] = {
    "fig1_seed000": fig_trajectories(
        "seed000_fig1.toml", "seed 000 Fig. 1: qubit and particle, open system (A = sz)", pair_panel("t", "p")
    ),
    "fig2_diosi": fig_trajectories(
        "diosi_fig2.toml", "seed 004 Fig. 2: linear Diosi (Stern-Gerlach) model", pair_panel("q", "p")
    ),
    "fig3_superposed_mass": fig_trajectories(
        "superposed_mass_fig3.toml",
        "seed 004 Fig. 3: test mass near a planet in superposition, phi = 5",
        pair_panel("x", "y", planets),
    ),
    "fig4_ghz_lattice": fig_ghz,
    "fig5_diosi": fig_trajectories(
        "diosi_fig5.toml", "seed 004 Fig. 5: linear Diosi, healed vs mean-field", pair_panel("q", "p")
    ),
    "fig6_sqrt_well": fig_sqrt_well,
    "fig7_superposed_mass": fig_trajectories(
        "superposed_mass_fig7.toml",
        "seed 004 Fig. 7: test mass near a planet in superposition, phi = 0",
        pair_panel("x", "y", planets),
    ),
    "ensemble_diosi": fig_ensemble(
        "diosi_fig2.toml", "p", "linear Diosi ensemble (Fig. 2 parameters)", diosi_exact_final_p
    ),
    "ensemble_superposed_mass": fig_ensemble(
        "superposed_mass_fig7.toml", "px", "test-mass ensemble (Fig. 7 parameters)"
    ),
    "validity_seed000": validity_figure,
}


def save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def make(
    names: list[str] | None = None, out: str | Path = "figures", quick: bool = False, log: Callable[[str], None] = print
) -> dict[str, tuple[Path | None, dict, float]]:
    """Make the named figures (all by default) into ``out``; return name -> (path or None if
    skipped, info, seconds). Runs shared between figures are counted in the first one."""
    sizes = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names or list(FIGURES):
        if name not in FIGURES:
            raise SystemExit(f"--only: unknown figure {name!r}; have {', '.join(FIGURES)}")
        t0 = time.perf_counter()
        try:
            fig, info = FIGURES[name](sizes)
        except Skipped as why:
            results[name] = (None, {"skipped": str(why)}, time.perf_counter() - t0)
            log(f"{name:26s} skipped: {why}")
            continue
        path = save(fig, out / f"{name}.png")
        seconds = time.perf_counter() - t0
        results[name] = (path, info, seconds)
        summary = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in info.items())
        log(f"{name:26s} {seconds:6.1f} s  {path}  ({summary})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures/", help="output folder (default figures/)")
    parser.add_argument("--only", action="append", metavar="NAME", help="make only this figure (repeatable)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--list", action="store_true", help="list the figure names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(FIGURES))
        return
    t0 = time.perf_counter()
    results = make(args.only, args.out, args.quick)
    made = sum(path is not None for path, _, _ in results.values())
    print(f"{made} figure(s) in {args.out}, {len(results) - made} skipped, {time.perf_counter() - t0:.1f} s in all")


if __name__ == "__main__":
    main()
