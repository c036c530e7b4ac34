"""Floating-point precision of a run: the matching complex dtype and the cast of a model's parameters."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .models._base import AbstractModel


def complex_dtype(dtype):
    """The complex dtype matching a real one."""
    return jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64


def cast_model(model: AbstractModel, dtype) -> AbstractModel:
    """Cast the model's floating-point parameters to the run's precision (differentiable)."""

    def cast(x):
        if eqx.is_inexact_array(x) and not jnp.iscomplexobj(x):
            return x.astype(dtype)
        if isinstance(x, float):
            return jnp.asarray(x, dtype)
        return x

    return jax.tree.map(cast, model)
