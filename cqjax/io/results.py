"""Results files (.npz): what ``cqjax run`` and ``cqjax master`` write and ``plot``/``compare`` read.

Keys: ``t``; ``<name>.mean`` and ``<name>.sem`` per observable; ``coords``; ``counted`` (T,), the
trajectories in the statistics at each saved time; ``samples.z``
(k, T, n) and ``samples.psi`` (k, T, d) (``samples.rho`` (k, T, d, d) for mixed states);
``nonfinite`` (T,); ``stopped`` (T,), the fraction stopped by an absorbing rule; with a histogram,
``histogram.density`` (T, bins..., d, d), ``histogram.sem`` (complex: SE of real and imaginary
parts), ``histogram.coords``, ``histogram.edges.<coord>``, ``histogram.outside`` (T,); with the
linear unravelling, ``ess`` (T,), the effective sample size; with ``run.paths``, the record format
of ``cqjax.inference.data``: ``paths.t`` (P,), ``paths.z`` (N, P, n), ``paths.coords``,
``paths.<observable>`` (N, P) (observables that are not bare coordinates) and, for the linear
unravelling, ``paths.weight`` (N, P); and ``meta``, a JSON string.

Master files (``cqjax master``) share ``t``, ``<name>.mean``, ``coords``, ``histogram.*`` and
``meta``, and add ``<name>.err`` and ``histogram.err`` (estimated discretisation error),
``density`` (S, *cells, d, d) complex64 at the times ``density.t`` (S,) (``master.save_density``),
``grid.coords``, ``grid.<coord>`` (cell centres), ``grid.edges.<coord>``, and the diagnostics
``min_eig``, ``trace``, ``lost`` (T,) and ``lost.sides`` (T, n, 2): mass lost per coordinate
through its low and high side.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import jax
import numpy as np

from .._files import write_npz
from ..ensemble.runner import EnsembleResult


def environment() -> dict:
    """Package versions and the device the run used."""
    versions: dict[str, str | None] = {}
    for pkg in ("cqjax", "jax", "jaxlib", "equinox", "optax", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    dev = jax.devices()[0]
    return {
        "versions": versions,
        "python": platform.python_version(),
        "device": {
            "platform": dev.platform,
            "kind": getattr(dev, "device_kind", str(dev)),
            "count": jax.device_count(),
        },
    }


def save_results(result: EnsembleResult, path: str | Path, meta: dict) -> Path:
    """Write ``result`` and ``meta`` (JSON-serialisable) to an .npz file."""
    return write_npz(path, ensemble_record(result, meta))


def ensemble_record(result: EnsembleResult, meta: dict) -> dict[str, np.ndarray]:
    """An ensemble result as the arrays of its results file (keys in the module docstring)."""
    arrays: dict[str, np.ndarray] = {
        "t": result.t,
        "coords": np.array(result.coords),
        "nonfinite": result.nonfinite,
        "counted": result.counted,
    }
    for name in result.mean:
        arrays[f"{name}.mean"] = result.mean[name]
        arrays[f"{name}.sem"] = result.sem[name]
    if result.samples_z.shape[0]:
        arrays["samples.z"] = result.samples_z
        arrays["samples.rho" if result.samples_psi.ndim == 4 else "samples.psi"] = result.samples_psi
    if result.stopped is not None:
        arrays["stopped"] = result.stopped
    if result.ess is not None:
        arrays["ess"] = result.ess
    if result.paths is not None:
        arrays.update({f"paths.{k}": v for k, v in result.paths.items()})
        arrays["paths.coords"] = np.array(result.coords)
    if result.histogram is not None:
        for k, v in result.histogram.items():
            arrays[f"histogram.{k}"] = np.asarray(v)
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def run_meta(result: EnsembleResult) -> dict:
    """What a run's results file records of the result itself: counts, throughput, timings and the
    run's choices (``info``: chunk, devices, processes, unravelling, state, whether it is complete)."""
    return {
        "trajectory_steps_per_second": result.trajectory_steps_per_second,
        "trajectories": result.trajectories,
        "steps": result.steps,
        "compile_seconds": result.compile_seconds,
        "run_seconds": result.run_seconds,
        **result.info,
    }


def save_master(result, path: str | Path, meta: dict) -> Path:
    """Write a ``MasterResult`` and ``meta`` to an .npz file (keys in the module docstring)."""
    return write_npz(path, master_record(result, meta))


def master_record(result, meta: dict) -> dict[str, np.ndarray]:
    """A ``MasterResult`` as the arrays of its results file (keys in the module docstring)."""
    arrays: dict[str, np.ndarray] = {
        "t": result.t,
        "coords": np.array(result.coords),
        "grid.coords": np.array(result.coords),
        "density": result.density.astype(np.complex64),
        "density.t": result.density_t,
        "min_eig": result.min_eig,
        "trace": result.trace,
        "lost": result.lost,
        "lost.sides": result.lost_sides,
    }
    for i, c in enumerate(result.coords):
        arrays[f"grid.{c}"] = result.grid.centres(i)
        arrays[f"grid.edges.{c}"] = result.grid.edges(i)
    for name in result.mean:
        arrays[f"{name}.mean"] = result.mean[name]
        if name in result.err:
            arrays[f"{name}.err"] = result.err[name]
    if result.histogram is not None:
        for k, v in result.histogram.items():
            arrays[f"histogram.{k}"] = np.asarray(v)
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def decoded(arrays: dict) -> dict:
    """A record as ``load_results`` returns it: ``meta`` decoded from JSON."""
    out = dict(arrays)
    out["meta"] = json.loads(str(out["meta"])) if "meta" in out else {}
    return out


def load_results(path: str | Path) -> dict:
    """Read a results file into a dict of arrays, with ``meta`` decoded."""
    with np.load(path, allow_pickle=False) as data:
        return decoded({k: data[k] for k in data.files})
