"""Compile time of the chunk kernels, and the run time of the compiled code, in one process.

The test suite is bound by XLA compilation (BENCHMARKS.md, "Test suite wall time, seventh session"),
and so is every short run. For each config: the CPU seconds XLA's backend spends compiling the
programs of a tiny run (4 steps x 3 trajectories, float64, healed; the sum, and the largest: the
chunk kernel), and, unless ``--no-exec``, the wall time of a longer run with its kernel already
compiled (best of ``--repeats``). Compare XLA flags by running the script under each
``XLA_FLAGS`` (each line printed names the flags it ran under), or two checkouts back to back.

    python scripts/bench_compile.py
    XLA_FLAGS=--xla_cpu_use_fusion_emitters=false python scripts/bench_compile.py --no-exec
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from jax._src import compiler  # noqa: E402

import cqjax  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# (config, overrides, trajectories and steps of the timed run)
CASES = (
    ("diosi_fig2", [], 50_000, 2000),
    ("seed000", ["run.state='mixed'"], 20_000, 1000),
    ("ghz_fig4", [], 5_000, 500),
)
_COMPILES: list[float] = []


def _timed_compile(original):
    def compile_and_load(*args, **kwargs):
        t = time.process_time()
        out = original(*args, **kwargs)
        _COMPILES.append(time.process_time() - t)
        return out

    return compile_and_load


def run(name: str, overrides: list[str], trajectories: int, steps: int, dt: float = 1e-3, n_saves: int = 4):
    """(compile CPU s in total, the largest compile, wall s) of one run of the config."""
    base = [
        f"run.t1={steps * dt}",
        f"run.dt={dt}",
        f"run.n_saves={n_saves}",
        f"run.trajectories={trajectories}",
        "run.precision='float64'",
        "run.samples=1",
    ]
    cfg = cqjax.load_config(CONFIGS / f"{name}.toml", base + overrides)
    kwargs = cfg.run_kwargs()
    kwargs["histogram"] = None
    _COMPILES.clear()
    t = time.perf_counter()
    cqjax.run_ensemble(cfg.model, cfg.initial, **kwargs)
    return sum(_COMPILES), max(_COMPILES, default=0.0), time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-exec", action="store_true", help="compile times only")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    compiler.backend_compile_and_load = _timed_compile(compiler.backend_compile_and_load)
    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, jax {jax.__version__}")
    for name, overrides, trajectories, steps in CASES:
        total, largest, _ = run(name, overrides, 3, 4)
        line = f"{name:12s} compile {total:6.2f} s CPU (largest {largest:5.2f})"
        if not args.no_exec:
            exec_steps = 10 * (steps // 10)
            run(name, overrides, trajectories, exec_steps, n_saves=10)  # compiles the long run's kernel
            best = min(run(name, overrides, trajectories, exec_steps, n_saves=10)[2] for _ in range(args.repeats))
            line += f"   run {trajectories} x {exec_steps} steps: {best:6.2f} s wall"
        print(line, flush=True)


if __name__ == "__main__":
    main()
