"""Free parameters of a model as one vector: selection, validation and the map from an
unconstrained vector (log for positive parameters) to the model."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..models._base import AbstractModel

# parameters that are positive by their meaning (noise amplitudes, masses, rates, hbar)
POSITIVE = frozenset({"sigma", "m", "M", "G", "gamma", "gamma_c", "gamma_q", "hbar", "omega", "tau", "rate"})


def parameter_names(model: AbstractModel) -> list[str]:
    """The model's numeric parameters (fields that are numbers or scalar arrays, not static)."""
    names = []
    for f in dataclasses.fields(model):
        if f.metadata.get("static", False):
            continue
        value = getattr(model, f.name)
        if isinstance(value, (int, float)) or (hasattr(value, "shape") and jnp.shape(value) == ()):
            names.append(f.name)
    return names


def check_free(model: AbstractModel, free, positive=None) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Validate the names of the free parameters; return them and which are kept positive (by
    default those in ``POSITIVE``). A positive parameter must start > 0."""
    free = tuple(free)
    allowed = parameter_names(model)
    if not free:
        raise ValueError("free: name at least one parameter to fit")
    if len(set(free)) != len(free):
        raise ValueError(f"free: a parameter is named twice: {list(free)}")
    for name in free:
        if name not in allowed:
            raise ValueError(f"free: {name!r} is not a parameter of {type(model).__name__}; parameters: {allowed}")
    positive = POSITIVE if positive is None else frozenset(positive)
    for name in positive:
        if name in free and not float(getattr(model, name)) > 0:
            raise ValueError(f"free: {name!r} is kept positive (log scale) but starts at {float(getattr(model, name))}")
    return free, tuple(name in positive for name in free)


def get_values(model: AbstractModel, names: tuple[str, ...]) -> Float[Array, " k"]:
    return jnp.stack([jnp.asarray(getattr(model, n), jnp.float64) for n in names])


def with_values(model: AbstractModel, names: tuple[str, ...], theta: Float[Array, " k"]) -> AbstractModel:
    """The model with parameters ``names`` set to ``theta`` (differentiable)."""
    return eqx.tree_at(lambda m: [getattr(m, n) for n in names], model, [theta[i] for i in range(len(names))])


def to_natural(u: Float[Array, " k"], positive) -> Float[Array, " k"]:
    """theta = exp(u) for positive parameters (``positive``: booleans), u otherwise."""
    positive = jnp.asarray(positive)
    return jnp.where(positive, jnp.exp(jnp.where(positive, u, 0.0)), u)


def to_unconstrained(theta: Float[Array, " k"], positive) -> Float[Array, " k"]:
    positive = jnp.asarray(positive)
    return jnp.where(positive, jnp.log(jnp.where(positive, theta, 1.0)), theta)
