"""Cost of the progress ticks within a chunk (at most 8 ``jax.debug.callback`` per chunk).

Alternates, in one process, runs with a progress bar (the kernel with ticks; the bar itself is
silenced) and without (the kernel without them), compilation not timed, and prints the run times:
python scripts/bench_progress.py [--trajectories N] [--n-saves S] [--rounds R]
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import tqdm.auto

import cqjax


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trajectories", type=int, default=8192)
    ap.add_argument("--n-saves", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1, 1]) / 2**0.5)
    quiet = tqdm.auto.tqdm
    tqdm.auto.tqdm = lambda *a, **k: quiet(*a, **k, disable=True)
    times = {"tick": [], "no tick": []}
    for _ in range(args.rounds):
        for mode in times:
            for k in range(3):  # the first compiles (in the first round)
                r = cqjax.run_ensemble(
                    cqjax.Diosi(),
                    init,
                    t1=1.0,
                    dt=1e-3,
                    n_saves=args.n_saves,
                    trajectories=args.trajectories,
                    observables=("p", "sz"),
                    progress=mode == "tick",
                )
                if k:
                    times[mode].append(r.run_seconds)
    for mode, ts in times.items():
        print(f"{mode:>8}: best {min(ts):.3f} s, median {sorted(ts)[len(ts) // 2]:.3f} s: {[round(t, 2) for t in ts]}")
    print(f"ratio tick / no tick (best): {min(times['tick']) / min(times['no tick']):.3f}")


if __name__ == "__main__":
    main()
