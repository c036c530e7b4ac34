"""What the plotting functions accept: a results file, the dict ``load_results`` returns, or a
result object in memory (an ``EnsembleResult`` or ``MasterResult``, or anything with the same
attributes: ``t``, ``mean``, ``sem`` or ``err``, ``coords``, ``samples_z``, ``samples_psi``,
``histogram``, ``meta``/``info``). All become one dict with the keys of a results file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np


def as_data(results) -> dict:
    """The results as a dict with a results file's keys (``meta`` decoded to a dict)."""
    if isinstance(results, (str, os.PathLike)):
        with np.load(results, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    elif isinstance(results, Mapping):
        data = dict(results)
    elif hasattr(results, "t") and hasattr(results, "mean"):
        data = _from_object(results)
    else:
        raise TypeError(f"expected a results file, a dict of arrays or a result object, got {type(results).__name__}")
    if "t" not in data:
        raise ValueError("results have no 't' key (saved times)")
    data["meta"] = _meta(data.get("meta"))
    return data


def _meta(meta) -> dict:
    if isinstance(meta, Mapping):
        return dict(meta)
    if meta is None:
        return {}
    try:
        decoded = json.loads(str(meta))
    except json.JSONDecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _from_object(result) -> dict:
    data: dict = {"t": np.asarray(result.t)}
    if getattr(result, "coords", None) is not None:
        data["coords"] = np.array(result.coords)
    for name, mean in result.mean.items():
        data[f"{name}.mean"] = np.asarray(mean)
        for attr, suffix in (("sem", "sem"), ("err", "err")):
            table = getattr(result, attr, None) or {}
            if name in table:
                data[f"{name}.{suffix}"] = np.asarray(table[name])
    z, psi = getattr(result, "samples_z", None), getattr(result, "samples_psi", None)
    if z is not None and psi is not None and np.shape(z)[0]:
        data["samples.z"] = np.asarray(z)
        data["samples.rho" if np.ndim(psi) == 4 else "samples.psi"] = np.asarray(psi)
    for key, value in (getattr(result, "histogram", None) or {}).items():
        data[f"histogram.{key}"] = np.asarray(value)
    for key in ("nonfinite", "stopped", "min_eig", "trace", "lost"):  # diagnostics, where present
        if getattr(result, key, None) is not None:
            data[key] = np.asarray(getattr(result, key))
    meta = getattr(result, "meta", None)
    data["meta"] = meta if isinstance(meta, Mapping) else {}
    return data


def model_name(data: Mapping) -> str | None:
    """The model's name from ``meta``, or None."""
    model = data.get("meta", {}).get("model")
    return str(model) if model else None


def observables(data: Mapping) -> dict[str, dict[str, np.ndarray]]:
    """Observable name -> {"mean", and "sem" and/or "err" where present}, in file order."""
    out = {}
    for key in data:
        if key.endswith(".mean") and not key.startswith("histogram."):
            name = key[: -len(".mean")]
            out[name] = {"mean": np.asarray(data[key], float)}
            for part in ("sem", "err"):
                if f"{name}.{part}" in data:
                    out[name][part] = np.asarray(data[f"{name}.{part}"], float)
    return out
