"""Command line: ``cqjax run CONFIG``, ``cqjax plot RESULTS``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cqjax", description="Classical-quantum hybrid dynamics in JAX.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a trajectory ensemble from a TOML config")
    r.add_argument("config", help="TOML configuration file")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config key (VALUE in TOML syntax); repeatable")
    r.add_argument("--out", default="results.npz", help="results file (default: results.npz)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    pl = sub.add_parser("plot", help="PNG figures from a results file")
    pl.add_argument("results", help="results .npz written by 'cqjax run'")
    pl.add_argument("--out", default=None, help="output folder (default: <results>_plots)")
    return p


def _summary(result, cfg, meta) -> str:
    lines = [
        f"cqjax run: model {cfg.resolved['model']}, {cfg.unravelling.name} / {cfg.solver.name}, "
        f"{result.trajectories} trajectories x {result.steps} steps, {cfg.precision}, "
        f"{meta['environment']['device']['platform']}",
        f"{'observable':<16} {'mean at t=' + format(result.t[-1], '.4g'):>16}   {'std. error':>12}",
    ]
    for name in result.mean:
        lines.append(f"{name:<16} {result.mean[name][-1]:>16.6g} +- {result.sem[name][-1]:>12.3g}")
    lines.append(
        f"wall {meta['wall_seconds']:.2f} s (compile {result.compile_seconds:.2f} s, "
        f"run {result.run_seconds:.2f} s), {result.trajectory_steps_per_second:.3g} trajectory-steps/s"
    )
    return "\n".join(lines)


def _warnings(result) -> list[str]:
    out = []
    bad = result.nonfinite
    if bad.max() > 0:
        first = int((bad > 0).argmax())
        out.append(f"warning: {int(bad.max())} trajectories hit NaN/inf (first at t = {result.t[first]:.4g}); "
                   "their statistics are NaN")
    if result.histogram is not None and result.histogram["outside"].max() > 0:
        out.append(f"note: histogram: up to {result.histogram['outside'].max():.3g} of the probability lies "
                   "outside the grid (histogram.outside in the results)")
    return out


def _run(args) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # every array gets an explicit dtype; float64 on request
    from ._config import load_config
    from ._ensemble import run_ensemble
    from ._results import environment, save_results

    cfg = load_config(args.config, args.overrides)
    out = Path(args.out)
    if out.is_dir() or not out.resolve().parent.exists() and not _can_create(out.resolve().parent):
        raise ValueError(f"--out: cannot write results to {args.out!r}")
    t0 = time.perf_counter()
    result = run_ensemble(cfg.model, cfg.initial, progress=not args.no_progress, **cfg.run_kwargs())
    wall = time.perf_counter() - t0
    meta = {
        "config": cfg.resolved,
        "model": cfg.resolved["model"],
        "environment": environment(),
        "compile_seconds": result.compile_seconds,
        "run_seconds": result.run_seconds,
        "wall_seconds": wall,
        "trajectory_steps_per_second": result.trajectory_steps_per_second,
        "trajectories": result.trajectories,
        "steps": result.steps,
        "nonfinite_trajectories": int(result.nonfinite.max()),
        **result.info,
    }
    path = save_results(result, args.out, meta)
    print(_summary(result, cfg, meta))
    for line in _warnings(result):
        print(line, file=sys.stderr)
    print(f"results: {path}")
    return 0


def _can_create(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return True
    except OSError:
        return False


def _plot(args) -> int:
    from ._plot import plot_results

    if not Path(args.results).exists():
        raise ValueError(f"results: no such file {args.results!r}")
    out = args.out or str(Path(args.results).with_suffix("")) + "_plots"
    try:
        paths = plot_results(args.results, out)
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"results: {args.results!r}: {err}") from None
    for path in paths:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"run": _run, "plot": _plot}[args.command](args)
    except ValueError as err:  # ConfigError and the engine's input checks
        print(f"cqjax: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cqjax: interrupted", file=sys.stderr)
        return 130
