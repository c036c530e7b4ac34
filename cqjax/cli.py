"""Command line: ``cqjax run|master|compare CONFIG``, ``cqjax compare RUN.npz MASTER.npz``,
``cqjax plot RESULTS``, ``cqjax models``, ``cqjax init MODEL``, ``cqjax --version``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from .errors import Interrupted, SimulationError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cqjax", description="Classical-quantum hybrid dynamics in JAX.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a trajectory ensemble from a TOML config")
    r.add_argument("config", help="TOML configuration file")
    _job_arguments(r, "results.npz", "results file (default: results.npz)")
    _run_arguments(r)
    ms = sub.add_parser("master", help="integrate the CQ master equation on a phase-space grid")
    ms.add_argument("config", help="TOML configuration file (the same as for 'run'; optional [master] section)")
    _job_arguments(ms, "master.npz", "results file (default: master.npz)")
    cp = sub.add_parser(
        "compare",
        help="ensemble against master equation: z-scores and a figure",
        description="cqjax compare CONFIG runs both and compares; cqjax compare RUN.npz "
        "MASTER.npz compares two results files. Exit status 0 when they agree, 1 when "
        "the worst z-score exceeds the Bonferroni threshold or something could not be "
        "compared (a NaN, nothing in common, master mass lost off the grid, excluded "
        "trajectories).",
    )
    cp.add_argument("inputs", nargs="+", metavar="CONFIG | RUN.npz MASTER.npz")
    _job_arguments(cp, "compare", "folder for run.npz, master.npz and compare.png (default: compare)")
    cp.add_argument("--alpha", type=float, default=0.01, help="family-wise false-alarm rate (default 0.01)")
    cp.add_argument(
        "--max-lost",
        type=float,
        default=1e-3,
        help="largest master mass lost off the grid that still allows a verdict, in (0, 1] (default 1e-3)",
    )
    pl = sub.add_parser("plot", help="PNG figures from a results file")
    pl.add_argument("results", help="results .npz written by 'cqjax run'")
    pl.add_argument("--out", default=None, help="output folder (default: <results>_plots)")
    _fit_parser(sub)
    _catalogue_parsers(p, sub)
    return p


def _catalogue_parsers(p: argparse.ArgumentParser, sub) -> None:
    """``--version``, ``cqjax models`` and ``cqjax init MODEL``."""
    from . import __version__

    p.add_argument("--version", action="version", version=f"cqjax {__version__}")
    sub.add_parser("models", help="list the registered models: coordinates, operators, parameters")
    ini = sub.add_parser("init", help="print a commented config template for a registered model")
    ini.add_argument("model", help="a registered model name (see 'cqjax models')")


def _models(args) -> int:
    from .io.catalogue import catalogue

    print(catalogue())
    return 0


def _init(args) -> int:
    from .io.catalogue import template
    from .io.config import parse_config

    text = template(args.model)
    parse_config(tomllib.loads(text))  # a template that does not validate is a bug, not output
    print(text, end="")
    return 0


def _job_arguments(parser: argparse.ArgumentParser, out: str, out_help: str) -> None:
    """What every job from a config takes: --set, --out, --no-progress."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config key (VALUE in TOML syntax); repeatable",
    )
    parser.add_argument("--out", default=out, help=out_help)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_arguments(r: argparse.ArgumentParser) -> None:
    """``cqjax run``'s checkpoint and many-process options."""
    r.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save the merged statistics here after completed chunks "
        "(atomically; one file per process); SIGINT/SIGTERM stop after the chunk in flight and save it",
    )
    r.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="at most one checkpoint every S seconds (default 60)",
    )
    r.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint")
    d = r.add_argument_group("many processes (jax.distributed)")
    d.add_argument(
        "--distributed",
        action="store_true",
        help="call jax.distributed.initialize() (detects SLURM, "
        "Open MPI and the other cluster environments JAX knows); process 0 writes --out",
    )
    d.add_argument("--coordinator", metavar="HOST:PORT", help="coordinator address (implies --distributed)")
    d.add_argument("--num-processes", type=int, metavar="N", help="number of processes (implies --distributed)")
    d.add_argument("--process-id", type=int, metavar="I", help="this process's id (implies --distributed)")


def _summary(result, cfg, meta) -> str:
    lines = [
        f"cqjax run: model {cfg.resolved['model']}, {meta.get('unravelling', cfg.unravelling.name)} "
        f"({meta.get('state', 'pure')} states) / {cfg.solver.name}, "
        f"{result.trajectories} trajectories x {result.steps} steps, {cfg.precision}, "
        f"{meta['environment']['device']['platform']}",
        f"{'observable':<16} {'mean at t=' + format(result.t[-1], '.4g'):>16}   {'std. error':>12}",
    ]
    for name in result.mean:
        lines.append(f"{name:<16} {result.mean[name][-1]:>16.6g} +- {result.sem[name][-1]:>12.3g}")
    if result.ess is not None:
        lines.append(
            f"weighted means (linear unravelling): effective sample size {result.ess[-1]:.4g} of "
            f"{int(result.counted[-1])} at t={result.t[-1]:.4g} ('ess' in the results)"
        )
    if result.paths is not None:
        n, p = result.paths["z"].shape[:2]
        lines.append(f"paths: {n} x {p} times (dt {result.paths['t'][1]:.4g}) in paths.* of the results")
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
        out.append(
            f"warning: {int(bad.max())} of {result.trajectories} trajectories became NaN/inf (first by t = "
            f'{result.t[first]:.4g}) and are excluded (run.nonfinite = "exclude"): the statistics are over '
            "the finite trajectories only"
        )
    if result.stopped is not None and result.stopped[-1] > 0:
        first = int((result.stopped > 0).argmax())
        out.append(
            f"note: {100 * result.stopped[-1]:.3g}% of the trajectories were stopped by the model's "
            f"absorbing rule by t = {result.t[-1]:.4g} (first at t = {result.t[first]:.4g}); their "
            "state stays frozen there ('stopped' in the results)"
        )
    if result.histogram is not None and result.histogram["outside"].max() > 0:
        out.append(
            f"note: histogram: up to {result.histogram['outside'].max():.3g} of the probability lies "
            "outside the grid (histogram.outside in the results)"
        )
    return out


def _check_out(path: str) -> None:
    """Refuse, before any computation, an --out that cannot be written: a folder, or a file whose
    folder cannot be created or written to (probed with a temporary file there)."""
    out = Path(path)
    folder = out.resolve().parent
    if out.is_dir() or not _can_create(folder) or not _writable(folder):
        raise ValueError(f"--out: cannot write results to {path!r}")


def _writable(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cqjax-probe-"):
            return True
    except OSError:
        return False


def _x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # every array gets an explicit dtype; float64 on request


def _config_job(args, job) -> int:
    """``cqjax run|master CONFIG``: load and validate the config, run ``job``, write --out."""
    _x64()
    from .io.config import load_config

    cfg = args.cfg = load_config(args.config, args.overrides)
    _check_out(args.out)
    extra = {}
    if getattr(args, "checkpoint", None):
        extra = dict(checkpoint=args.checkpoint, checkpoint_seconds=args.checkpoint_seconds, resume=args.resume)
    if job(cfg, args.out, progress=not args.no_progress, **extra):
        print(f"results: {args.out}")
    return 0


def _run(args) -> int:
    if args.checkpoint_seconds < 0:
        raise ValueError(f"--checkpoint-seconds: must be >= 0, got {args.checkpoint_seconds}")
    if args.resume and not args.checkpoint:
        raise ValueError("--resume: needs --checkpoint PATH")
    if args.num_processes is not None and args.num_processes < 1:
        raise ValueError(f"--num-processes: must be >= 1, got {args.num_processes}")
    if args.process_id is not None and not 0 <= args.process_id < (args.num_processes or args.process_id + 1):
        raise ValueError(f"--process-id: must be in 0..{(args.num_processes or 1) - 1}, got {args.process_id}")
    if args.distributed or args.coordinator or args.num_processes is not None or args.process_id is not None:
        from .ensemble import initialize_distributed

        initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    try:
        return _config_job(args, _ensemble_job)
    except Interrupted as stop:
        return _stopped(stop, args)


def _stopped(stop: Interrupted, args) -> int:
    """A run stopped by a signal: write the statistics of the finished trajectories to --out marked
    incomplete (process 0 of one), say what was kept and how to resume; exit 128 + signal."""
    print(f"cqjax: {stop}", file=sys.stderr)
    if stop.partial is not None:
        from .io.results import run_meta, save_results

        save_results(
            stop.partial, args.out, {**_meta("run", args.cfg, stop.partial, float("nan")), **run_meta(stop.partial)}
        )
        print(
            f"cqjax: partial results ({stop.done} of {stop.requested} trajectories, meta complete = false): {args.out}",
            file=sys.stderr,
        )
    return 128 + stop.signum


def _meta(kind: str, cfg, result, wall: float) -> dict:
    """What every results file records: the job, the resolved config, the environment, timings."""
    from .io.results import environment

    return {
        "kind": kind,
        "config": cfg.resolved,
        "model": cfg.resolved["model"],
        "environment": environment(),
        "compile_seconds": result.compile_seconds,
        "run_seconds": result.run_seconds,
        "wall_seconds": wall,
    }


_OPTIONS = {"checkpoint": "--checkpoint", "resume": "--resume"}  # run_ensemble's arguments the CLI's options set


def _ensemble_job(cfg, out: str, progress: bool, **checkpointing) -> bool:
    """Run the ensemble; process 0 writes ``out`` and prints the summary (returns whether it did)."""
    import jax

    from .ensemble.runner import run_ensemble
    from .io.config import config_errors
    from .io.results import run_meta, save_results

    if _finite(cfg, "run", out, checkpointing):
        return True
    t0 = time.perf_counter()
    with config_errors("run", _OPTIONS):
        result = run_ensemble(cfg.model, cfg.initial, progress=progress, **cfg.run_kwargs(), **checkpointing)
    wall = time.perf_counter() - t0
    if jax.process_index() != 0:
        return False
    meta = {**_meta("run", cfg, result, wall), **run_meta(result)}
    save_results(result, out, meta)
    print(_summary(result, cfg, meta))
    for line in _warnings(result):
        print(line, file=sys.stderr)
    return True


def _finite(cfg, kind: str, out: str, checkpointing: dict) -> bool:
    """A finite classical state space: the jump unravelling or the exact block ODE (False: not one)."""
    from .io.finite_config import FiniteConfig
    from .io.results import environment

    if not isinstance(cfg, FiniteConfig):
        return False
    if checkpointing:
        raise ValueError("--checkpoint: not available for finite-state models (their runs are short)")
    meta = {"kind": kind, "config": cfg.resolved, "model": cfg.resolved["model"], "environment": environment()}
    print(_finite_job(kind, cfg, out, meta))
    return True


def _finite_job(kind: str, cfg, out: str, meta: dict) -> str:
    """Run the jump unravelling (``kind`` "run") or the block ODE ("master") of a ``FiniteConfig``,
    write ``out`` in the results-file format ``cqjax compare`` reads; the summary lines."""
    import json

    from ._files import write_npz
    from .analysis.finite import finite_master_record, finite_run_record
    from .ensemble.finite import FiniteEnsembleResult, run_finite
    from .io.config import config_errors
    from .master.finite import FiniteMasterResult, solve_finite

    t0 = time.perf_counter()
    common = dict(t1=cfg.t1, n_saves=cfg.n_saves, observables=cfg.observables)
    with config_errors(kind):
        result: FiniteEnsembleResult | FiniteMasterResult
        if kind == "run":
            result = run_finite(
                cfg.model, cfg.z0, cfg.psi, dt=cfg.dt, trajectories=cfg.trajectories, seed=cfg.seed, **common
            )
            record = finite_run_record(result, meta)
        else:
            result = solve_finite(cfg.model, cfg.z0, cfg.psi, **common)
            record = finite_master_record(result, meta)
    record["meta"] = {**record["meta"], "wall_seconds": time.perf_counter() - t0}
    arrays = {k: np.asarray(v) for k, v in record.items() if k != "meta"}
    write_npz(out, {**arrays, "meta": np.array(json.dumps(record["meta"]))})
    lines = [
        f"cqjax {kind}: finite-state model {cfg.resolved['model']}, "
        + (
            f"{cfg.trajectories} trajectories x {round(cfg.t1 / cfg.dt)} steps (jump unravelling)"
            if kind == "run"
            else "exact block ODE"
        )
    ]
    for name in cfg.observables:
        err = f" +- {result.sem[name][-1]:.3g}" if isinstance(result, FiniteEnsembleResult) else ""
        lines.append(f"{name:<16} {result.mean[name][-1]:>14.6g}{err}")
    return "\n".join(lines)


def _master(args) -> int:
    return _config_job(args, _master_job)


def _master_job(cfg, out: str, progress: bool) -> bool:
    from .io.config import config_errors
    from .io.results import save_master
    from .master.solver import solve_master

    if _finite(cfg, "master", out, {}):
        return True
    t0 = time.perf_counter()
    with config_errors("master"):
        result = solve_master(cfg.model, cfg.initial, progress=progress, **cfg.master_kwargs())
    wall = time.perf_counter() - t0
    meta = {
        **_meta("master", cfg, result, wall),
        "steps": result.steps,
        "dt": result.dt,
        **result.info,
    }
    save_master(result, out, meta)
    print(_master_summary(result, cfg, meta))
    for line in _master_warnings(result):
        print(line, file=sys.stderr)
    return True


def _master_summary(result, cfg, meta) -> str:
    g = result.grid
    axes = ", ".join(f"{c} in [{g.lo[i]:.4g}, {g.hi[i]:.4g}] x {g.cells[i]}" for i, c in enumerate(result.coords))
    lines = [
        f"cqjax master: model {cfg.resolved['model']}, grid {axes}, {result.steps} steps of dt = {result.dt:.4g}"
        + ("" if result.completely_positive else " (generator not completely positive)"),
        f"{'observable':<16} {'value at t=' + format(result.t[-1], '.4g'):>16}   {'est. error':>12}",
    ]
    for name in result.mean:
        err = result.err.get(name)
        lines.append(
            f"{name:<16} {result.mean[name][-1]:>16.6g} +- "
            + (f"{err[-1]:>12.3g}" if err is not None else f"{'-':>12}")
        )
    not_linear = [name for name in cfg.observables if name not in result.mean]
    if not_linear:
        lines.append(f"not computed (trajectory statistics, not linear in varrho): {', '.join(not_linear)}")
    k = int(np.argmin(result.min_eig))
    lines.append(
        f"min_eig {result.min_eig[k]:.3g} (at t = {result.t[k]:.4g}); trace {result.trace[-1]:.12g}, "
        f"lost {result.lost[-1]:.3g}"
    )
    lines.append(
        f"wall {meta['wall_seconds']:.2f} s (compile {result.compile_seconds:.2f} s, run {result.run_seconds:.2f} s)"
    )
    return "\n".join(lines)


def _master_warnings(result) -> list[str]:
    out = []
    if not np.all(np.isfinite(result.masses)):
        out.append("warning: the master solution is not finite (NaN/inf)")
    if result.lost[-1] > 1e-6:
        sides = result.lost_sides[-1]
        i, j = np.unravel_index(int(np.argmax(sides)), sides.shape)
        out.append(
            f"warning: {result.lost[-1]:.3g} of the probability left the grid (most through the "
            f"{'low' if j == 0 else 'high'} side of {result.coords[i]!r}); widen master.{result.coords[i]}"
        )
    if result.min_eig.min() < -1e-9:
        k = int(np.argmax(result.min_eig < -1e-9))
        out.append(
            f"note: varrho is not positive semi-definite from t = {result.t[k]:.4g} "
            f"(min_eig down to {result.min_eig.min():.3g})"
        )
    return out


def _compare(args) -> int:
    from .analysis.compare import compare_results
    from .io.results import load_results
    from .plot.compare import plot_comparison

    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha: must be in (0, 1), got {args.alpha}")
    if not 0 < args.max_lost <= 1:
        raise ValueError(f"--max-lost: must be in (0, 1], got {args.max_lost}")
    out = Path(args.out)
    if len(args.inputs) == 1:
        _x64()
        from .io.config import load_config

        cfg = load_config(args.inputs[0], args.overrides)
        if not _can_create(out) or not out.is_dir():
            raise ValueError(f"--out: cannot create the folder {args.out!r}")
        run_path, master_path = out / "run.npz", out / "master.npz"
        _ensemble_job(cfg, str(run_path), progress=not args.no_progress)
        _master_job(cfg, str(master_path), progress=not args.no_progress)
    elif len(args.inputs) == 2:
        if args.overrides:
            raise ValueError("--set: only with a config (cqjax compare CONFIG)")
        run_path, master_path = (Path(p) for p in args.inputs)
        for p in (run_path, master_path):
            if not p.exists():
                raise ValueError(f"results: no such file {str(p)!r}")
        if not _can_create(out):
            raise ValueError(f"--out: cannot create the folder {args.out!r}")
    else:
        raise ValueError("compare: give CONFIG, or RUN.npz MASTER.npz")
    try:
        run, master = load_results(run_path), load_results(master_path)
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"results: {err}") from None
    comparison = compare_results(run, master, alpha=args.alpha, max_lost=args.max_lost)
    figure = plot_comparison(run, master, comparison, out / "compare.png")
    print(f"figure: {figure}")
    print(comparison.report())
    return 0 if comparison.agree else 1


def _can_create(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return True
    except OSError:
        return False


def _plot(args) -> int:
    from .plot.results import plot_results

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


def _fit_parser(sub) -> None:
    """``cqjax fit CONFIG --data FILE --free lam,sigma``: maximum likelihood from classical records."""
    f = sub.add_parser(
        "fit",
        help="maximum-likelihood fit of model parameters to classical records",
        description="Fit the --free parameters of the config's model (its [params] are the starting values, "
        "its [initial] state the quantum state at the first time) to the paths in --data (npz with paths.t, "
        "paths.z, or CSV with a column t and one per coordinate). Exit 0 when the fit converged, 1 when not "
        "(the JSON is written with converged = false), 2 for bad input.",
    )
    f.add_argument("config", help="TOML configuration file (model, params, initial)")
    f.add_argument("--data", required=True, help="record: .npz (paths.t, paths.z) or .csv (t and coordinate columns)")
    f.add_argument("--free", required=True, help="comma-separated parameters to fit, e.g. lam,sigma")
    f.add_argument("--dt", type=float, default=None, help="require every time step of the data to equal DT")
    f.add_argument("--out", default="fit.json", help="JSON with the estimates (default: fit.json)")
    f.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config key",
    )


def _fit(args) -> int:
    """Validate config, free parameters, data and --out (exit 2 on any problem), then fit."""
    import json

    _x64()
    from ._files import write_atomic
    from .inference import fit, load_paths
    from .inference.parameters import check_free
    from .io.config import ConfigError, RunConfig, load_config
    from .spec.initial import MixtureState

    cfg = load_config(args.config, args.overrides)
    if not isinstance(cfg, RunConfig):
        raise ConfigError("model: cqjax fit takes a model with a continuous phase space, not a finite-state model")
    if isinstance(cfg.initial, MixtureState):
        raise ConfigError("initial.components: cqjax fit takes one initial quantum state, not a mixture")
    free = tuple(n.strip() for n in args.free.split(",") if n.strip())
    check_free(cfg.model, free)
    if args.dt is not None and not args.dt > 0:
        raise ValueError(f"--dt: must be > 0, got {args.dt}")
    data = load_paths(args.data, cfg.model, dt=args.dt)
    _check_out(args.out)
    state0 = cfg.initial.rho if cfg.initial.rho is not None else cfg.initial.psi
    t0 = time.perf_counter()
    result = fit(cfg.model, data, free, state0=state0)
    record = {**result.to_json(), "model": cfg.resolved["model"], "data": str(args.data)}
    record["wall_seconds"] = time.perf_counter() - t0
    write_atomic(args.out, lambda fh: fh.write(json.dumps(record, indent=2).encode()))
    print(f"cqjax fit: model {cfg.resolved['model']}, {data.n_paths} paths x {data.t.shape[0]} times")
    print(result.report())
    print(f"results: {args.out}")
    if not result.converged:
        print("cqjax: the fit did not converge (see converged/iterations in the JSON)", file=sys.stderr)
        return 1
    return 0


_COMMANDS = {
    "run": _run,
    "master": _master,
    "compare": _compare,
    "plot": _plot,
    "fit": _fit,
    "models": _models,
    "init": _init,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ValueError as err:  # ConfigError and the engine's input checks
        print(f"cqjax: error: {err}", file=sys.stderr)
        return 2
    except SimulationError as err:  # the run itself went wrong: NaN, overflow, a non-CP point
        print(f"cqjax: run failed: {err}", file=sys.stderr)
        return 1
    except Interrupted as stop:  # from 'compare' (a 'run' writes its partial results first)
        print(f"cqjax: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("cqjax: interrupted (nothing kept)", file=sys.stderr)
        return 130
