"""TOML run configurations: parsing, ``--set`` overrides and strict validation.

Every problem raises ``ConfigError`` with a one-line message that starts with the offending
field (``run.dt: must be > 0, got 0``); the CLI prints it and exits with status 2. The config
checks what only a config has (its keys, types and TOML structure) and calls the engine's own
checks for the rest; the engine's ``InputError``s name plain arguments (``dt``, ``psi``) and
``config_errors`` reports them under the config's keys (``run.dt``, ``initial.psi``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..dynamics._choice import SOLVERS, UNRAVELLINGS
from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..ensemble._time import TimeGrid
from ..ensemble.runner import DEFAULT_SAMPLES, check_options
from ..errors import InputError, SimulationError, rename_words
from ..models._base import AbstractModel
from ..models._time import clocked, is_time_dependent
from ..models.finite import AbstractFiniteModel
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState, MixtureState
from ..spec.observables import parse_observable
from ._model_spec import resolve_model
from .finite_config import FiniteConfig, is_finite, parse_finite_config

NAMED_STATES = {
    "zero": [1.0, 0.0],
    "one": [0.0, 1.0],
    "plus": [2**-0.5, 2**-0.5],
    "minus": [2**-0.5, -(2**-0.5)],
}


# key -> (type(s), default); default None means optional-without-default, ... means required
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "run": {
        "t1": ((float, int), ...),
        "dt": ((float, int), ...),
        "trajectories": ((int,), ...),
        "n_saves": ((int,), 100),
        "seed": ((int,), 0),
        "unravelling": ((str,), "healed"),
        "method": ((str,), "kraus"),
        "precision": ((str,), "float32"),
        "state": ((str,), "auto"),
        "chunk_size": ((int,), None),
        "samples": ((int,), None),
        "nonfinite": ((str,), "fail"),
        "devices": ((int,), None),
        "noise": ((str,), "gaussian"),
        "prng": ((str,), "threefry"),
        "paths": ((int,), 0),
        "path_stride": ((int,), 1),
    },
    "initial": {
        "z_mean": ((list,), None),
        "components": ((list,), None),
        "z_cov": ((list,), None),
        "psi": ((str, list), None),
        "rho": ((list,), None),
    },
    "observables": {"names": ((list,), ...)},
    "histogram": {"coords": ((list,), ...), "bins": ((list,), ...)},
}


_TOP = {
    "model": (str,),
    "params": (dict,),
    "run": (dict,),
    "initial": (dict,),
    "observables": (dict,),
    "histogram": (dict,),
    "master": (dict,),
}


@dataclass
class MasterOptions:
    """The ``[master]`` section: grid cells per axis (one per coordinate; default by the number of
    axes), extents {coordinate: (lo, hi)} (automatic where absent), time step (automatic if None),
    whether to estimate the discretisation error, whether to integrate a generator that is not
    completely positive (refused by default), which densities to keep (``save_density``: a
    count or a list of saved times; default a handful), and how the drift moves the cells
    (``transport``: "upwind", the default, or "second-order")."""

    cells: tuple[int, ...] | None = None
    extent: dict = dataclasses.field(default_factory=dict)
    dt: float | None = None
    error_estimate: bool = True
    allow_non_cp: bool = False
    save_density: int | tuple[float, ...] | None = None
    transport: str = "upwind"


class ConfigError(InputError):
    """An invalid configuration; the message starts with the config key (``run.dt: ...``), which
    ``field`` holds."""

    def __init__(self, message: str):
        ValueError.__init__(self, message)
        field, sep, reason = message.partition(": ")
        self.field, self.reason, self.refs = (field, reason, ()) if sep else ("config", message, ())

    def __reduce__(self):
        return type(self), (str(self),)


# The engine's argument names -> the config's keys (where they differ from the name itself).
_RUN_KEYS = {
    **{
        name: f"run.{name}"
        for name in (
            "t1",
            "dt",
            "n_saves",
            "trajectories",
            "seed",
            "unravelling",
            "chunk_size",
            "precision",
            "state",
            "nonfinite",
            "devices",
            "noise",
            "prng",
            "paths",
            "path_stride",
        )
    },
    "solver": "run.method",
    "method": "run.method",
    "components": "initial.components",
    "n_samples": "run.samples",
    "observables": "observables.names",
    **{name: f"initial.{name}" for name in ("z_mean", "z_cov", "psi", "rho")},
}
_MASTER_KEYS = {
    **_RUN_KEYS,
    **{
        name: f"master.{name}"
        for name in ("dt", "cells", "save_density", "error_estimate", "allow_non_cp", "transport")
    },
    "extent": "master",
}


def config_key(field: str, job: str = "run", extra: Mapping[str, str] | None = None) -> str:
    """The config key of an engine argument in a ``run`` or ``master`` job (``dt``: ``run.dt``,
    or ``master.dt``); ``extra`` adds names (the CLI's options); other fields stay as they are."""
    keys = _MASTER_KEYS if job == "master" else _RUN_KEYS
    return (extra or {}).get(field, keys.get(field, field))


@contextmanager
def config_errors(job: str = "run", extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """Report the engine's ``InputError``s raised inside as ``ConfigError``s under the config's
    keys (``dt: must be > 0`` -> ``run.dt: must be > 0``), and rename the argument a
    ``SimulationError``'s message starts with (``nonfinite``) likewise."""

    def key(name: str) -> str:
        return config_key(name, job, extra)

    try:
        yield
    except ConfigError:
        raise
    except InputError as err:
        raise ConfigError(err.renamed(key)) from None
    except SimulationError as err:
        head = re.match(r"\w+", str(err))
        if head is None or key(head.group()) == head.group():
            raise
        raise SimulationError(rename_words(str(err), (head.group(),), key)) from None


@dataclass
class RunConfig:
    """A validated configuration, with the objects the runner needs."""

    model: AbstractModel
    initial: InitialState | MixtureState
    t1: float
    dt: float
    n_saves: int
    trajectories: int
    seed: int
    unravelling: AbstractUnravelling
    solver: AbstractSolver
    precision: str
    observables: tuple[str, ...]
    histogram: HistogramSpec | None
    chunk_size: int | None
    samples: int
    resolved: dict
    state: str = "auto"
    nonfinite: str = "fail"
    devices: int | None = None
    noise: str = "gaussian"
    prng: str = "threefry"
    paths: int = 0
    path_stride: int = 1
    master: MasterOptions = dataclasses.field(default_factory=MasterOptions)

    def master_kwargs(self) -> dict:
        """Keyword arguments for ``solve_master``."""
        return dict(
            t1=self.t1,
            n_saves=self.n_saves,
            cells=self.master.cells,
            extent=self.master.extent,
            dt=self.master.dt,
            observables=self.observables,
            histogram=self.histogram,
            error_estimate=self.master.error_estimate,
            allow_non_cp=self.master.allow_non_cp,
            save_density=self.master.save_density,
            transport=self.master.transport,
        )

    def run_kwargs(self) -> dict:
        """Keyword arguments for ``run_ensemble``."""
        return dict(
            t1=self.t1,
            dt=self.dt,
            n_saves=self.n_saves,
            trajectories=self.trajectories,
            seed=self.seed,
            unravelling=self.unravelling,
            solver=self.solver,
            observables=self.observables,
            histogram=self.histogram,
            n_samples=self.samples,
            chunk_size=self.chunk_size,
            precision=self.precision,
            state=self.state,
            nonfinite=self.nonfinite,
            devices=self.devices,
            noise=self.noise,
            prng=self.prng,
            paths=self.paths,
            path_stride=self.path_stride,
        )


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: take it as a string (e.g. run.unravelling=mean-field)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=VALUE`` overrides (VALUE in TOML syntax) to a raw config."""
    for item in overrides:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise ConfigError(f"--set: expected section.key=VALUE, got {item!r}")
        keys = path.strip().split(".")
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {path}: {k!r} is not a table")
        node[keys[-1]] = _parse_value(value.strip())
    return raw


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig | FiniteConfig:
    """Read a TOML file, apply overrides and validate."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config: no such file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config: cannot read {str(path)!r}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config: {path}: invalid TOML: {err}") from None
    raw = apply_overrides(raw, list(overrides))
    if is_finite(raw):  # a finite classical state space: its own sections (finite_config.py)
        return parse_finite_config(raw, ConfigError)
    return parse_config(raw, base=Path(path).parent)


def _check_type(field: str, value, types) -> None:
    if isinstance(value, bool) or not isinstance(value, types):
        names = " or ".join(t.__name__ for t in types)
        raise ConfigError(f"{field}: expected {names}, got {type(value).__name__} {value!r}")


def _section(raw: dict, name: str) -> dict:
    schema = _SCHEMA[name]
    given = raw.get(name, {})
    for key in given:
        if key not in schema:
            raise ConfigError(f"{name}.{key}: unknown key; allowed: {sorted(schema)}")
    out = {}
    for key, (types, default) in schema.items():
        if key in given:
            value = given[key]
            if types == (int,):
                value = _integer(f"{name}.{key}", value)
            _check_type(f"{name}.{key}", value, types)
            out[key] = float(value) if float in types and isinstance(value, int) else value
        elif default is ...:
            raise ConfigError(f"{name}.{key}: required")
        else:
            out[key] = default
    return out


def _integer(field: str, value):
    """An integer key given as an integral float (``trajectories = 1e5``) becomes that integer; a
    float with a fractional part is refused; anything else is left to the type check."""
    if isinstance(value, float) and not isinstance(value, bool):
        if not (math.isfinite(value) and value == int(value)):
            raise ConfigError(f"{field}: expected an integer, got {value!r}")
        return int(value)
    return value


def _float_list(field: str, value, length: int | None = None) -> list[float]:
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise ConfigError(f"{field}: expected a list of numbers, got {value!r}")
    if length is not None and len(value) != length:
        raise ConfigError(f"{field}: expected {length} numbers, got {len(value)}")
    if not all(math.isfinite(v) for v in value):
        raise ConfigError(f"{field}: numbers must be finite, got {value!r}")
    return [float(v) for v in value]


def _model(raw: dict, base: Path | None = None) -> AbstractModel:
    spec = raw.get("model")
    if spec is None:
        raise ConfigError('model: required (e.g. model = "diosi")')
    try:
        cls = resolve_model(spec, base)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    params = raw.get("params", {})
    kwargs: dict[str, int | float] = {}
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(f"params.{key}: unknown parameter of {spec!r}; allowed: {sorted(fields)}")
        if _is_static(fields[key]):  # a static field (a size such as the number of qubits): an integer
            value = _integer(f"params.{key}", value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"params.{key}: expected an integer, got {value!r}")
            kwargs[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"params.{key}: expected a finite number, got {value!r}")
        kwargs[key] = float(value)
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"params.{name}: required by model {spec!r}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        head = str(err).partition(":")[0]
        if head in fields and _is_static(fields[head]):  # "n: must be ..." -> "params.n: must be ..."
            raise ConfigError(f"params.{err}") from None
        raise ConfigError(f"params: {err}") from None


def _is_static(f: dataclasses.Field) -> bool:
    """An ``eqx.field(static=True)`` model parameter: a Python int, not a float pytree leaf."""
    return bool(f.metadata.get("static", False))


def _param_value(model: AbstractModel, f: dataclasses.Field):
    """A parameter as recorded in the resolved config: int for static fields, else float."""
    value = getattr(model, f.name)
    return int(value) if _is_static(f) else float(value)


def _psi(value, dim: int, model: AbstractModel | AbstractFiniteModel | None = None) -> np.ndarray:
    """The initial state: a name (the model's ``named_states()`` first, then the qubit states of
    NAMED_STATES) or a list of [re, im] amplitudes; normalised."""
    named = getattr(model, "named_states", None)
    own: dict = named() if callable(named) else {}
    if isinstance(value, str) and value in own:
        psi = np.asarray(own[value], complex)
        if psi.shape != (dim,):
            raise ConfigError(f"initial.psi: the model's state {value!r} has shape {psi.shape}, expected ({dim},)")
    elif isinstance(value, str):
        if value not in NAMED_STATES:
            raise ConfigError(
                f"initial.psi: unknown state {value!r}; named states: {sorted(set(NAMED_STATES) | set(own))}"
            )
        if dim != 2:
            raise ConfigError(f"initial.psi: named state {value!r} is a qubit state but the model has d = {dim}")
        psi = np.asarray(NAMED_STATES[value], complex)
    else:
        if len(value) != dim:
            raise ConfigError(f"initial.psi: expected {dim} amplitudes [re, im], got {len(value)}")
        amps = []
        for a in value:
            if not (isinstance(a, list) and len(a) == 2):
                raise ConfigError(f"initial.psi: each amplitude must be [re, im], got {a!r}")
            re, im = _float_list("initial.psi", a)
            amps.append(complex(re, im))
        psi = np.asarray(amps)
    norm = np.linalg.norm(psi)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ConfigError(f"initial.psi: state cannot be normalised (norm {norm:.3g})")
    return psi / norm


def _rho(value, dim: int) -> np.ndarray:
    """initial.rho: a d x d list of [re, im] entries; Hermitian, positive semi-definite, trace 1."""
    field = "initial.rho"
    if len(value) != dim or any(not isinstance(row, list) or len(row) != dim for row in value):
        raise ConfigError(f"{field}: expected a {dim} x {dim} matrix of [re, im] entries")
    rho = np.zeros((dim, dim), complex)
    for i, row in enumerate(value):
        for j, a in enumerate(row):
            if not (isinstance(a, list) and len(a) == 2):
                raise ConfigError(f"{field}: each entry must be [re, im], got {a!r} at [{i}][{j}]")
            re, im = _float_list(field, a)
            rho[i, j] = complex(re, im)
    if np.abs(rho - rho.conj().T).max() > 1e-9:
        raise ConfigError(f"{field}: not Hermitian (rho[i][j] must equal conj(rho[j][i]))")
    tr = np.trace(rho).real
    if abs(tr - 1) > 1e-6:
        raise ConfigError(f"{field}: trace is {tr:.6g}, must be 1 (a normalised density matrix)")
    low = np.linalg.eigvalsh(rho).min()
    if low < -1e-9:
        raise ConfigError(f"{field}: not positive semi-definite (smallest eigenvalue {low:.3g})")
    return rho


def parse_config(raw: dict, base: str | Path | None = None) -> RunConfig:
    """Validate a raw config dict (as read from TOML) and build the run's objects. ``base``: the
    folder a relative model file (``model = "my_model.py:Class"``) is resolved from (the config
    file's folder; default: the current directory)."""
    for key, value in raw.items():
        if key not in _TOP:
            raise ConfigError(f"{key}: unknown key; allowed top-level keys: {sorted(_TOP)}")
        _check_type(key, value, _TOP[key])
    model = _model(raw, None if base is None else Path(base))
    run = _run_section(_section(raw, "run"))
    initial, resolved_initial = _initial_section(_section(raw, "initial"), model)
    names = _observables_section(_section(raw, "observables"), model)
    histogram = _histogram_section(_section(raw, "histogram"), model) if "histogram" in raw else None
    master = _master_section(raw.get("master", {}), clocked(model) if is_time_dependent(model) else model)
    resolved = {
        "model": raw["model"],
        "params": {f.name: _param_value(model, f) for f in dataclasses.fields(model)},
        "run": run,
        "initial": resolved_initial,
        "observables": {"names": list(names)},
    }
    if histogram is not None:
        resolved["histogram"] = {"coords": list(histogram.coords), "bins": [list(b) for b in histogram.bins]}
    if "master" in raw:
        resolved["master"] = {
            "cells": None if master.cells is None else list(master.cells),
            "save_density": master.save_density
            if not isinstance(master.save_density, tuple)
            else list(master.save_density),
            "dt": master.dt,
            "error_estimate": master.error_estimate,
            "allow_non_cp": master.allow_non_cp,
            "transport": master.transport,
            **{c: list(v) for c, v in master.extent.items()},
        }
    return RunConfig(
        model=model,
        initial=initial,
        t1=run["t1"],
        dt=run["dt"],
        n_saves=run["n_saves"],
        trajectories=run["trajectories"],
        seed=run["seed"],
        unravelling=UNRAVELLINGS[run["unravelling"]](),
        solver=SOLVERS[run["method"]](),
        precision=run["precision"],
        observables=tuple(names),
        histogram=histogram,
        chunk_size=run["chunk_size"],
        samples=run["samples"],
        resolved=resolved,
        master=master,
        state=run["state"],
        nonfinite=run["nonfinite"],
        devices=run["devices"],
        noise=run["noise"],
        prng=run["prng"],
        paths=run["paths"],
        path_stride=run["path_stride"],
    )


# the names a config maps to the engine's objects
_CHOICES: dict[str, Mapping[str, type]] = {"unravelling": UNRAVELLINGS, "method": SOLVERS}


def _run_section(run: dict) -> dict:
    """``[run]``: times, counts, seed and the named choices, checked by the engine's own checks
    (the devices when the run starts); fills the default number of samples."""
    if not 0 <= run["seed"] < 2**32:
        raise ConfigError(f"run.seed: must be in [0, 2^32), got {run['seed']}")
    for key, allowed in _CHOICES.items():
        if run[key] not in allowed:
            raise ConfigError(f"run.{key}: unknown {run[key]!r}; choose from {sorted(allowed)}")
    if run["samples"] is None:
        run["samples"] = min(DEFAULT_SAMPLES, run["trajectories"])
    with config_errors("run"):
        TimeGrid.make(run["t1"], run["dt"], run["n_saves"])
        check_options(
            run["trajectories"],
            run["samples"],
            run["chunk_size"],
            run["precision"],
            run["state"],
            run["nonfinite"],
            run["noise"],
            run["prng"],
        )
    return run


def _initial_section(init: dict, model: AbstractModel) -> tuple[InitialState | MixtureState, dict]:
    """``[initial]``: the classical mean and covariance and exactly one of psi and rho, or a list
    ``components`` of such tables, each with a positive ``weight`` (normalised by their sum: a
    correlated CQ state); the initial state and its resolved (recorded) form."""
    if init["components"] is None:
        if init["z_mean"] is None:
            raise ConfigError("initial.z_mean: required (or give initial.components)")
        return _component(init, model)
    if any(init[k] is not None for k in ("z_mean", "z_cov", "psi", "rho")):
        raise ConfigError("initial.components: give either components or z_mean/z_cov/psi/rho, not both")
    comps, weights, resolved = [], [], []
    if not init["components"]:
        raise ConfigError("initial.components: give at least one component")
    for k, raw in enumerate(init["components"]):
        field = f"initial.components[{k}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{field}: expected a table with weight, z_mean, z_cov, psi or rho")
        raw = dict(raw)
        weight = raw.pop("weight", None)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not (math.isfinite(weight) and weight > 0)
        ):
            raise ConfigError(f"{field}.weight: required, a finite number > 0; got {weight!r}")
        try:
            if "components" in raw or "z_mean" not in raw:
                raise ConfigError("initial.z_mean: required in each component (components do not nest)")
            comp, res = _component(_section({"initial": raw}, "initial"), model)
        except ConfigError as err:
            raise ConfigError(f"{field}: {err}") from None
        comps.append(comp)
        weights.append(float(weight))
        resolved.append({"weight": float(weight), **res})
    total = sum(weights)
    for r in resolved:
        r["weight"] = r["weight"] / total
    return MixtureState(comps, weights), {"components": resolved}


def _component(init: dict, model: AbstractModel) -> tuple[InitialState, dict]:
    """One Gaussian point with a pure state or a density matrix, and its resolved form."""
    n = model.n_coords
    z_mean = _float_list("initial.z_mean", init["z_mean"], n)
    z_cov = None
    if init["z_cov"] is not None:
        rows = init["z_cov"]
        if len(rows) != n:
            raise ConfigError(f"initial.z_cov: expected an {n} x {n} matrix, got {len(rows)} rows")
        z_cov = np.array([_float_list("initial.z_cov", r, n) for r in rows])
        if not np.allclose(z_cov, z_cov.T):
            raise ConfigError("initial.z_cov: must be symmetric")
        if np.linalg.eigvalsh(z_cov).min() < -1e-12 * max(1.0, np.abs(z_cov).max()):
            raise ConfigError("initial.z_cov: must be positive semi-definite")
    dim = jax.eval_shape(model.hamiltonian, jnp.asarray(z_mean)).shape[-1]
    if (init["psi"] is None) == (init["rho"] is None):
        raise ConfigError(
            "initial.psi: give exactly one of initial.psi (a pure state) and initial.rho (a density matrix)"
        )
    psi = None if init["psi"] is None else _psi(init["psi"], dim, model)
    rho = None if init["rho"] is None else _rho(init["rho"], dim)
    initial = InitialState(
        z_mean=jnp.asarray(z_mean),
        psi=None if psi is None else jnp.asarray(psi),
        z_cov=None if z_cov is None else jnp.asarray(z_cov),
        rho=None if rho is None else jnp.asarray(rho),
    )
    resolved: dict[str, Any] = {"z_mean": z_mean}
    if z_cov is not None:
        resolved["z_cov"] = z_cov.tolist()
    if psi is not None:
        resolved["psi"] = [[float(a.real), float(a.imag)] for a in psi]
    elif rho is not None:
        resolved["rho"] = [[[float(a.real), float(a.imag)] for a in row] for row in rho]
    return initial, resolved


def _observables_section(obs: dict, model: AbstractModel) -> list[str]:
    """``[observables]``: a non-empty list of names the model can evaluate."""
    names = obs["names"]
    if not names or not all(isinstance(s, str) for s in names):
        raise ConfigError(f"observables.names: expected a non-empty list of strings, got {names!r}")
    with config_errors("run"):
        for name in names:
            parse_observable(name, model)
    return names


def _histogram_section(h: dict, model: AbstractModel) -> HistogramSpec:
    """``[histogram]``: one or two of the model's coordinates, each with [lo, hi, n] bins."""
    coords, bins = h["coords"], h["bins"]
    if not 1 <= len(coords) <= 2:
        raise ConfigError(f"histogram.coords: give one or two coordinates, got {coords!r}")
    if len(bins) != len(coords):
        raise ConfigError("histogram.bins: give one [lo, hi, n] per coordinate (one or two coordinates)")
    parsed = []
    for b in bins:
        if not (isinstance(b, list) and len(b) == 3):
            raise ConfigError(f"histogram.bins: each entry must be [lo, hi, n], got {b!r}")
        lo, hi = _float_list("histogram.bins", b[:2])
        nb = _integer("histogram.bins", b[2])
        if isinstance(nb, bool) or not isinstance(nb, int) or nb < 1 or not hi > lo:
            raise ConfigError(f"histogram.bins: need lo < hi and an integer n >= 1, got {b!r}")
        parsed.append((lo, hi, nb))
    spec = HistogramSpec(tuple(coords), tuple(parsed))
    try:
        spec.axes(model.coords)
    except InputError as err:
        raise ConfigError(f"histogram.coords: {err.reason}") from None
    return spec


def _master_section(given: dict, model: AbstractModel) -> MasterOptions:
    """Validate ``[master]``: cells (one per coordinate), dt, error_estimate, allow_non_cp, save_density,
    transport (its value is checked by ``solve_master``) and <coordinate> = [lo, hi]."""
    allowed = ["cells", "dt", "error_estimate", "allow_non_cp", "save_density", "transport", *model.coords]
    opts = MasterOptions()
    for key, value in given.items():
        field = f"master.{key}"
        if key not in allowed:
            raise ConfigError(f"{field}: unknown key; allowed: {allowed}")
        if key == "cells":
            value = [_integer(field, v) for v in value] if isinstance(value, list) else value
            if (
                not isinstance(value, list)
                or len(value) != model.n_coords
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)
            ):
                raise ConfigError(
                    f"{field}: expected {model.n_coords} integers >= 1 (cells along {list(model.coords)}), got {value}"
                )
            opts.cells = tuple(value)
        elif key == "save_density":
            opts.save_density = _save_density(field, value)
        elif key == "dt":
            _check_type(field, value, (float, int))
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{field}: must be a finite number > 0, got {value}")
            opts.dt = float(value)
        elif key == "transport":
            _check_type(field, value, str)
            opts.transport = value
        elif key in ("error_estimate", "allow_non_cp"):
            if not isinstance(value, bool):
                raise ConfigError(f"{field}: expected true or false, got {value!r}")
            setattr(opts, key, value)
        else:
            lo, hi = _float_list(field, value, 2)
            if not hi > lo:
                raise ConfigError(f"{field}: expected [lo, hi] with lo < hi, got {value!r}")
            opts.extent[key] = (lo, hi)
    return opts


def _save_density(field: str, value) -> int | tuple[float, ...]:
    """``master.save_density``: a count >= 1 or a non-empty list of times >= 0 (checked against the
    saved times by ``solve_master``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{field}: expected a count >= 1 or a list of saved times, got {value}")
        return value
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{field}: expected a count >= 1 or a non-empty list of saved times, got {value!r}")
    times = tuple(_float_list(field, value, len(value)))
    if any(not math.isfinite(t) or t < 0 for t in times):
        raise ConfigError(f"{field}: times must be finite and >= 0, got {value!r}")
    return times
