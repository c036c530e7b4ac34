"""Seed 004 Fig. 4: n qubits from a GHZ state, each coupled to a local classical field phi_i. The
quantum panels show the n-qubit parity operators sx^(x)n, sy^(x)n, sz^(x)n (the collective Bloch
vector of a GHZ state (|0...0> + e^{ia}|1...1>)/sqrt2, see ``cqjax.analysis.bloch_vector``)."""

import numpy as np
from matplotlib import colormaps

from cqjax.analysis import bloch_vector

from ._runs import MF, Runs, Sizes, require_model, runs
from ._trajectory import trajectory_figure


def lattice_panel(ax, r: Runs, picks: dict[int, int]) -> None:
    """The local fields phi_i against the site i at six equal time steps (as in Fig. 4), for the
    branch sample that collapsed further, and the mean-field fields at the last time."""
    k = len(r.cfg.model.positions)
    final = np.abs(bloch_vector(r.psi[:, -1])[:, 2])
    i = max(picks.values(), key=lambda j: final[j])
    sites = np.arange(1, k + 1)
    idx = np.linspace(0, len(r.t) - 1, 6).round().astype(int)
    for j, ti in enumerate(idx):
        color = colormaps["viridis"](j / 5)
        ax.plot(sites, r.z[i, ti, :k], "o-", color=color, ms=4, lw=1, label=f"healed, t = {r.t[ti]:.3g}")
    ax.plot(sites, r.mf_z[-1, :k], marker="s", **{**MF, "label": f"mean-field, t = {r.t[-1]:.3g}"})
    ax.set_xlabel("site i")
    ax.set_ylabel(r"local field $\phi_i$")
    ax.set_xticks(sites)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    z_final = bloch_vector(r.psi[i, -1])[2]
    towards = "|0...0>" if z_final > 0 else "|1...1>"
    ax.set_title(f"classical: local fields of one healed trajectory (towards {towards})", fontsize=9)


def make(sizes: Sizes):
    require_model("ghz_lattice", "ghz_fig4.toml")
    r = runs("ghz_fig4.toml", sizes, False)
    n = r.psi.shape[-1].bit_length() - 1
    note = (
        rf"quantum panels: the {n}-qubit parities $\langle\sigma_x^{{\otimes {n}}}\rangle$, "
        rf"$\langle\sigma_y^{{\otimes {n}}}\rangle$, $\langle\sigma_z^{{\otimes {n}}}\rangle$ "
        "(the GHZ state's collective Bloch vector: its coherence decays, its Z-parity goes to +-1)\n"
        r"|0> lowers $\phi_i$ here (the force $-\partial H/\partial\phi_i = -\lambda\sigma_z^i$, eq. (C.8)'s "
        "convention); the paper's caption says it raises them (the same sign flip as its Figs. 2 and 5)"
    )
    return trajectory_figure(
        r, f"seed 004 Fig. 4: {n} qubits from a GHZ state, local classical fields", lattice_panel, note
    )
