"""Observables: products of classical coordinates and (at most) one quantum operator, and
per-trajectory products of expectation values.

Linear in the CQ state. A name is ``"*"``-joined factors, each a coordinate name or an operator name (``p``, ``q*p``,
``sz``, ``p*sz``); its value on a trajectory is the product of the coordinates times the
operator's expectation value. An operator is a dense (d, d) matrix or a ``PauliString`` (models
with many qubits, applied without 2^n x 2^n matrices); commuting Pauli strings may be multiplied
(``sz_1*sz_2`` is the operator sz^1 sz^2), a dense operator appears at most once. Built-ins:
``purity`` (Tr rho^2 of the state the solver produced, rho = |psi><psi|: 1 up to rounding for
pure-state unravellings; Tr rho^2 / (Tr rho)^2 for density matrices), ``norm_error``
(| <psi|psi> - 1 | or | Tr rho - 1 |) and ``stopped`` (1 once the model's absorbing rule has
stopped the trajectory, else 0).

Not linear in the CQ state (products of expectations). A factor in angle brackets ``<O>`` is the
trajectory's expectation value <O>_t = <psi|O|psi> / <psi|psi> (Tr(O rho) / Tr rho), and may
carry an integer power, ``<O>^k``; such factors multiply each other and coordinates:
``<sz>^2`` (the collapse law E[<sz>_t^2], seed 004 eq. C.8), ``<sz>*<sx>``, ``p*<sz>^2``,
``<sz_1*sz_2>^2`` (inside the brackets, operators joined by ``*`` as above). The ensemble mean is
E[prod_i <O_i>_t^{k_i} prod_j z_j], which is not Tr(O varrho) for any O once the total power
of the brackets is 2 or more: the CQ master equation cannot compute it (``cqjax master`` and
``cqjax compare`` skip it, saying so; ``Observable.linear`` is False). ``<sz>^2`` is not
``sz*sz``: the latter would be the operator sz^2 = I (and is refused as two operators). A name
whose brackets have total power 1 (``<sz>``, ``p*<sz>``) is refused: it is the linear ``sz``,
``p*sz``.

From Python an observable may also be an ``Observable`` built directly: ``Observable.of_operator``
(any Hermitian (d, d) matrix or ``PauliString``) or ``Observable.of_function`` (a function
f(z, rho) -> real scalar, evaluated on trajectories only, not linear in the CQ state);
``parse_observable`` passes it through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from ..errors import InputError
from ..models._base import AbstractAbsorbingModel, AbstractModel
from ..operators._ops import expect_dense
from ..operators._pauli import PauliString, multiply

BUILTINS = ("purity", "norm_error", "stopped")
_BRACKET = re.compile(r"^<([^<>]+)>(?:\^(\d+))?$")  # <O> or <O>^k


class Observable(eqx.Module):
    """A parsed observable: coordinate indices, an optional operator, or a built-in; or (not
    linear in rho) coordinate indices times powers of expectation values."""

    name: str = eqx.field(static=True)
    coord_indices: tuple[int, ...] = eqx.field(static=True)
    operator: Array | PauliString | None
    builtin: str | None = eqx.field(static=True)
    inside: Callable | None = None  # the model's absorbing rule, for the built-in ``stopped``
    expectations: tuple = ()  # operators O_i of the factors <O_i>^k_i
    powers: tuple[int, ...] = eqx.field(static=True, default=())
    fn: Callable | None = eqx.field(static=True, default=None)  # a user's f(z, rho)

    @property
    def linear(self) -> bool:
        """True when the ensemble mean is Tr(O varrho) integrated against a function of z, so the
        master equation can compute it: not for built-ins, products of expectations or functions f(z, rho)."""
        return self.builtin is None and not self.powers and self.fn is None

    def __hash__(self):  # by name and identity, so that results can be keyed by a ready-made observable
        return hash((self.name, id(self)))

    @classmethod
    def of_operator(cls, name: str, operator) -> Observable:
        """<O> for a Hermitian operator: a (d, d) array (anything ``jnp.asarray`` takes) or a ``PauliString``."""
        op = operator if isinstance(operator, PauliString) else jnp.asarray(operator)
        if not isinstance(op, PauliString) and (op.ndim != 2 or op.shape[0] != op.shape[1]):
            raise InputError(
                "observables", f"{name!r}: an operator must be a square (d, d) matrix, got shape {op.shape}"
            )
        return cls(name=name, coord_indices=(), operator=op, builtin=None)

    @classmethod
    def of_function(cls, name: str, fn: Callable) -> Observable:
        """f(z, rho) -> real scalar on one trajectory (rho = |psi><psi| / <psi|psi> for pure states).
        The function is static for ``jax.jit``: a new function object compiles the kernel anew."""
        return cls(name=name, coord_indices=(), operator=None, builtin=None, fn=fn)

    def __call__(self, z: Array, psi: Array) -> Array:
        """Value on one trajectory at one time."""
        if (fn := self.fn) is not None:
            rho = psi / jnp.trace(psi) if psi.ndim == 2 else jnp.outer(psi, jnp.conj(psi)) / jnp.vdot(psi, psi)
            return jnp.real(jnp.asarray(fn(z, rho))).astype(z.dtype)
        if self.builtin == "stopped":
            assert self.inside is not None  # set with the built-in (parse_observable)
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
        for op, k in zip(self.expectations, self.powers):
            value = value * _expect(op, psi) ** k
        if isinstance(self.operator, PauliString):
            value = value * self.operator.expect(psi)
        elif self.operator is not None:
            value = value * expect_dense(self.operator.astype(psi.dtype), psi)
        return value


def _expect(op: Array | PauliString, psi: Array) -> Array:
    """<O> in the (not necessarily normalised) state psi or rho."""
    if isinstance(op, PauliString):
        return op.expect(psi)
    return expect_dense(op.astype(psi.dtype), psi)


def _split_factors(name: str, field: str) -> list[str]:
    """``name`` split at the ``*`` outside angle brackets."""
    factors, depth, start = [], 0, 0
    for k, c in enumerate(name):
        depth += {"<": 1, ">": -1}.get(c, 0)
        if not 0 <= depth <= 1:
            raise InputError(field, f"{name!r}: unbalanced or nested angle brackets")
        if c == "*" and depth == 0:
            factors.append(name[start:k].strip())
            start = k + 1
    if depth != 0:
        raise InputError(field, f"{name!r}: unbalanced angle brackets")
    return factors + [name[start:].strip()]


def _operator_product(text: str, name: str, ops: Mapping, field: str) -> tuple[Array | PauliString, str]:
    """The operator named by ``text`` (names joined by ``*``: one dense operator or commuting Pauli strings)."""
    operator, op_name = None, None
    for factor in text.split("*"):
        factor = factor.strip()
        if factor not in ops:
            raise InputError(field, f"unknown operator {factor!r} in {name!r}; operators are {sorted(ops)}")
        op = ops[factor] if isinstance(ops[factor], PauliString) else jnp.asarray(ops[factor])
        if operator is None:
            operator, op_name = op, factor
        elif isinstance(operator, PauliString) and isinstance(op, PauliString):
            try:
                operator, op_name = multiply(operator, op), f"{op_name}*{factor}"
            except ValueError:
                raise InputError(
                    field,
                    f"{name!r}: the operators {op_name!r} and {factor!r} anticommute, so their "
                    "product is not Hermitian",
                ) from None
        else:
            raise InputError(field, f"{name!r} has two operators ({op_name!r}, {factor!r}); at most one is allowed")
    if operator is None or op_name is None:  # text.split gives at least one factor
        raise InputError(field, f"{name!r}: no operator in {text!r}")
    return operator, op_name


def parse_observable(
    name: str | Observable, model: AbstractModel, field: str = "observables", *, trajectories: bool = False
) -> Observable:
    """Parse ``name`` against the model's coordinates and operators; errors name the field. An
    ``Observable`` passes through (its operator checked against the model's d); one defined by a
    function f(z, rho) only where ``trajectories`` (the master equation reads operators off its grid)."""
    if isinstance(name, Observable):
        return _checked(name, model, field, trajectories)
    if name == "stopped":
        if not isinstance(model, AbstractAbsorbingModel):
            raise InputError(field, f"'stopped' needs a model with an absorbing rule; {type(model).__name__} has none")
        return Observable(name=name, coord_indices=(), operator=None, builtin=name, inside=model.inside)
    if name in BUILTINS:
        return Observable(name=name, coord_indices=(), operator=None, builtin=name)
    coords, ops = model.coords, model.operators()
    indices, op_factors, expectations, powers = [], [], [], []
    for factor in _split_factors(name, field):
        bracket = _BRACKET.match(factor)
        if factor in coords:
            indices.append(coords.index(factor))
        elif bracket:
            power = int(bracket.group(2) or 1)
            if power < 1:
                raise InputError(field, f"{name!r}: the power of {factor!r} must be >= 1")
            expectations.append(_operator_product(bracket.group(1), name, ops, field)[0])
            powers.append(power)
        elif factor in ops:
            op_factors.append(factor)
        else:
            raise InputError(
                field,
                f"unknown factor {factor!r} in {name!r}; coordinates are {list(coords)}, "
                f"operators {sorted(ops)}, expectations <operator> or <operator>^k, built-ins {list(BUILTINS)}",
            )
    if powers and op_factors:
        raise InputError(
            field,
            f"{name!r} mixes an operator ({op_factors[0]!r}) with expectations in brackets; write "
            f"<{op_factors[0]}> for its expectation on each trajectory",
        )
    if powers and sum(powers) < 2:
        linear = name.replace("<", "").replace(">", "")
        raise InputError(
            field,
            f"{name!r} is linear in rho, write {linear!r}; brackets are for products of expectations such as <sz>^2",
        )
    operator = _operator_product("*".join(op_factors), name, ops, field)[0] if op_factors else None
    return Observable(
        name=name,
        coord_indices=tuple(indices),
        operator=operator,
        builtin=None,
        expectations=tuple(expectations),
        powers=tuple(powers),
    )


def _checked(obs: Observable, model: AbstractModel, field: str, trajectories: bool) -> Observable:
    """A ready-made observable, refused where it cannot be evaluated."""
    if obs.fn is not None and not trajectories:
        raise InputError(
            field,
            f"{obs.name!r} is a function f(z, rho), evaluated on trajectories only; the master equation "
            "takes observable names and operators",
        )
    if obs.operator is not None:
        d = jax.eval_shape(model.hamiltonian, jnp.zeros(model.n_coords)).shape[-1]
        shape = (obs.operator.dim,) * 2 if isinstance(obs.operator, PauliString) else obs.operator.shape
        if shape != (d, d):
            raise InputError(field, f"{obs.name!r}: the operator has shape {shape}, the model's d = {d}")
    return obs
