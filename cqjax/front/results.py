"""Results as objects: an ensemble (``Ensemble``) or a master-equation solution (``Master``) with
``save``, ``to_xarray`` and ``plot``; ``load`` reads either back as the same type.

Both are the engine's result dataclasses (``EnsembleResult``, ``MasterResult``: ``t``, ``mean``,
``sem`` or ``err``, ``histogram``, ...) with ``meta``: what the results file records (the run's
choices, the environment, timings). A file is the one ``cqjax run`` / ``cqjax master`` writes.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import write_npz
from ..ensemble.runner import EnsembleResult
from ..io.results import decoded, ensemble_record, load_results, master_record, run_meta
from ..master.grid import PhaseSpaceGrid
from ..master.solver import MasterResult

# what a results file's meta holds besides a result's ``info``
_META = ("kind", "config", "model", "environment", "wall_seconds")
_RUN_META = ("trajectory_steps_per_second", "trajectories", "steps", "compile_seconds", "run_seconds")
_MASTER_META = ("steps", "dt", "compile_seconds", "run_seconds")


@dataclass
class Ensemble(EnsembleResult):
    """An ensemble's statistics: ``t`` (T,), ``mean[name]`` and ``sem[name]`` (T,), ``histogram``
    (``density`` (T, bins..., d, d), ``sem``, ``edges``, ``outside``), ``samples_z``,
    ``samples_psi`` (the trajectories kept whole), ``nonfinite``, ``counted``, ``stopped``; ``ess``
    (T,) for the linear unravelling; ``paths`` (``t`` (P,), ``z`` (N, P, n), ``<observable>``
    (N, P), ``weight``) with ``paths=N``."""

    meta: dict = field(default_factory=dict)

    def record(self) -> dict[str, np.ndarray]:
        """The arrays of its results file (``meta`` as JSON)."""
        return ensemble_record(self, self.record_meta())

    def save(self, path: str | Path) -> Path:
        """Write the results file (.npz, atomically); ``cqjax.load`` reads it back."""
        return write_npz(path, self.record())

    def to_xarray(self):
        """An ``xarray.Dataset``: ``mean``, ``sem`` (observable, t); ``nonfinite``, ``counted`` (t);
        ``stopped`` (t) with an absorbing rule; ``samples_z`` (sample, t, coord); with a histogram,
        ``density`` and ``density_sem`` (t, <coordinate>..., row, col) over the bin centres."""
        xr = _xarray()
        names = list(self.mean)
        data = {
            "mean": (("observable", "t"), np.stack([self.mean[k] for k in names])),
            "sem": (("observable", "t"), np.stack([self.sem[k] for k in names])),
            "nonfinite": ("t", self.nonfinite),
            "counted": ("t", self.counted),
            "samples_z": (("sample", "t", "coord"), self.samples_z),
        }
        if self.stopped is not None:
            data["stopped"] = ("t", self.stopped)
        if self.ess is not None:
            data["ess"] = ("t", self.ess)
        coords = {"t": self.t, "observable": names, "coord": list(self.coords)}
        if self.paths is not None:
            coords["path_t"] = self.paths["t"]
            data["paths_z"] = (("path", "path_t", "coord"), self.paths["z"])
            for k, v in self.paths.items():
                if k not in ("t", "z"):
                    data[f"paths_{k}"] = (("path", "path_t"), v)
        _histogram_vars(self.histogram, data, coords, "sem")
        return xr.Dataset(data, coords=coords, attrs={"meta": json.dumps(self.record_meta())})

    def record_meta(self) -> dict:
        return {**self.meta, **run_meta(self)}

    def plot(self, out_dir: str | Path) -> list[Path]:
        """The figures ``cqjax plot`` draws, written to ``out_dir``; returns their paths."""
        return _plot(self, out_dir)


@dataclass
class Master(MasterResult):
    """A master-equation solution: ``t``, ``mean[name]`` and ``err[name]`` (estimated
    discretisation error), ``density`` (T, Nq, Np, d, d) on ``grid``, ``histogram``, and the
    diagnostics ``min_eig``, ``trace``, ``lost``, ``lost_sides``."""

    meta: dict = field(default_factory=dict)

    def record(self) -> dict[str, np.ndarray]:
        """The arrays of its results file (``density`` in complex64, as ``cqjax master`` writes it)."""
        return master_record(self, self.record_meta())

    def record_meta(self) -> dict:
        own = dict(steps=self.steps, dt=self.dt, compile_seconds=self.compile_seconds, run_seconds=self.run_seconds)
        return {**self.meta, **own, "completely_positive": self.completely_positive, **self.info}

    def save(self, path: str | Path) -> Path:
        """Write the results file (.npz, atomically); ``cqjax.load`` reads it back."""
        return write_npz(path, self.record())

    def to_xarray(self):
        """An ``xarray.Dataset``: ``mean``, ``err`` (observable, t); ``density`` (density_t, q, p, row,
        col) over the cell centres at the times it was kept (``master.save_density``); ``min_eig``,
        ``trace``, ``lost`` (t); with a histogram, ``histogram_density`` and ``histogram_err`` over the
        bin centres."""
        xr = _xarray()
        names = list(self.mean)
        nan = np.full_like(self.t, np.nan)
        data = {
            "mean": (("observable", "t"), np.stack([self.mean[k] for k in names])),
            "err": (("observable", "t"), np.stack([self.err.get(k, nan) for k in names])),
            "density": (("density_t", *self.coords, "row", "col"), self.density),
            "min_eig": ("t", self.min_eig),
            "trace": ("t", self.trace),
            "lost": ("t", self.lost),
        }
        coords = {"t": self.t, "density_t": self.density_t, "observable": names}
        coords.update({c: self.grid.centres(i) for i, c in enumerate(self.coords)})
        _histogram_vars(self.histogram, data, coords, "err", prefix="histogram_", bins_suffix="_bin")
        return xr.Dataset(data, coords=coords, attrs={"meta": json.dumps(self.record_meta())})

    def plot(self, out_dir: str | Path) -> list[Path]:
        """The figures ``cqjax plot`` draws of a master file, written to ``out_dir``."""
        return _plot(self, out_dir)


def _histogram_vars(hist, data: dict, coords: dict, spread: str, prefix: str = "", bins_suffix: str = "") -> None:
    """Add a histogram's density and its spread (``sem`` or ``err``) over the bin centres."""
    if hist is None:
        return
    names = [str(c) for c in hist["coords"]]
    dims = [c + bins_suffix for c in names]
    for c, dim in zip(names, dims):
        e = np.asarray(hist[f"edges.{c}"])
        coords[dim] = 0.5 * (e[1:] + e[:-1])
    data[f"{prefix}density"] = (("t", *dims, "row", "col"), hist["density"])
    if spread in hist:
        data[f"{prefix}density_{spread}"] = (("t", *dims, "row", "col"), hist[spread])
    if "outside" in hist:
        data[f"{prefix}outside"] = ("t", hist["outside"])


def _xarray():
    try:
        import xarray
    except ImportError:
        raise ImportError("to_xarray: needs xarray (pip install xarray, or pip install 'cqjax[xarray]')") from None
    return xarray


def _plot(result, out_dir) -> list[Path]:
    from ..plot.results import plot_results

    with tempfile.TemporaryDirectory() as tmp:
        return plot_results(result.save(Path(tmp) / "results.npz"), out_dir)


def as_ensemble(result: EnsembleResult, meta: dict | None = None) -> Ensemble:
    """The engine's ``EnsembleResult`` as an ``Ensemble`` (the same arrays, not copied)."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(EnsembleResult)}
    return Ensemble(**fields, meta=dict(getattr(result, "meta", {}), **(meta or {})))


def as_master(result: MasterResult, meta: dict | None = None) -> Master:
    """The engine's ``MasterResult`` as a ``Master`` (the same arrays, not copied)."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(MasterResult)}
    return Master(**fields, meta=dict(getattr(result, "meta", {}), **(meta or {})))


def load(path: str | Path) -> Ensemble | Master:
    """Read a results file (``cqjax run``, ``cqjax master`` or ``.save``) as an ``Ensemble`` or a ``Master``."""
    try:
        data = load_results(path)
    except FileNotFoundError:
        raise ValueError(f"results: no such file {str(path)!r}") from None
    except (OSError, ValueError) as err:
        raise ValueError(f"results: {str(path)!r}: {err}") from None
    if "t" not in data:
        raise ValueError(f"results: {str(path)!r} is not a cqjax results file (no saved times 't')")
    return _master_of(data) if "min_eig" in data else _ensemble_of(data)


def _observables(data: dict, spread: str) -> tuple[dict, dict]:
    names = [k[: -len(".mean")] for k in data if k.endswith(".mean")]
    return {k: data[f"{k}.mean"] for k in names}, {k: data[f"{k}.{spread}"] for k in names if f"{k}.{spread}" in data}


def _histogram(data: dict) -> dict | None:
    hist = {k[len("histogram.") :]: v for k, v in data.items() if k.startswith("histogram.")}
    return hist or None


def _ensemble_of(data: dict) -> Ensemble:
    meta = data["meta"]
    t = data["t"]
    coords = tuple(str(c) for c in data["coords"])
    mean, sem = _observables(data, "sem")
    samples_psi = data.get("samples.rho", data.get("samples.psi", np.zeros((0, t.size, 0), complex)))
    trajectories = int(meta.get("trajectories", 0))
    return Ensemble(
        t=t,
        mean=mean,
        sem=sem,
        coords=coords,
        samples_z=data.get("samples.z", np.zeros((0, t.size, len(coords)))),
        samples_psi=samples_psi,
        nonfinite=data["nonfinite"],
        counted=data.get("counted", trajectories - data["nonfinite"]),
        trajectories=trajectories,
        steps=int(meta.get("steps", 0)),
        compile_seconds=float(meta.get("compile_seconds", np.nan)),
        run_seconds=float(meta.get("run_seconds", np.nan)),
        histogram=_histogram(data),
        stopped=data.get("stopped"),
        ess=data.get("ess"),
        paths={k[len("paths.") :]: v for k, v in data.items() if k.startswith("paths.") and k != "paths.coords"}
        or None,
        info={k: v for k, v in meta.items() if k not in _META + _RUN_META},
        meta={k: v for k, v in meta.items() if k in _META},
    )


def _master_of(data: dict) -> Master:
    meta = data["meta"]
    coords = tuple(str(c) for c in data["grid.coords"])
    edges = [data[f"grid.edges.{c}"] for c in coords]
    grid = PhaseSpaceGrid(
        lo=tuple(e[0] for e in edges), hi=tuple(e[-1] for e in edges), cells=tuple(e.size - 1 for e in edges)
    )
    mean, err = _observables(data, "err")
    info = {k: v for k, v in meta.items() if k not in _META + _MASTER_META}
    return Master(
        t=data["t"],
        grid=grid,
        coords=coords,
        masses=data["density"].astype(complex) * grid.cell_volume,
        density_t=data.get("density.t", data["t"]),  # files from before save_density kept every time
        mean=mean,
        min_eig=data["min_eig"],
        trace=data["trace"],
        lost=data["lost"],
        lost_sides=data["lost.sides"],
        steps=int(meta.get("steps", 0)),
        dt=float(meta.get("dt", np.nan)),
        compile_seconds=float(meta.get("compile_seconds", np.nan)),
        run_seconds=float(meta.get("run_seconds", np.nan)),
        completely_positive=bool(meta.get("completely_positive", True)),
        err=err,
        histogram=_histogram(data),
        info=info,
        meta={k: v for k, v in meta.items() if k in _META},
    )


def record_of(result) -> dict:
    """A result object (or the engine's result dataclass) as a loaded results file (``meta`` decoded)."""
    if isinstance(result, MasterResult):
        return decoded(as_master(result).record())
    if isinstance(result, EnsembleResult):
        return decoded(as_ensemble(result).record())
    if isinstance(result, dict):
        return result
    raise TypeError(f"expected an ensemble or a master result, got {type(result).__name__}")
