"""Seed 004 Fig. 6: a particle under the +-lambda sqrt(q) coupling from |+>, absorbed at the wall
q = 0. The branch towards |0> feels the well +lambda sqrt(q) (force -lambda / 2 sqrt(q), towards the
wall) and typically falls into q = 0, where drift and noise diverge and the model's absorbing rule
stops (freezes) it; the branch towards |1> feels the barrier -lambda sqrt(q) and rebounds. (The
paper's caption swaps the two names.) The figure marks where and when each drawn sample was
absorbed, so a frozen path reads as what it is."""

import numpy as np

from cqjax.analysis import bloch_vector

from ._runs import BRANCH, Runs, Sizes, branch_picks, require_model, runs
from ._trajectory import pair_panel, trajectory_figure

TITLE = (
    r"seed 004 Fig. 6: $\pm\lambda\sqrt{q}$ coupling from |+>: |0> feels the well $+\lambda\sqrt{q}$, "
    r"|1> the barrier $-\lambda\sqrt{q}$ (the paper's caption swaps them)"
)


def absorption_index(q: np.ndarray) -> int | None:
    """First saved index at which a path (T,) is at the wall q <= 0 (then frozen), or None."""
    hits = np.flatnonzero(q <= 0)
    return int(hits[0]) if hits.size else None


def mark_absorbed(fig, r: Runs) -> None:
    """On the classical panel and the quantum components: where each drawn branch sample hit the wall."""
    picks = branch_picks(bloch_vector(r.psi[:, -1])[:, 2])
    phase, components = fig.axes[0], fig.axes[1:4]
    phase.axvline(0.0, color="k", lw=1.0)
    phase.annotate("wall q = 0 (absorbing)", (0.0, 0.98), xycoords=("data", "axes fraction"), fontsize=7, va="top")
    for s, i in picks.items():
        k = absorption_index(r.z[i, :, 0])
        if k is None:
            continue
        color, t_hit = BRANCH[s][0], r.t[k]
        phase.plot(r.z[i, k, 0], r.z[i, k, 1], "s", color=color, mec="k", ms=7, zorder=7)
        phase.annotate(
            f"absorbed at t = {t_hit:.2f}: frozen after",
            (r.z[i, k, 0], r.z[i, k, 1]),
            textcoords="offset points",
            xytext=(8, -14),
            fontsize=7,
            color=color,
        )
        for ax in components:
            ax.axvspan(t_hit, r.t[-1], color=color, alpha=0.12, lw=0)
    phase.legend(fontsize=7, loc="upper right")
    components[0].annotate("shaded: after absorption (frozen)", (0.01, 0.05), xycoords="axes fraction", fontsize=6.5)


def make(sizes: Sizes):
    require_model("sqrt_well", "sqrt_well_fig6.toml")
    r = runs("sqrt_well_fig6.toml", sizes, False)
    fig, info = trajectory_figure(r, TITLE, pair_panel("q", "p"))
    mark_absorbed(fig, r)
    info["absorbed_fraction"] = float(np.mean(np.any(r.z[..., 0] <= 0, axis=1)))
    return fig, info
