"""Throughput of a run that keeps paths (run.paths) and of the linear unravelling, as ratios to the
healed run of the same model, shapes and noise measured in the same process.

    python scripts/bench_paths_linear.py [--trajectories 8192] [--steps 1000] [--paths 256] [--rounds 3]

Diosi model (seed 004 App. C.2), float32, Kraus step, 10 saves; the best of ``--rounds`` runs after
a compiling one; trajectory-steps per second from the runner's own timing (compilation excluded).
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np

import cqjax


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trajectories", type=int, default=8192)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--paths", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1, 1], complex) / np.sqrt(2))
    kw = dict(t1=args.steps * 1e-3, dt=1e-3, n_saves=10, trajectories=args.trajectories, observables=("p", "sz"))
    cases = {
        "healed": {},
        f"healed, paths = {args.paths} (every step)": dict(paths=args.paths),
        f"healed, paths = {args.paths}, path_stride = 10": dict(paths=args.paths, path_stride=10),
        "linear": dict(unravelling=cqjax.Linear()),
    }
    best = {}
    for name, extra in cases.items():
        cqjax.run_ensemble(model, init, **kw, **extra)  # compile
        best[name] = min(cqjax.run_ensemble(model, init, **kw, **extra).run_seconds for _ in range(args.rounds))
    ref = best["healed"]
    print("| run | best s | trajectory-steps/s | time / healed |\n|---|---:|---:|---:|")
    for name, s in best.items():
        print(f"| {name} | {s:.3f} | {args.trajectories * args.steps / s:.3g} | {s / ref:.2f} |")


if __name__ == "__main__":
    main()
