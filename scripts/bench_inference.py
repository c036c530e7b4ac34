"""Throughput of the quantum filter and the wall time of a full fit (healed Diosi, float64).

Usage: python scripts/bench_inference.py [--records 1000 10000] [--steps 1000] [--repeats 3]
For each number of records N (of ``steps`` steps, dt = 1e-3): the log-likelihood alone
(``cqjax.loglikelihood``, states not kept), its gradient with respect to (lam, sigma) and, as the
reference in the same run, the simulation of the same number of path-steps by
``cqjax.simulate_paths`` (the engine's healed trajectories); best of ``repeats``, compile excluded,
in path-steps per second. Then ``cqjax.fit`` of (lam, sigma) from (0.5, 2) on 8 records of
``steps`` steps: wall time with and without compilation.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import cqjax  # noqa: E402
from cqjax.inference.maximum_likelihood import _value_and_grad  # noqa: E402


def best(fn, repeats):
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


def _row(n, base, model, init, psi, loglik, steps, dt, repeats) -> None:
    zs = jnp.asarray(np.tile(base.z, (n // base.z.shape[0], 1, 1)))
    ts = jnp.asarray(base.t)
    work = n * steps
    t_ll = best(lambda: loglik(model, ts, zs, psi), repeats)
    vg_args = (cqjax.Diosi(lam=jnp.asarray(1.0), sigma=jnp.asarray(1.0)), ("lam", "sigma"), jnp.array([False, True]))
    t_g = best(lambda: _value_and_grad(jnp.array([1.0, 0.0]), *vg_args, ts, zs, psi, 1.0), repeats)
    t_sim = best(lambda: cqjax.simulate_paths(model, init, t1=steps * dt, dt=dt, paths=n, seed=1)[0].z, 1)
    print(f"{n:>8} {work / t_ll:>20.3g} {work / t_g:>12.3g} {work / t_sim:>15.3g} {t_sim / t_ll:>10.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    dt = 1e-3
    t1 = args.steps * dt
    model, psi = cqjax.Diosi(), jnp.array([1.0, 1.0]) / 2**0.5
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=psi)
    base, _ = cqjax.simulate_paths(model, init, t1=t1, dt=dt, paths=min(args.records), seed=0)
    loglik = jax.jit(cqjax.loglikelihood)
    print(f"{'records':>8} {'loglik path-steps/s':>20} {'gradient':>12} {'simulate (ref)':>15} {'loglik/sim':>10}")
    for n in args.records:
        _row(n, base, model, init, psi, loglik, args.steps, dt, args.repeats)
    data, _ = cqjax.simulate_paths(model, init, t1=t1, dt=dt, paths=8, seed=2)
    for label in ("fit (with compile)", "fit (compiled)"):
        t0 = time.perf_counter()
        r = cqjax.fit(cqjax.Diosi(lam=0.5, sigma=2.0), data, ("lam", "sigma"), state0=psi)
        print(f"{label}: {time.perf_counter() - t0:.2f} s, {r.iterations} iterations, converged {r.converged}")
    print(r.report())


if __name__ == "__main__":
    main()
