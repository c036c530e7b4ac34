"""One markdown table of throughputs on the current device (meant for one GPU; ``--quick``: a CPU dry run).

Usage: python scripts/bench_gpu.py [--quick] [--budget 240] [--hbm 4.8e12]

Rows, printed one by one as they finish (a case that fails prints ``FAILED: reason`` in its row; one
that would start after ``--budget`` seconds prints ``SKIPPED``):
- RNG alone: the runner's noise draws (``unravelling.make_draw`` vmapped over 2^24 trajectory keys,
  blocks of the Diosi runs' length, summed so XLA cannot drop them; scripts/profile_step.py), per
  ``run.noise``: increments per second = the fastest a run could step if drawing were all it did;
- healed Diosi, float32 (m = lam = sigma = 1, phi = 2, |+>, Kraus, observables q, p, sz), 1e6, 1e7
  and 1e8 trajectories x 100 steps of dt = 1e-3, 10 saves, each ``run.noise``: the best
  ``run_seconds`` of two runs (up to five while they add up to under a second), the chunk the
  runner chose, compile seconds of the first; notes: the fraction of the HBM roofline (below) and of
  the RNG rate of the same noise;
- seed000 above saturation with mixed states (configs/seed000_unsaturated.toml, run.state = "mixed"),
  jump_qubit (configs/jump_qubit.toml, the jump unravelling), the GHZ lattice n = 5
  (configs/ghz_fig4.toml): 1e6 trajectories x 100 steps of the config's dt, 10 saves, the config's
  observables, no histogram;
- the CQ master equation (healed Diosi, q in [-4, 4], p in [-7, 7], 10 saves, automatic dt, no
  error-estimate run, float32) on 256^2 and 1024^2 cells: cell-steps per second;
- an HBM roofline estimate for the Diosi step: per trajectory-step the state (z: 2 float32, psi:
  2 complex64 = 24 bytes) is read and written once, and the increment (4 bytes) written by the draw
  and read by the step: 56 bytes; roofline = ``--hbm`` (H200: 4.8 TB/s) / 56 bytes.
Timings exclude compilation. ``--quick`` scales everything down (for a CPU dry run of the script).
"""

from __future__ import annotations

import argparse
import time
import traceback
from pathlib import Path

import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parent.parent
NOISES = ("gaussian", "three-point", "rademacher")
STATE_BYTES = 2 * 4 + 2 * 8  # z (2 float32) + psi (2 complex64)
NOISE_BYTES = 4  # one float32 increment
BYTES_PER_STEP = 2 * STATE_BYTES + 2 * NOISE_BYTES  # state read + written, increment written + read


class Table:
    """Prints a markdown table row by row; ``case`` runs a row's work with a time budget and catches failures."""

    header = (
        "| case | noise | trajectories or cells | steps | chunk | compile s | run s | rate /s | notes |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---|"
    )

    def __init__(self, budget: float):
        self.t0 = time.perf_counter()
        self.budget = budget
        self.failures = []  # tracebacks, printed after the table
        print(self.header, flush=True)

    def case(self, name: str, noise: str, size: str, fn) -> dict | None:
        """Run ``fn() -> dict(steps, chunk, compile_s, run_s, rate, unit, notes)`` and print its row."""
        if time.perf_counter() - self.t0 > self.budget:
            self.row(name, noise, size, notes=f"SKIPPED: past the time budget of {self.budget:.0f} s")
            return None
        try:
            r = fn()
        except Exception as err:  # one failing case must not lose the others
            first = (str(err).strip().splitlines() or [""])[0][:300]
            self.row(name, noise, size, notes=f"FAILED: {type(err).__name__}: {first}")
            self.failures.append(f"{name}, {noise}, {size}:\n{traceback.format_exc(limit=4)}")
            return None
        self.row(name, noise, size, **r)
        return r

    def row(self, name, noise, size, steps="", chunk="", compile_s=None, run_s=None, rate=None, unit="", notes=""):
        f = lambda x, spec: "" if x is None else format(x, spec)
        rate_s = "" if rate is None else f"{sci(rate)} {unit}".strip()
        print(
            f"| {name} | {noise} | {size} | {steps} | {chunk} | {f(compile_s, '.2f')} | {f(run_s, '.3f')} | "
            f"{rate_s} | {notes} |",
            flush=True,
        )


def short(n: int) -> str:
    """1000000 -> 1e6 (powers of ten), other integers as they are."""
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


def sci(x: float) -> str:
    """x in short scientific notation: 2.53e7."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def rng_rate(noise: str, n: int, steps: int, saves: int, repeats: int) -> dict:
    """Increments per second of the runner's draw for ``n`` trajectories x ``steps`` steps."""
    from profile_step import best_of, make_draw_only, timed_chunks, trajectory_noise_keys

    import cqjax

    grid = cqjax.TimeGrid.make(steps * 1e-3, 1e-3, saves)
    _, nkeys = trajectory_noise_keys(0, n)
    fn = make_draw_only(cqjax.Healed(), 1, jnp.float32, noise, grid)
    t_compile = time.perf_counter()
    timer = timed_chunks(fn, (nkeys,), 1)
    t_compile = time.perf_counter() - t_compile
    best = best_of({0: timer}, repeats)[0]
    return dict(steps=steps, chunk=n, compile_s=t_compile, run_s=best, rate=n * steps / best, unit="increments")


def ensemble(model, init, kw: dict, repeats: int, notes=lambda rate: "") -> dict:
    """The best ``run_seconds`` of at least ``repeats`` runs of ``run_ensemble(model, init, **kw)``: more
    (up to 5) while they add up to less than a second, so that short runs are timed several times."""
    import cqjax

    runs = [cqjax.run_ensemble(model, init, **kw) for _ in range(repeats)]
    while len(runs) < 5 and sum(r.run_seconds for r in runs) < 1.0:
        runs.append(cqjax.run_ensemble(model, init, **kw))
    best = min(runs, key=lambda r: r.run_seconds)
    rate = best.trajectory_steps_per_second
    return dict(
        steps=best.steps,
        chunk=best.info["chunk_size"],
        compile_s=runs[0].compile_seconds,
        run_s=best.run_seconds,
        rate=rate,
        unit="traj-steps",
        notes=notes(rate),
    )


def from_config(name: str, n: int, steps: int, repeats: int, overrides: tuple[str, ...] = ()) -> dict:
    """A config's model, initial state and observables: ``n`` trajectories x ``steps`` steps of its dt."""
    import cqjax

    cfg = cqjax.load_config(ROOT / "configs" / name, [f"run.trajectories={n}", *overrides])
    kw = cfg.run_kwargs()
    kw.update(t1=steps * cfg.dt, n_saves=10, histogram=None, n_samples=min(4, n), precision="float32")
    r = ensemble(cfg.model, cfg.initial, kw, repeats)
    r["notes"] = f"dt = {cfg.dt:g}; {len(cfg.observables)} observables"
    return r


def master(cells: int, t1: float) -> dict:
    """solve_master on cells x cells (healed Diosi, float32, automatic dt, no error estimate)."""
    import cqjax

    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1.0, 1.0]) / 2**0.5)
    r = cqjax.solve_master(
        model,
        init,
        t1=t1,
        n_saves=10,
        cells=(cells, cells),
        extent={"q": (-4.0, 4.0), "p": (-7.0, 7.0)},
        observables=("p", "sx"),
        error_estimate=False,
    )
    return dict(
        steps=r.steps,
        compile_s=r.compile_seconds,
        run_s=r.run_seconds,
        rate=cells * cells * r.steps / r.run_seconds,
        unit="cell-steps",
        notes=f"t1 = {t1:g}, dt = {r.dt:.3g}, lost {float(r.lost[-1]):.1e}",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a dry run of the script on a CPU")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds after which no new case starts")
    ap.add_argument("--hbm", type=float, default=4.8e12, help="HBM bandwidth in bytes/s (H200: 4.8e12)")
    args = ap.parse_args()

    import cqjax

    q = args.quick
    if jax.devices()[0].platform == "cpu" and not q:
        print("WARNING: no accelerator (jax sees only the CPU): running the --quick sizes")
        q = True
    sizes = [1_000, 10_000, 100_000] if q else [1_000_000, 10_000_000, 100_000_000]
    others = 1_000 if q else 1_000_000
    steps, other_steps = 100, (20 if q else 100)
    repeats = 2
    rng_n = 2**12 if q else 2**24
    grids = [(32, 0.1), (64, 0.1)] if q else [(256, 1.0), (1024, 0.1)]
    dev = jax.devices()[0]
    roofline = args.hbm / BYTES_PER_STEP
    print(
        f"device: {dev} ({getattr(dev, 'device_kind', dev.platform)}), {jax.device_count()} device(s), "
        f"jax {jax.__version__}, cqjax {cqjax.__version__}; float32; timings exclude compilation"
        + (" (--quick: tiny sizes, a dry run)" if q else "")
    )
    print(
        f"HBM roofline estimate (healed Diosi, pure states): {BYTES_PER_STEP} bytes per trajectory-step "
        f"(state {STATE_BYTES} B read + written, increment {NOISE_BYTES} B written + read) at "
        f"{args.hbm / 1e12:.2f} TB/s = {sci(roofline)} traj-steps/s\n",
        flush=True,
    )

    table = Table(args.budget)
    rng = {}
    for noise in NOISES:
        r = table.case(
            "RNG alone (runner's draws)",
            noise,
            f"{rng_n} keys",
            lambda noise=noise: rng_rate(noise, rng_n, steps, 10, 3),
        )
        if r is not None:
            rng[noise] = r["rate"]

    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1.0, 1.0]) / 2**0.5)
    best_diosi = {}
    for n in sizes:
        for noise in NOISES:

            def notes(rate, noise=noise):
                out = f"{rate / roofline:.1%} of HBM roofline"
                if noise in rng:
                    out += f", {rate / rng[noise]:.1%} of the RNG rate"
                return out

            kw = dict(
                t1=steps * 1e-3,
                dt=1e-3,
                n_saves=10,
                trajectories=n,
                observables=("q", "p", "sz"),
                precision="float32",
                noise=noise,
            )
            r = table.case(
                "healed Diosi", noise, short(n), lambda kw=kw, notes=notes: ensemble(model, init, kw, repeats, notes)
            )
            if r is not None:
                best_diosi[n, noise] = r["rate"]

    table.case(
        "seed000 mixed (seed000_unsaturated.toml)",
        "gaussian",
        short(others),
        lambda: from_config("seed000_unsaturated.toml", others, other_steps, repeats, ('run.state="mixed"',)),
    )
    table.case(
        "jump_qubit (jump_qubit.toml)",
        "gaussian",
        short(others),
        lambda: from_config("jump_qubit.toml", others, other_steps, repeats),
    )
    table.case(
        "GHZ n = 5 (ghz_fig4.toml)",
        "gaussian",
        short(others),
        lambda: from_config("ghz_fig4.toml", others, other_steps, repeats),
    )
    for cells, t1 in grids:
        table.case("master equation, healed Diosi", "-", f"{cells}^2", lambda cells=cells, t1=t1: master(cells, t1))
    table.row(
        "HBM roofline estimate (Diosi)",
        "-",
        "-",
        rate=roofline,
        unit="traj-steps",
        notes=f"{BYTES_PER_STEP} B per traj-step at {args.hbm / 1e12:.2f} TB/s",
    )

    for failure in table.failures:
        print(f"\nFAILED {failure}", end="")
    if best_diosi:
        (n, noise), rate = max(best_diosi.items(), key=lambda kv: kv[1])
        print(
            f"\nfastest healed Diosi: {sci(rate)} traj-steps/s ({noise}, {short(n)} trajectories) = "
            f"{rate / roofline:.1%} of the HBM roofline"
            + (f", {rate / rng[noise]:.1%} of its RNG rate" if noise in rng else "")
            + f"; wall {time.perf_counter() - table.t0:.0f} s"
        )


if __name__ == "__main__":
    main()
