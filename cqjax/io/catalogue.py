"""The registered models described for users (``cqjax models``) and a config template for one of
them (``cqjax init MODEL``) that runs as written."""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..models._base import AbstractAbsorbingModel, AbstractModel
from ..models._registry import MODELS
from ..operators._pauli import PauliString

_SHOWN = 8  # operator names listed per model


def describe(name: str, cls: type[AbstractModel]) -> str:
    """A few lines: name, one-line description (the docstring's first line), coordinates, d,
    operators and parameters with their defaults."""
    model = cls()
    ops = sorted(model.operators())
    shown = ", ".join(ops[:_SHOWN]) + (f", ... ({len(ops)} in all)" if len(ops) > _SHOWN else "")
    params = ", ".join(f"{f.name} = {_default(model, f)}" for f in dataclasses.fields(model))
    summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    return "\n".join(
        [
            f"{name} ({cls.__module__}.{cls.__qualname__}): {summary}",
            f"  coordinates: {', '.join(model.coords)}; d = {_dim(model)}",
            f"  operators: {shown or '-'}",
            f"  parameters: {params or '-'}",
        ]
    )


def catalogue() -> str:
    """Every registered model, described."""
    return "\n\n".join(describe(name, cls) for name, cls in sorted(MODELS.items()))


def _default(model: AbstractModel, f: dataclasses.Field):
    value = getattr(model, f.name)
    return int(value) if f.metadata.get("static", False) else float(value)


def _param_line(model: AbstractModel, f: dataclasses.Field) -> str:
    """``name = default``; a default a config cannot hold (inf: configs take finite numbers) is
    shown commented out, as the value the model takes when the key is left out."""
    value = _default(model, f)
    if isinstance(value, float) and not math.isfinite(value):
        return f"# {f.name} = {value!r} (the default; a config cannot set it: leave the key out)"
    return f"{f.name} = {value!r}"


def _dim(model: AbstractModel) -> int:
    return int(jax.eval_shape(model.hamiltonian, jnp.zeros(model.n_coords)).shape[-1])


def _start(model: AbstractModel) -> list[float]:
    """An initial point: the origin, or positions 1 when the origin is outside an absorbing rule."""
    z = np.zeros(model.n_coords)
    if isinstance(model, AbstractAbsorbingModel) and not bool(model.inside(jnp.asarray(z))):
        z[: len(model.positions)] = 1.0
    return z.tolist()


def _state(model: AbstractModel) -> tuple[object, str]:
    """(initial.psi, a comment): the model's first named state, "plus" for a qubit, else |0>."""
    own = getattr(model, "named_states", None)
    names = list(own()) if callable(own) else []
    if names:
        return names[0], f"named states: {', '.join(names[:_SHOWN])}{', ...' if len(names) > _SHOWN else ''}"
    d = _dim(model)
    if d == 2:
        return "plus", 'or "zero", "one", "minus", or [[re, im], [re, im]]'
    return [[1.0, 0.0]] + [[0.0, 0.0]] * (d - 1), "amplitudes [re, im] (normalised)"


def template(name: str) -> str:
    """A commented TOML config for the registered model ``name`` with its default parameters, a
    small run, an initial state and a few observables."""
    if name not in MODELS:
        raise ValueError(f"init: unknown model {name!r}; registered: {sorted(MODELS)}")
    cls = MODELS[name]
    model = cls()
    summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    psi, psi_note = _state(model)
    ops = [k for k in model.operators() if not isinstance(model.operators()[k], PauliString)][:3] or sorted(
        model.operators()
    )[:3]
    names = [*model.coords[:2], *ops, "purity"]
    lines = [
        f"# cqjax config for the model {name!r}: {summary}",
        "# run it with: cqjax run THIS.toml (cqjax master / cqjax compare take the same file)",
        f'model = "{name}"',
        "",
        "[params]  # the model's parameters (defaults shown)",
        *(_param_line(model, f) for f in dataclasses.fields(model)),
        "",
        "[run]",
        "t1 = 1.0              # final time",
        "dt = 0.01             # time step; t1 must be a multiple of dt",
        "n_saves = 10          # saved times after t = 0; must divide t1/dt",
        "trajectories = 1000   # 1e5 is accepted as an integer too",
        "seed = 0",
        '# unravelling = "healed"   # or "mean-field", "linear" (weighted, no back-reaction)',
        "# paths = 0                # keep the first N trajectories every path_stride steps (paths.*)",
        '# method = "kraus"         # or "euler-maruyama", "milstein"',
        '# precision = "float32"    # or "float64"',
        "",
        "[initial]",
        f"z_mean = {json.dumps(_start(model))}   # coordinates {', '.join(model.coords)}",
        f"# z_cov = [[...]]   # a Gaussian spread ({model.n_coords} x {model.n_coords}); a fixed point without it",
        f"psi = {json.dumps(psi)}   # {psi_note}",
        "",
        "[observables]",
        f'names = {json.dumps(names)}   # coordinates, operators, products such as "p*sz", purity, norm_error',
        "",
        "# [histogram]   # the estimated CQ state varrho(z, t) on bins of one or two coordinates",
        f'# coords = ["{model.coords[-1]}"]',
        "# bins = [[-5.0, 5.0, 40]]",
    ]
    return "\n".join(lines) + "\n"
