"""Configs of finite classical state spaces (``model`` a registered ``AbstractFiniteModel``, e.g.
``pointer_qubit``): ``[params]``, ``[initial]`` (``z0``: a state index or probabilities, ``psi``),
``[run]`` (``t1``, ``dt``, ``trajectories``, ``n_saves``, ``seed``) and ``[observables]``; ``cqjax run``
runs the jump unravelling, ``cqjax master`` the exact block ODE, ``cqjax compare`` both."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..models.finite import AbstractFiniteModel, finite_data, finite_observable
from ..models.pointer_qubit import PointerQubit

FINITE_MODELS: dict[str, type[AbstractFiniteModel]] = {"pointer_qubit": PointerQubit}

_RUN = {"t1": (float, int), "dt": (float, int), "trajectories": (int,), "n_saves": (int,), "seed": (int,)}
_DEFAULTS = {"n_saves": 4, "seed": 0}


@dataclass
class FiniteConfig:
    """A validated finite-state config."""

    model: AbstractFiniteModel
    z0: int | list[float]
    psi: np.ndarray
    t1: float
    dt: float
    n_saves: int
    trajectories: int
    seed: int
    observables: tuple[str, ...]
    resolved: dict


def is_finite(raw: dict) -> bool:
    return isinstance(raw.get("model"), str) and raw["model"] in FINITE_MODELS


def parse_finite_config(raw: dict, error) -> FiniteConfig:
    """Validate a finite-state config; ``error``: the ConfigError class (one-line messages)."""
    allowed = {"model", "params", "initial", "run", "observables"}
    for key in raw:
        if key not in allowed:
            raise error(f"{key}: unknown key for the finite-state model {raw['model']!r}; allowed: {sorted(allowed)}")
    cls = FINITE_MODELS[raw["model"]]
    fields = {f for f in cls.__dataclass_fields__}
    params = {}
    for key, value in raw.get("params", {}).items():
        if key not in fields:
            raise error(f"params.{key}: unknown parameter of {raw['model']!r}; allowed: {sorted(fields)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise error(f"params.{key}: expected a finite number, got {value!r}")
        params[key] = float(value)
    model = cls(**params)
    data = finite_data(model)
    K, d = data["H"].shape[0], data["H"].shape[-1]
    run = _run(raw.get("run", {}), error)
    init = dict(raw.get("initial", {}))
    unknown = set(init) - {"z0", "psi"}
    if unknown:
        raise error(f"initial.{sorted(unknown)[0]}: unknown key; allowed: ['psi', 'z0']")
    z0 = _z0(init.get("z0"), K, error)
    if "psi" not in init:
        raise error("initial.psi: required (a state vector; the jump unravelling carries pure states)")
    from .config import _psi  # the same named states and [re, im] amplitudes as every config

    psi = _psi(init["psi"], d, model)
    names = raw.get("observables", {}).get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise error("observables.names: required, a non-empty list of names")
    for name in names:
        try:
            finite_observable(name, model)
        except ValueError as err:
            raise error(str(err)) from None
    resolved = {
        "model": raw["model"],
        "params": {f: float(getattr(model, f)) for f in sorted(fields)},
        "run": run,
        "initial": {"z0": z0, "psi": [[float(a.real), float(a.imag)] for a in psi]},
        "observables": {"names": names},
    }
    return FiniteConfig(model=model, z0=z0, psi=psi, observables=tuple(names), resolved=resolved, **run)


def _run(run: dict, error) -> dict:
    out = {}
    for key in run:
        if key not in _RUN:
            raise error(f"run.{key}: unknown key for a finite-state model; allowed: {sorted(_RUN)}")
    for key, types in _RUN.items():
        if key not in run and key not in _DEFAULTS:
            raise error(f"run.{key}: required")
        value = run.get(key, _DEFAULTS.get(key))
        if isinstance(value, bool) or not isinstance(value, types):
            raise error(f"run.{key}: expected {' or '.join(t.__name__ for t in types)}, got {value!r}")
        out[key] = float(value) if float in types else value
    steps = round(out["t1"] / out["dt"])
    if not (out["dt"] > 0 and out["t1"] > 0 and abs(steps * out["dt"] - out["t1"]) <= 1e-9 * out["t1"]):
        raise error(f"run.t1: {out['t1']} is not a positive multiple of run.dt = {out['dt']}")
    if out["n_saves"] < 1 or steps % out["n_saves"]:
        raise error(f"run.n_saves: {out['n_saves']} does not divide the number of steps t1/dt = {steps}")
    if out["trajectories"] < 2:
        raise error(f"run.trajectories: at least 2, got {out['trajectories']}")
    return out


def _z0(value, K: int, error):
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < K:
        return value
    if isinstance(value, list) and len(value) == K and all(isinstance(v, (int, float)) for v in value):
        p = np.asarray(value, float)
        if np.all(p >= 0) and abs(p.sum() - 1) <= 1e-9:
            return [float(v) for v in value]
    raise error(f"initial.z0: a state index in 0..{K - 1} or {K} probabilities summing to 1, got {value!r}")
