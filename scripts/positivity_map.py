"""Where does the seed-000 partial Wigner function stay positive? A map over gamma_C gamma_Q and
lambda^2 / 16 from the master equation's ``min_eig`` (seed 000 eq. 14: positive iff
gamma_C gamma_Q >= lambda^2 / 16).

For each (lambda, gamma_Q) at fixed gamma_C the seed-000 master equation is integrated from a
point (q0, p0) = (0, 0) and |+> to t1 (q is conserved: one 1-D problem in p), and the smallest
eigenvalue of varrho over the grid and over time, relative to the largest cell trace, is recorded.
From a point in p the continuum solution is positive at every t > 0 iff the trade-off holds, so
the boundary of the coloured region must be the diagonal.

    python scripts/positivity_map.py [--n 12] [--t1 2.0] [--out figures/positivity_map.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import cqjax  # noqa: E402
from cqjax import InitialState, solve_master  # noqa: E402


def scan(n: int, t1: float, gamma_c: float, cells: int) -> dict[str, np.ndarray]:
    lam2 = np.linspace(0.1, 4.0, n)  # lambda^2
    prod = np.linspace(0.1, 4.0, n) / 16  # gamma_C gamma_Q, same range as lambda^2 / 16
    min_eig = np.zeros((n, n))
    initial = InitialState(jnp.zeros(2), jnp.array([1.0, 1.0]) / np.sqrt(2))
    for i, l2 in enumerate(lam2):
        for j, g in enumerate(prod):
            model = cqjax.Seed000(lam=-float(np.sqrt(l2)), gamma_c=gamma_c, gamma_q=float(g / gamma_c))
            r = solve_master(
                model, initial, t1=t1, n_saves=8, cells=(1, cells), error_estimate=False, allow_non_cp=True
            )
            min_eig[i, j] = r.min_eig.min()
    return {"lam2_over_16": lam2 / 16, "gamma_product": prod, "min_eig": min_eig}


def plot(data: dict, path: Path, t1: float, gamma_c: float) -> None:
    """The map on a Figure (no pyplot state): red cells have min_eig < 0 (not positive), white cells
    min_eig = 0 to rounding (positive, the colour of 0 on the diverging scale); the black line is
    the measured boundary, the orange dashed line the prediction of eq. (14)."""
    from matplotlib.colors import SymLogNorm
    from matplotlib.figure import Figure

    from cqjax.plot import save_figure

    x, y, z = data["gamma_product"], data["lam2_over_16"], data["min_eig"]
    fig = Figure(figsize=(5.8, 4.8), layout="constrained")
    ax = fig.subplots()
    lim = max(abs(z.min()), 1e-6)
    mesh = ax.pcolormesh(x, y, z, shading="nearest", cmap="RdBu", norm=SymLogNorm(linthresh=1e-6, vmin=-lim, vmax=lim))
    fig.colorbar(mesh, ax=ax, label="min_eig (smallest eigenvalue / largest cell trace)")
    ax.plot(
        [x.min(), x.max()],
        [x.min(), x.max()],
        "--",
        color="orange",
        lw=2.5,
        label=r"eq. (14): $\gamma_C\gamma_Q = \lambda^2/16$",
    )
    ax.contour(x, y, z, levels=[-1e-9], colors="k", linewidths=1.0, zorder=5)
    ax.plot([], [], "k-", lw=1.0, label="measured boundary (min_eig = 0)")
    ax.set_xlabel(r"$\gamma_C \gamma_Q$")
    ax.set_ylabel(r"$\lambda^2 / 16$")
    ax.set_title(
        f"seed 000: positivity of the partial Wigner function\n"
        rf"$\gamma_C$ = {gamma_c}, t = {t1}, from a point in p; red: min_eig < 0, white: min_eig = 0 (positive)",
        fontsize=8.5,
    )
    ax.legend(loc="upper left", fontsize=7.5)
    save_figure(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=12, help="points per axis")
    parser.add_argument("--t1", type=float, default=2.0)
    parser.add_argument("--gamma-c", type=float, default=0.5)
    parser.add_argument("--cells", type=int, default=160, help="cells along p")
    parser.add_argument("--out", default="figures/positivity_map.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = scan(args.n, args.t1, args.gamma_c, args.cells)
    np.savez(out.with_suffix(".npz"), **data)
    plot(data, out, args.t1, args.gamma_c)
    x, y, z = data["gamma_product"], data["lam2_over_16"], data["min_eig"]
    positive = z > -1e-9
    predicted = x[None, :] >= y[:, None] - 1e-12
    print(
        f"{out}: {args.n}x{args.n} runs in {time.perf_counter() - t0:.1f} s; "
        f"min_eig >= 0 exactly where gamma_C gamma_Q >= lambda^2/16 in "
        f"{int((positive == predicted).sum())}/{z.size} points"
    )


if __name__ == "__main__":
    main()
