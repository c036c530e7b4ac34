"""Observables: products of classical coordinates and at most one quantum operator.

A name is ``"*"``-joined factors, each a coordinate name or an operator name (``p``, ``q*p``,
``sz``, ``p*sz``); its value on a trajectory is the product of the coordinates times the
operator's expectation value. Built-ins: ``purity`` (Tr rho^2 of the state the
solver produced, rho = |psi><psi|: 1 up to rounding for pure-state unravellings) and
``norm_error`` (| <psi|psi> - 1 |).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from ._model import AbstractModel
from ._ops import expect_dense

__all__ = ["Observable", "parse_observable"]

BUILTINS = ("purity", "norm_error")


class Observable(eqx.Module):
    """A parsed observable: coordinate indices, an optional operator, or a built-in."""

    name: str = eqx.field(static=True)
    coord_indices: tuple[int, ...] = eqx.field(static=True)
    operator: Array | None
    builtin: str | None = eqx.field(static=True)

    def __call__(self, z: Array, psi: Array) -> Array:
        """Value on one trajectory at one time."""
        norm2 = jnp.real(jnp.vdot(psi, psi))
        if self.builtin == "purity":
            return norm2**2  # Tr rho^2 for rho = |psi><psi| as the solver left it
        if self.builtin == "norm_error":
            return jnp.abs(norm2 - 1)
        value = jnp.ones((), z.dtype)
        for i in self.coord_indices:
            value = value * z[i]
        if self.operator is not None:
            value = value * expect_dense(self.operator.astype(psi.dtype), psi)
        return value


def parse_observable(name: str, model: AbstractModel, field: str = "observables.names") -> Observable:
    """Parse ``name`` against the model's coordinates and operators; errors name the field."""
    if name in BUILTINS:
        return Observable(name=name, coord_indices=(), operator=None, builtin=name)
    coords = model.coords
    ops = model.operators()
    indices, operator, op_name = [], None, None
    for factor in name.split("*"):
        factor = factor.strip()
        if factor in coords:
            indices.append(coords.index(factor))
        elif factor in ops:
            if operator is not None:
                raise ValueError(
                    f"{field}: {name!r} has two operators ({op_name!r}, {factor!r}); at most one is allowed"
                )
            operator, op_name = jnp.asarray(ops[factor]), factor
        else:
            raise ValueError(
                f"{field}: unknown factor {factor!r} in {name!r}; coordinates are {list(coords)}, "
                f"operators {sorted(ops)}, built-ins {list(BUILTINS)}"
            )
    return Observable(name=name, coord_indices=tuple(indices), operator=operator, builtin=None)
