"""Throughput of ensembles: trajectory-steps per second and peak memory.

Usage: python scripts/bench.py [--case diosi|seed000-mixed|jump-qubit] [--trajectories 10000 100000 1000000]
       [--dt 1e-3] [--t1 1.0] [--noise gaussian|three-point|rademacher] [--prng threefry|rbg]
Cases: the healed Diosi model (pure states, the default), seed000 above saturation (mixed states,
2 x 2 density matrices), jump_qubit (the jump unravelling, Poisson counts per step).
Each size runs in its own subprocess so that the peak resident memory (ru_maxrss) is per size.
Timings exclude compilation (``run_seconds`` of the runner).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import jax, jax.numpy as jnp
import cqjax
n, dt, t1, precision, chunk, case = (int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4],
                                     sys.argv[5], sys.argv[6])
noise, prng = sys.argv[7], sys.argv[8]
if precision == "float64":
    jax.config.update("jax_enable_x64", True)
init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1, 1]) / jnp.sqrt(2.0))
model = {"diosi": cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0),
         "seed000-mixed": cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=0.3),
         "jump-qubit": cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.1)}[case]
r = cqjax.run_ensemble(model, init, t1=t1, dt=dt,
                       n_saves=10, trajectories=n, observables=("q", "p", "sz"), precision=precision,
                       chunk_size=None if chunk == "auto" else int(chunk), noise=noise, prng=prng)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(case=case, state=r.info["state"], unravelling=r.info["unravelling"], trajectories=n,
                      steps=r.steps, compile_s=r.compile_seconds, run_s=r.run_seconds,
                      traj_steps_per_s=r.trajectory_steps_per_second, peak_rss_mb=peak,
                      chunk=r.info["chunk_size"], device=str(jax.devices()[0]))))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dt", type=float, default=1e-3)
    ap.add_argument("--t1", type=float, default=1.0)
    ap.add_argument("--precision", default="float32", choices=["float32", "float64"])
    ap.add_argument("--chunk", default="auto")
    ap.add_argument("--case", default="diosi", choices=["diosi", "seed000-mixed", "jump-qubit"])
    ap.add_argument("--noise", default="gaussian", choices=["gaussian", "three-point", "rademacher"])
    ap.add_argument("--prng", default="threefry", choices=["threefry", "rbg"])
    args = ap.parse_args()
    print(
        f"{'trajectories':>12} {'steps':>6} {'chunk':>7} {'compile s':>9} {'run s':>8} "
        f"{'traj-steps/s':>13} {'peak RSS MB':>11}  device"
    )
    for n in args.trajectories:
        out = (
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(n),
                    str(args.dt),
                    str(args.t1),
                    args.precision,
                    args.chunk,
                    args.case,
                    args.noise,
                    args.prng,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        print(
            f"{r['trajectories']:>12} {r['steps']:>6} {r['chunk']:>7} {r['compile_s']:>9.2f} {r['run_s']:>8.2f} "
            f"{r['traj_steps_per_s']:>13.3g} {r['peak_rss_mb']:>11.0f}  {r['device']} "
            f"({r['case']}: {r['unravelling']}, {r['state']} states, {args.noise} noise, {args.prng})",
            flush=True,
        )


if __name__ == "__main__":
    main()
