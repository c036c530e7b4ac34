"""Accuracy of the master equation against the exact Diosi coherence, per transport and grid.

Usage: python scripts/bench_master_accuracy.py [--cells 128 128] [--transport upwind second-order]
       [--extent Q P] [--dt DT]

The healed Diosi model (m = lam = sigma = 1, phi = 2) from |+> at the point (q, p) = (0, 0), t1 = 1,
10 saves: max over the saved times of |E<sx> - 2 Re rho_01| and |E<sy> + 2 Im rho_01| against the
exact E rho_01(t) (seed 004 App. C, I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics": ``cqjax.analysis.diosi_coherence``). The grid is the automatic one
(extents from the pilot runs) unless ``--extent Q P`` gives q in [-Q, Q] and p in [-P, P]; ``--dt``
defaults to the automatic step. Prints one row per transport: grid, extents, dt, error, ratio to
the first transport's error, lost mass, wall time (pilot and run together).
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import cqjax  # noqa: E402
from cqjax.analysis import diosi_coherence  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs=2, default=(128, 128))
    parser.add_argument("--transport", nargs="+", default=["upwind", "second-order"])
    parser.add_argument("--extent", type=float, nargs=2, default=None)
    parser.add_argument("--dt", type=float, default=None)
    args = parser.parse_args()
    psi0 = np.array([1.0, 1.0]) / np.sqrt(2)
    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    initial = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.asarray(psi0, complex))
    extent = (
        None
        if args.extent is None
        else {"q": (-args.extent[0], args.extent[0]), "p": (-args.extent[1], args.extent[1])}
    )
    first = None
    head = ("transport", "grid", "q extent", "p extent", "dt", "error", "ratio", "lost", "wall s")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (13, 10, 16, 16, 9, 9, 6, 8, 7))))
    for transport in args.transport:
        start = time.perf_counter()
        r = cqjax.solve_master(
            model,
            initial,
            t1=1.0,
            n_saves=10,
            cells=tuple(args.cells),
            extent=extent,
            dt=args.dt,
            observables=("sx", "sy"),
            error_estimate=False,
            transport=transport,
        )
        wall = time.perf_counter() - start
        exact = diosi_coherence(r.t, psi0, [0.0, 0.0], 1.0, 1.0, 1.0, 2.0)
        error = max(np.max(np.abs(r.mean["sx"] - 2 * exact.real)), np.max(np.abs(r.mean["sy"] + 2 * exact.imag)))
        first = first or error
        g = r.grid
        q, p = f"[{g.lo[0]:.2f}, {g.hi[0]:.2f}]", f"[{g.lo[1]:.2f}, {g.hi[1]:.2f}]"
        print(
            f"{transport:>13} {'x'.join(map(str, g.cells)):>10} {q:>16} {p:>16} {r.dt:9.3g} {error:9.3e}"
            f" {first / error:6.2f} {float(np.sum(r.lost[-1])):8.1e} {wall:7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
