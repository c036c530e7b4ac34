"""One call from a model and an initial state to results, with the habits of dynamiqs and QuTiP:
``run`` (a trajectory ensemble), ``master`` (the CQ master equation), ``compare`` (one against
the other, in memory). Thin layers over ``run_ensemble``, ``solve_master`` and ``compare_results``:
the same seed gives the same numbers as ``cqjax run CONFIG``.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping

import jax
import numpy as np

from ..analysis.compare import Comparison, compare_results
from ..ensemble.runner import run_ensemble
from ..ensemble.sweep import run_sweep, swept_models
from ..io.results import environment
from ..master._traced import concrete
from ..master.grid import DEFAULT_CELLS
from ..master.solver import solve_master
from ..models._base import AbstractModel
from ..spec.observables import Observable
from . import _inputs
from .results import Ensemble, Master, as_ensemble, as_master, record_of


def run(
    model: AbstractModel,
    state0,
    z0,
    *,
    dt: float,
    trajectories: int,
    observables,
    t1: float | None = None,
    tsave=None,
    n_saves: int | None = None,
    seed: int = 0,
    unravelling="healed",
    method="kraus",
    histogram=None,
    samples: int | None = None,
    precision: str = "float32",
    state: str = "auto",
    nonfinite: str = "fail",
    noise: str = "gaussian",
    prng: str = "threefry",
    chunk_size: int | None = None,
    devices: int | None = None,
    params: Mapping[str, object] | None = None,
    progress: bool | None = None,
    paths: int = 0,
    path_stride: int = 1,
) -> Ensemble | list[Ensemble]:
    """Run ``trajectories`` trajectories of ``model`` from ``state0`` and ``z0``; the statistics.

    ``state0``: a state vector (d,), a ket (d, 1), a density matrix (d, d), a QuTiP ``Qobj`` or
    anything with ``__array__``; ``z0``: a point (n,) or a Gaussian ``(mean, cov)``. Saved times:
    ``t1`` (with ``n_saves``, default the largest divisor of t1/dt up to 100) or ``tsave``, evenly
    spaced from 0. ``observables``: names (``"p"``, ``"p*sz"``, ``"purity"``), operators (arrays,
    ``Qobj``, ``cqjax.operators.pauli_string``), functions f(z, rho) -> scalar, or a mapping
    {name: any of these}. ``histogram``: {coordinate: (lo, hi, bins)} for one or two coordinates.
    ``unravelling`` (``"healed"``, ``"mean-field"``, ``"linear"``: weighted means and ``.ess``) and
    ``method`` (``"kraus"``, ``"euler-maruyama"``, ``"milstein"``) by name or as objects; the other options are those of
    ``run_ensemble`` (the healed equations of seed 004 eqs. 11-12, Layton, Oppenheim and
    Weller-Davies, "A healthier semi-classical dynamics"). ``progress``: a bar (default: when
    stderr is a terminal). ``paths``: keep the first ``paths`` trajectories every ``path_stride``
    steps (``Ensemble.paths``: ``t``, ``z``, the observables along them; the record format of
    ``cqjax.fit``'s data).

    ``params`` {name: values (B,)}: a sweep: the model with those float parameters replaced by
    each of their B values, run as one vmapped job compiled once (every chunk of every point in
    one device call; the same trajectory keys at every point); returns a list of B results, each
    equal to the single run of its point to rounding.
    """
    initial = _inputs.initial_state(model, state0, z0)
    t1, n_saves = _inputs.times(t1, tsave, n_saves)
    if n_saves is None:
        n_saves = _inputs.default_saves(t1, dt)
    kwargs = dict(
        t1=t1,
        dt=dt,
        n_saves=n_saves,
        trajectories=trajectories,
        seed=seed,
        unravelling=_inputs.unravelling(unravelling),
        solver=_inputs.solver(method),
        observables=_inputs.observables(observables, trajectories=True),
        histogram=_inputs.histogram(histogram),
        n_samples=samples,
        chunk_size=chunk_size,
        precision=precision,
        state=state,
        nonfinite=nonfinite,
        devices=devices,
        noise=noise,
        prng=prng,
        progress=sys.stderr.isatty() if progress is None else progress,
        paths=paths,
        path_stride=path_stride,
    )
    if params is not None:
        return _sweep(model, initial, params, kwargs)
    return _run_one(model, initial, kwargs)


def _run_one(model, initial, kwargs) -> Ensemble:
    t0 = time.perf_counter()
    result = run_ensemble(model, initial, **kwargs)
    return _as_ensemble(model, result, kwargs, time.perf_counter() - t0)


def _sweep(model, initial, params, kwargs) -> list[Ensemble]:
    """The points of a sweep, one vmapped job (``run_sweep``); each result records its model."""
    t0 = time.perf_counter()
    results = run_sweep(model, initial, params, **kwargs)
    wall = (time.perf_counter() - t0) / len(results)
    _, models = swept_models(model, params)
    return [_as_ensemble(m, r, kwargs, wall) for m, r in zip(models, results)]


def _as_ensemble(model, result, kwargs, wall: float) -> Ensemble:
    choices = {k: kwargs[k] for k in ("t1", "dt", "n_saves", "trajectories", "seed", "precision", "noise", "prng")}
    choices.update(method=kwargs["solver"].name, samples=result.samples_z.shape[0])
    choices.update(unravelling=result.info["unravelling"], paths=kwargs["paths"], path_stride=kwargs["path_stride"])
    meta = _meta("run", model, {"run": choices}, wall)
    return as_ensemble(result, meta)


def master(
    model: AbstractModel,
    state0,
    z0,
    *,
    observables,
    t1: float | None = None,
    tsave=None,
    n_saves: int | None = None,
    histogram=None,
    cells: tuple[int, int] = DEFAULT_CELLS,
    extent: Mapping[str, tuple[float, float]] | None = None,
    dt: float | None = None,
    error_estimate: bool = True,
    allow_non_cp: bool = False,
    progress: bool | None = None,
) -> Master:
    """Integrate the CQ master equation (seed 004 eq. 5, Layton, Oppenheim and Weller-Davies, with
    the sign of its back-reaction term corrected; see ``solve_master``) for the same arguments as
    ``run``: ``state0``, ``z0``, ``t1`` or ``tsave`` (``n_saves`` default 100), ``observables``
    (names and operators; functions f(z, rho) are for trajectories only) and ``histogram``; grid
    ``cells``, ``extent`` and ``dt`` automatic unless given. Precision: float64 with
    ``jax_enable_x64``, else float32."""
    initial = _inputs.initial_state(model, state0, z0)
    t1, n_saves = _inputs.times(t1, tsave, n_saves)
    obs = _inputs.observables(observables, trajectories=False)
    t0 = time.perf_counter()
    result = solve_master(
        model,
        initial,
        t1=t1,
        n_saves=100 if n_saves is None else n_saves,
        cells=cells,
        extent=None if extent is None else dict(extent),
        dt=dt,
        observables=obs,
        histogram=_inputs.histogram(histogram),
        error_estimate=error_estimate,
        allow_non_cp=allow_non_cp,
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    named = lambda d: {(k.name if isinstance(k, Observable) else k): v for k, v in d.items()}  # noqa: E731
    result = dataclasses.replace(result, mean=named(result.mean), err=named(result.err))
    precision = "float64" if jax.config.read("jax_enable_x64") else "float32"
    meta = _meta("master", model, {"run": {"t1": t1, "n_saves": len(result.t) - 1, "precision": precision}}, 0.0)
    meta["wall_seconds"] = time.perf_counter() - t0
    return as_master(result, meta)


def compare(ensemble, master, *, alpha: float = 0.01, max_lost: float = 1e-3, figure=None) -> Comparison:
    """The ensemble against the master equation (``compare_results``): z-scores per observable,
    saved time and histogram element, and the Bonferroni verdict ``.agree`` (``.report()``
    prints it). Takes the results in memory (``run``, ``master``, ``load``); ``figure``: a path
    for the comparison figure."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must be in (0, 1), got {alpha}")
    run_record, master_record = record_of(ensemble), record_of(master)
    comparison = compare_results(run_record, master_record, alpha=alpha, max_lost=max_lost)
    if figure is not None:
        from ..plot.compare import plot_comparison

        plot_comparison(run_record, master_record, comparison, figure)
    return comparison


def _meta(kind: str, model: AbstractModel, config: dict, wall: float) -> dict:
    """What a results file records for a run from Python: the model, its scalar parameters, the
    choices, the environment."""
    params = {}
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if np.ndim(value) == 0 and isinstance(value, (int, float, np.generic, jax.Array)):
            params[f.name] = float(concrete(value))  # its value also when jax.grad traces it
    return {
        "kind": kind,
        "model": type(model).__name__,
        "config": {"model": type(model).__name__, "params": params, **config},
        "environment": environment(),
        "wall_seconds": wall,
    }
