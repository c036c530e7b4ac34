"""The shared layout of the trajectory figures (seed 004 Figs. 2-7, seed 000 Fig. 1): healed
sample trajectories (one ending in each branch highlighted, as in seed 004 Fig. 5) beside the
mean-field prediction, as a classical panel, Bloch components against t and the Bloch sphere."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from cqjax.analysis import bloch_vector
from cqjax.plot import draw_bloch_path, draw_bloch_sphere

from ._runs import BRANCH, MF, Runs, branch_picks, describe

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


def bloch_components(axes, r: Runs, b: np.ndarray, b_mf: np.ndarray, picks: dict[int, int]) -> None:
    """<sx>, <sy>, <sz> against t (for n qubits the n-qubit parities sx^(x)n, sy^(x)n, sz^(x)n):
    the branch samples and the mean-field prediction."""
    n = r.psi.shape[-1].bit_length() - 1
    for k, (ax, name) in enumerate(zip(axes, ("x", "y", "z"))):
        for s, i in picks.items():
            ax.plot(r.t, b[i, :, k], color=BRANCH[s][0], lw=1.0)
        ax.plot(r.t, b_mf[:, k], **{**MF, "label": None})
        ax.set_ylim(-1.08, 1.08)
        op = rf"\sigma_{name}" if n == 1 else rf"\sigma_{name}^{{\otimes {n}}}"
        ax.set_ylabel(rf"$\langle {op}\rangle$")
        ax.grid(alpha=0.3)
        if k < 2:
            ax.tick_params(labelbottom=False)
    what = "Bloch components" if n == 1 else f"Bloch components = {n}-qubit parity operators"
    axes[0].set_title(f"quantum: {what}", fontsize=9)
    axes[-1].set_xlabel("t")


def bloch_sphere(ax, b: np.ndarray, b_mf: np.ndarray, picks: dict[int, int], n: int = 1) -> None:
    """The branch samples and the mean-field path on the Bloch sphere (n qubits: the parities)."""
    draw_bloch_sphere(ax, ("|0>", "|1>") if n == 1 else ("|0...0>", "|1...1>"))
    for s, i in picks.items():
        draw_bloch_path(ax, b[i], BRANCH[s][0], lw=1.2, has_jumps=False)  # healed: continuous
    ax.plot(*b_mf.T, color=MF["color"], ls="--", lw=1.4)
    ax.set_title("Bloch sphere" if n == 1 else f"Bloch sphere of the {n}-qubit parities", fontsize=9)


def trajectory_figure(r: Runs, title: str, phase: PhasePanel, note: str | None = None) -> tuple[Figure, dict]:
    """Healed sample trajectories (one per branch highlighted) beside the mean-field prediction;
    ``note``: a line under the title (e.g. a sign convention)."""
    b, b_mf = bloch_vector(r.psi), bloch_vector(r.mf_psi)
    picks = branch_picks(b[:, -1, 2])
    fig = Figure(figsize=(14.5, 4.8))
    grid = fig.add_gridspec(3, 3, width_ratios=[1.2, 1.0, 0.95])
    phase(fig.add_subplot(grid[:, 0]), r, picks)
    bloch_components([fig.add_subplot(grid[k, 1]) for k in range(3)], r, b, b_mf, picks)
    n = r.psi.shape[-1].bit_length() - 1
    bloch_sphere(fig.add_subplot(grid[:, 2], projection="3d"), b, b_mf, picks, n)
    lines = note.count("\n") + 1 if note else 0
    fig.suptitle(f"{title}\n{describe(r)}" + (f"\n{note}" if note else ""), fontsize=10, y=1.04 + 0.04 * lines)
    final = b[:, -1, 2]
    return fig, {
        "samples": len(final),
        "final_sz_positive": float(np.mean(final > 0)),
        "max_norm_error": float(np.max(np.abs(np.linalg.norm(r.psi, axis=-1) - 1))),
    }


def planets(r: Runs) -> list:
    """The two planet positions of the superposed-mass model (|0>: +d, |1>: -d on x)."""
    d = float(r.cfg.model.d)
    return [(d, 0.0, "planet in |0>"), (-d, 0.0, "planet in |1>")]


# Seed 004 eq. (C.8), dp = -2 lam <sz> dt + sigma dW: |0> (sz = +1) pushes p down. The paper's Figs. 2
# and 5 were drawn with the back-reaction sign flipped (their |0> branch drifts up), so ours are their
# mirror image in p.
C8_NOTE = (
    "Mirrored in p against the paper's figure and caption (there |0> drifts up): here |0> pushes p down, as eq. (C.8) "
    "says,\n"
    r"$dp = -2\lambda\langle\sigma_z\rangle dt + \sigma dW$ (the force $-\partial_q H$); "
    "the sign convention of eq. (C.8) is the correct one."
)
