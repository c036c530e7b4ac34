"""Cost of drawing the increments: each ``run.noise`` (and ``run.prng``) against Gaussian threefry.

Usage: python scripts/bench_noise.py [--trajectories 1000000] [--block 64] [--precision float32] [--repeats 5]
       [--runs 100000]
Draws one noise block per trajectory as the runner does (vmapped over one key per trajectory,
``block`` increments each), jitted, in one process; prints the best of ``repeats`` timings and
the ratio to Gaussian threefry. With ``--runs N``, also whole runs in the same process: the
healed Diosi ensemble of scripts/bench.py (N trajectories, 1000 steps), the best ``run_seconds``
of two runs each, interleaved.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trajectories", type=int, default=1_000_000)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--precision", default="float32", choices=("float32", "float64"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=0)
    args = ap.parse_args()
    if args.precision == "float64":
        jax.config.update("jax_enable_x64", True)
    from cqjax.dynamics._noise import NOISES, PRNGS, increments, prng_impl

    dtype = jnp.dtype(args.precision)
    times = {}
    for prng in PRNGS:
        keys = jax.random.split(jax.random.key(0, impl=prng_impl(prng)), args.trajectories)
        for noise in NOISES:
            draw = jax.jit(jax.vmap(lambda k, noise=noise: increments(k, (args.block, 1), dtype, noise)))
            draw(keys).block_until_ready()
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                draw(keys).block_until_ready()
                best = min(best, time.perf_counter() - t0)
            times[prng, noise] = best
    base = times["threefry", "gaussian"]
    print(f"{args.trajectories} x {args.block} increments, {args.precision}, {jax.devices()[0].platform}")
    for (prng, noise), t in times.items():
        print(f"{prng:9s} {noise:12s} {t * 1e3:9.1f} ms  ratio {t / base:.2f}")
    if args.runs:
        _runs(args.runs, args.precision, list(times))


def _runs(n: int, precision: str, cases: list) -> None:
    import cqjax

    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1, 1]) / jnp.sqrt(2.0))
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(2):
        for prng, noise in cases:
            r = cqjax.run_ensemble(
                model,
                init,
                t1=1.0,
                dt=1e-3,
                n_saves=10,
                trajectories=n,
                observables=("q", "p", "sz"),
                precision=precision,
                noise=noise,
                prng=prng,
            )
            best[prng, noise] = min(best[prng, noise], r.run_seconds)
    base = best["threefry", "gaussian"]
    print(f"whole runs: healed Diosi, {n} trajectories x 1000 steps, {precision}")
    for (prng, noise), t in best.items():
        print(f"{prng:9s} {noise:12s} {t:9.2f} s   {n * 1000 / t:.2e} trajectory-steps/s  ratio {t / base:.2f}")


if __name__ == "__main__":
    main()
