"""Where a healed Diosi step's time goes: the whole run against its parts, in one process.

Usage: python scripts/profile_step.py [--trajectories 100000] [--steps 1000] [--saves 10] [--dt 1e-3]
       [--precision float32|float64] [--repeats 3] [--noises gaussian three-point rademacher] [--quick]

The batch is the one the runner uses (healed Diosi, m = lam = sigma = 1, phi = 2, |+> at (0, 0), Kraus
step, observables q, p, sz, the runner's default chunk). Measured for each ``run.noise``:
(a) the whole run, ``run_ensemble``'s ``run_seconds``;
(b) the noise draw alone: the runner's draw (``unravelling.make_draw`` vmapped over the trajectories'
    noise keys, one block of up to 64 steps at a time, step axis first) in the runner's nested
    ``lax.scan`` over saves and blocks; each block is summed over its steps into a carry, so XLA cannot
    drop it;
(c) the step alone: the vmapped ``make_loop_step`` of ``cqjax/ensemble/_loop.py`` in the same nested scan,
    fed one pre-drawn noise block over and over (no draw);
(d) the reductions at the saves: ``chunk_record`` (means, second moments, finiteness, consistency
    checks, samples) at the n_saves + 1 saved times, on a fixed state.
(b)-(d) run chunk by chunk as the runner does (the same number of chunks of the same size). Every
timing is jitted, blocked until ready, the first (compiling) call excluded, and the best of
``repeats``, the cases interleaved. Each part is reported as a fraction of (a) and as trajectory-steps
per second (the run's trajectory-steps divided by the part's time). Absolute times are this host's
only; the fractions are what to compare between hosts.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

NOISES = ("gaussian", "three-point", "rademacher")
OBSERVABLES = ("q", "p", "sz")


def diosi(mass: float = 1.0):
    """The benchmark model and initial state (scripts/bench.py): healed Diosi at (0, 0), |+>."""
    import cqjax

    model = cqjax.Diosi(m=mass, lam=1.0, phi=2.0, sigma=1.0)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1.0, 1.0]) / np.sqrt(2.0))
    return model, init


def trajectory_noise_keys(seed: int, n: int, prng: str = "threefry"):
    """The noise keys of trajectories 0 .. n - 1 as the runner derives them."""
    from cqjax.dynamics._noise import prng_impl
    from cqjax.ensemble._keys import noise_key, trajectory_key

    key = jax.random.key(seed, impl=prng_impl(prng))
    tkeys = jax.vmap(lambda i: trajectory_key(key, i))(jnp.arange(n, dtype=jnp.uint32))
    return tkeys, jax.vmap(noise_key)(tkeys)


def make_draw_only(unravelling, m: int, dtype, noise: str, grid):
    """jit(nkeys -> (chunk, m)): the runner's draws of a whole run (nested scan over saves and blocks,
    ``make_draw`` vmapped over the keys, step axis first), each block summed over its steps."""
    block = grid.block
    blocks_per_save = grid.steps_per_save // block

    def run(nkeys):
        def run_block(acc, b):
            xi = jnp.swapaxes(jax.vmap(lambda k: unravelling.make_draw(k, m, dtype, noise)(b, block))(nkeys), 0, 1)
            return acc + jnp.sum(xi, axis=0), None

        def run_save(acc, i):
            acc, _ = jax.lax.scan(run_block, acc, i * blocks_per_save + jnp.arange(blocks_per_save))
            return acc, None

        acc, _ = jax.lax.scan(run_save, jnp.zeros((nkeys.shape[0], m), dtype), jnp.arange(grid.n_saves))
        return acc

    return jax.jit(run)


def make_step_only(model, unravelling, solver, grid):
    """jit((z, psi), xi (block, chunk, m)) -> (z, psi): the vmapped step over a whole run in the runner's
    nested scan, every block fed the same pre-drawn noise."""
    from cqjax.ensemble._loop import make_loop_step

    step = jax.vmap(make_loop_step(model, unravelling, solver, grid.dt)[0], in_axes=(0, 0, None))
    blocks_per_save = grid.steps_per_save // grid.block

    def run(state, xi):
        def run_block(s, _):
            s, _ = jax.lax.scan(lambda s, x: (step(s, x, 0.0), None), s, xi)
            return s, None

        def run_save(s, _):
            s, _ = jax.lax.scan(run_block, s, None, length=blocks_per_save)
            return s, None

        state, _ = jax.lax.scan(run_save, state, None, length=grid.n_saves)
        return state

    return jax.jit(run)


def make_records_only(model, observables, grid, n_valid: int, n_samples: int = 4):
    """jit((z, psi), eps, c) -> records: ``chunk_record`` at the n_saves + 1 saved times; the state is
    moved by z + eps, psi * c between saves (eps = 0, c = 1 at run time) so XLA cannot hoist it."""
    from cqjax.ensemble._statistics import chunk_record

    def run(state, eps, c):
        z, psi = state
        offsets = jnp.arange(z.shape[0], dtype=jnp.int32)

        def save(s, _):
            z, psi = s
            rec = chunk_record(
                model,
                observables,
                z,
                psi,
                offsets < n_valid,
                offsets,
                pure=True,
                unravelled=True,
                n_samples=n_samples,
                hist=None,
                hist_idx=(),
                mixed=False,
                boundary=False,
            )
            return (z + eps, psi * c), rec

        _, recs = jax.lax.scan(save, (z, psi), None, length=grid.n_saves + 1)
        return recs

    return jax.jit(run)


def sci(x: float) -> str:
    """x in short scientific notation: 2.53e7."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def best_of(fns: dict, repeats: int) -> dict:
    """{name: best seconds} over ``repeats`` rounds, the cases interleaved; each fn() returns seconds."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            best[name] = min(best[name], fn())
    return best


def timed_chunks(fn, args: tuple, n_chunks: int):
    """A timer: ``fn(*args)`` once per chunk (dispatched back to back), blocked until ready."""

    def measure() -> float:
        t0 = time.perf_counter()
        outs = [fn(*args) for _ in range(n_chunks)]
        jax.block_until_ready(outs)
        return time.perf_counter() - t0

    jax.block_until_ready(fn(*args))  # compile and warm up, not timed
    return measure


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--saves", type=int, default=10)
    ap.add_argument("--dt", type=float, default=1e-3)
    ap.add_argument("--precision", default="float32", choices=("float32", "float64"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--noises", nargs="+", default=list(NOISES), choices=NOISES)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (2000 trajectories, 100 steps, 2 repeats)")
    args = ap.parse_args()
    if args.quick:
        args.trajectories, args.steps, args.repeats = 2000, 100, 2
    if args.precision == "float64":
        jax.config.update("jax_enable_x64", True)

    import cqjax
    from cqjax._precision import cast_model
    from cqjax.ensemble._keys import initial_key
    from cqjax.spec.observables import parse_observable

    dtype = jnp.dtype(args.precision)
    model, init = diosi()
    t1 = args.steps * args.dt
    grid = cqjax.TimeGrid.make(t1, args.dt, args.saves)
    unravelling, solver = cqjax.Healed(), cqjax.Kraus()
    run_kw = dict(
        t1=t1,
        dt=args.dt,
        n_saves=args.saves,
        trajectories=args.trajectories,
        observables=OBSERVABLES,
        precision=args.precision,
    )

    # (a) whole runs; the first one (compiling) also tells the chunk the runner chose
    first = cqjax.run_ensemble(model, init, **run_kw, noise=args.noises[0])
    chunk = int(first.info["chunk_size"])
    n_chunks = -(-args.trajectories // chunk)
    n_valid = min(chunk, args.trajectories)

    def whole(noise):
        cqjax.run_ensemble(model, init, **run_kw, noise=noise)  # compile (cached after the first) and warm up
        return lambda: cqjax.run_ensemble(model, init, **run_kw, noise=noise).run_seconds

    # the parts, on one chunk of the runner's size, called once per chunk
    cmodel = cast_model(model, dtype)
    tkeys, nkeys = trajectory_noise_keys(0, chunk)
    z0, psi0 = jax.vmap(lambda k: init.sample(initial_key(k), dtype))(tkeys)
    m = unravelling.noise_dim(cmodel, z0[0])
    xi = jax.random.normal(jax.random.key(1), (grid.block, chunk, m), dtype)
    observables = [parse_observable(name, cmodel) for name in OBSERVABLES]
    step_fn = make_step_only(cmodel, unravelling, solver, grid)
    rec_fn = make_records_only(cmodel, observables, grid, n_valid)
    timers = {("run", noise): whole(noise) for noise in args.noises}
    timers.update(
        {
            ("draw", noise): timed_chunks(make_draw_only(unravelling, m, dtype, noise, grid), (nkeys,), n_chunks)
            for noise in args.noises
        }
    )
    timers["step", None] = timed_chunks(step_fn, ((z0, psi0), xi), n_chunks)
    timers["records", None] = timed_chunks(
        rec_fn, ((z0, psi0), jnp.zeros((), dtype), jnp.ones((), psi0.dtype)), n_chunks
    )
    best = best_of(timers, args.repeats)

    work = args.trajectories * grid.n_steps
    device = jax.devices()[0]
    print(
        f"healed Diosi, {args.precision}, {args.trajectories} trajectories x {grid.n_steps} steps, "
        f"{args.saves} saves (noise blocks of {grid.block} steps), chunk {chunk} x {n_chunks}, "
        f"observables {', '.join(OBSERVABLES)}; device {device.platform} ({getattr(device, 'device_kind', '')}); "
        f"best of {args.repeats}, compilation excluded; seconds and rates are this host's"
    )
    print()
    print("| noise | part | s (this host) | fraction of the run | trajectory-steps/s (this host) |")
    print("|---|---|---:|---:|---:|")
    labels = {
        "run": "(a) whole run (`run_ensemble` run_seconds)",
        "draw": "(b) noise draw alone",
        "step": "(c) step alone (pre-drawn noise)",
        "records": f"(d) reductions at {grid.n_saves + 1} saves",
    }
    summary = []
    for noise in args.noises:
        run = best["run", noise]
        parts = {"draw": best["draw", noise], "step": best["step", None], "records": best["records", None]}
        rows = [("run", run), *parts.items(), ("rest", run - sum(parts.values()))]
        for part, sec in rows:
            label = labels.get(part, "rest: (a) - (b) - (c) - (d)")
            rate = sci(work / sec) if sec > 0 else "-"
            print(f"| {noise} | {label} | {sec:.3f} | {sec / run:.2f} | {rate} |")
        fr = {k: v / run for k, v in parts.items()}
        summary.append(
            f"{noise}: draw {fr['draw']:.0%}, step {fr['step']:.0%}, reductions {fr['records']:.0%}, "
            f"rest {1 - sum(fr.values()):.0%} of {run:.2f} s ({sci(work / run)} traj-steps/s)"
        )
    print()
    print(f"Summary ({args.precision}): " + "; ".join(summary) + ".")


if __name__ == "__main__":
    main()
