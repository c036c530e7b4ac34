"""Observables: products of classical coordinates and (at most) one quantum operator.

A name is ``"*"``-joined factors, each a coordinate name or an operator name (``p``, ``q*p``,
``sz``, ``p*sz``); its value on a trajectory is the product of the coordinates times the
operator's expectation value. An operator is a dense (d, d) matrix or a ``PauliString`` (models
with many qubits, applied without 2^n x 2^n matrices); commuting Pauli strings may be multiplied
(``sz_1*sz_2`` is the operator sz^1 sz^2), a dense operator appears at most once. Built-ins:
``purity`` (Tr rho^2 of the state the solver produced, rho = |psi><psi|: 1 up to rounding for
pure-state unravellings; Tr rho^2 / (Tr rho)^2 for density matrices), ``norm_error``
(| <psi|psi> - 1 | or | Tr rho - 1 |) and ``stopped`` (1 once the model's absorbing rule has
stopped the trajectory, else 0).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from ..models._base import AbstractAbsorbingModel, AbstractModel
from ..operators._ops import expect_dense
from ..operators._pauli import PauliString, multiply

BUILTINS = ("purity", "norm_error", "stopped")


class Observable(eqx.Module):
    """A parsed observable: coordinate indices, an optional operator, or a built-in."""

    name: str = eqx.field(static=True)
    coord_indices: tuple[int, ...] = eqx.field(static=True)
    operator: Array | PauliString | None
    builtin: str | None = eqx.field(static=True)
    inside: Callable | None = None  # the model's absorbing rule, for the built-in ``stopped``

    def __call__(self, z: Array, psi: Array) -> Array:
        """Value on one trajectory at one time."""
        if self.builtin == "stopped":
            return jnp.where(self.inside(z), 0.0, 1.0).astype(z.dtype)
        if psi.ndim == 2:  # a density matrix
            norm2 = jnp.real(jnp.trace(psi))
            if self.builtin == "purity":
                return jnp.real(jnp.vdot(psi, psi)) / norm2**2  # Tr rho^2 / (Tr rho)^2
        else:
            norm2 = jnp.real(jnp.vdot(psi, psi))
        if self.builtin == "purity":
            return norm2**2  # Tr rho^2 for rho = |psi><psi| as the solver left it
        if self.builtin == "norm_error":
            return jnp.abs(norm2 - 1)
        value = jnp.ones((), z.dtype)
        for i in self.coord_indices:
            value = value * z[i]
        if isinstance(self.operator, PauliString):
            value = value * self.operator.expect(psi)
        elif self.operator is not None:
            value = value * expect_dense(self.operator.astype(psi.dtype), psi)
        return value


def parse_observable(name: str, model: AbstractModel, field: str = "observables.names") -> Observable:
    """Parse ``name`` against the model's coordinates and operators; errors name the field."""
    if name == "stopped":
        if not isinstance(model, AbstractAbsorbingModel):
            raise ValueError(
                f"{field}: 'stopped' needs a model with an absorbing rule; {type(model).__name__} has none"
            )
        return Observable(name=name, coord_indices=(), operator=None, builtin=name, inside=model.inside)
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
            op = ops[factor] if isinstance(ops[factor], PauliString) else jnp.asarray(ops[factor])
            if operator is None:
                operator, op_name = op, factor
            elif isinstance(operator, PauliString) and isinstance(op, PauliString):
                try:
                    operator, op_name = multiply(operator, op), f"{op_name}*{factor}"
                except ValueError:
                    raise ValueError(
                        f"{field}: {name!r}: the operators {op_name!r} and {factor!r} anticommute, so their "
                        "product is not Hermitian"
                    ) from None
            else:
                raise ValueError(
                    f"{field}: {name!r} has two operators ({op_name!r}, {factor!r}); at most one is allowed"
                )
        else:
            raise ValueError(
                f"{field}: unknown factor {factor!r} in {name!r}; coordinates are {list(coords)}, "
                f"operators {sorted(ops)}, built-ins {list(BUILTINS)}"
            )
    return Observable(name=name, coord_indices=tuple(indices), operator=operator, builtin=None)
