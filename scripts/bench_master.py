"""Wall time of the master-equation solver: the Diosi model on an N x N (q, p) grid of 2 x 2
matrices, integrated to t = 1 (issue 3 benchmark), or (``--model ghz2``) the two-site GHZ model
on an N^4 (phi_1, phi_2, pi_1, pi_2) grid of 4 x 4 matrices (issue 12), integrated to t = 0.1.

Usage: python scripts/bench_master.py [--model diosi|ghz2] [--cells 128 256] [--precision float64] [--t1 T]
       [--transport second-order upwind]
Fixed extents (Diosi: q in [-4, 4], p in [-7, 7]; GHZ: phi_i in [-2.25, 2.25], pi_i in [-3.9, 3.9];
what the automatic grid picks is not part of the timing), 10 saves (GHZ: 2), no error-estimate
run. Each size runs in its own subprocess (peak RSS per
size). ``run s`` excludes compilation; ``wall s`` is the whole solve_master call. With several
``--transport`` values each size runs once per transport (``master.transport``), the same step count
compared as cost per step.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import jax
n, precision, t1, which, transport = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
jax.config.update("jax_enable_x64", precision == "float64")
import jax.numpy as jnp
import cqjax
from cqjax import solve_master
if which == "diosi":
    model, saves, names = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0), 10, ("p", "sx")
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1, 1]) / jnp.sqrt(2.0))
    extent = {"q": (-4.0, 4.0), "p": (-7.0, 7.0)}
else:
    model, saves, names = cqjax.GHZLattice(n=2), 2, ("pi_1*pi_2", "X^n")
    init = cqjax.InitialState(z_mean=jnp.zeros(4), psi=jnp.array([1, 0, 0, 1]) / jnp.sqrt(2.0))
    extent = {"phi_1": (-2.25, 2.25), "phi_2": (-2.25, 2.25), "pi_1": (-3.9, 3.9), "pi_2": (-3.9, 3.9)}
t0 = time.perf_counter()
r = solve_master(model, init, t1=t1, n_saves=saves, cells=(n,) * len(extent), extent=extent, observables=names,
                 error_estimate=False, save_density=1, transport=transport)
wall = time.perf_counter() - t0
ncells = n ** len(extent)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(cells=n, steps=r.steps, dt=r.dt, compile_s=r.compile_seconds, run_s=r.run_seconds,
                      wall_s=wall, cell_steps_per_s=ncells * r.steps / r.run_seconds, peak_rss_mb=peak,
                      lost=float(r.lost[-1]), device=str(jax.devices()[0]))))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--precision", default="float64", choices=["float32", "float64"])
    ap.add_argument("--t1", type=float, default=None, help="default 1.0 (Diosi), 0.1 (GHZ)")
    ap.add_argument("--model", default="diosi", choices=["diosi", "ghz2"])
    ap.add_argument("--transport", nargs="+", default=["second-order"], choices=["second-order", "upwind"])
    args = ap.parse_args()
    t1 = args.t1 if args.t1 is not None else (1.0 if args.model == "diosi" else 0.1)
    print(
        f"{'cells':>9} {'transport':>12} {'steps':>6} {'dt':>9} {'compile s':>9} {'run s':>7} {'wall s':>7} "
        f"{'cell-steps/s':>12} {'peak RSS MB':>11}  device"
    )
    for n, transport in ((n, tr) for n in args.cells for tr in args.transport):
        out = (
            subprocess.run(
                [sys.executable, "-c", CHILD, str(n), args.precision, str(t1), args.model, transport],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        label = f"{n}^{2 if args.model == 'diosi' else 4}"
        print(
            f"{label:>9} {transport:>12} {r['steps']:>6} {r['dt']:>9.3g} {r['compile_s']:>9.2f} {r['run_s']:>7.2f} "
            f"{r['wall_s']:>7.2f} {r['cell_steps_per_s']:>12.3g} {r['peak_rss_mb']:>11.0f}  {r['device']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
