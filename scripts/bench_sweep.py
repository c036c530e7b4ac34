"""A parameter sweep as one vmapped job against the same points run one after another.

Runs, in one process, B values of the Diosi coupling ``lam`` both ways on already compiled kernels
(each way warmed up once, compilation not timed) and prints the wall times and their ratio:
python scripts/bench_sweep.py [--points B] [--trajectories N] [--steps S] [--rounds R]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import cqjax


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--trajectories", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    lams = np.linspace(0.5, 1.5, args.points)
    common = dict(
        t1=1.0, dt=1.0 / args.steps, n_saves=10, trajectories=args.trajectories, observables=["p", "sz"], progress=False
    )
    plus = np.array([1.0, 1.0]) / np.sqrt(2)

    def one_by_one():
        return [cqjax.run(cqjax.Diosi(lam=lam), plus, [0.0, 0.0], **common) for lam in lams]

    def vmapped():
        return cqjax.run(cqjax.Diosi(), plus, [0.0, 0.0], params={"lam": lams}, **common)

    times = {"one by one": [], "vmapped": []}
    for way in (one_by_one, vmapped):
        way()  # compile
    for _ in range(args.rounds):
        for name, way in (("one by one", one_by_one), ("vmapped", vmapped)):
            t0 = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    steps = args.points * args.trajectories * args.steps
    print(f"{args.points} points x {args.trajectories} trajectories x {args.steps} steps (best of {args.rounds}):")
    for k, v in best.items():
        print(f"  {k:10s} {v:8.3f} s  {steps / v:.3g} traj-steps/s")
    print(f"  vmapped / one-by-one speed: {best['one by one'] / best['vmapped']:.2f}x")


if __name__ == "__main__":
    main()
