"""Observables: products of classical coordinates and (at most) one quantum operator, and
per-trajectory products of expectation values.

Linear in the CQ state. A name is ``"*"``-joined factors, each a coordinate name or an operator name (``p``, ``q*p``,
``sz``, ``p*sz``); its value on a trajectory is the product of the coordinates times the
operator's expectation value. An operator is a dense (d, d) matrix or a ``PauliString`` (models
with many qubits, applied without 2^n x 2^n matrices); commuting Pauli strings may be multiplied
(``sz_1*sz_2`` is the operator sz^1 sz^2), a dense operator appears at most once. Built-ins:
``purity`` (Tr rho^2 of the state the solver produced, rho = |psi><psi|: 1 up to rounding for
pure-state unravellings; Tr rho^2 / (Tr rho)^2 for density matrices), ``norm_error``
(| <psi|psi> - 1 | or | Tr rho - 1 |).

Basis projectors: ``|k><k|`` (k = 0 .. d - 1, the model's basis) is an operator name for every
model with a dense d x d Hilbert space, so ``|0><0|`` is the population of branch 0.

The stopped mass (models with an absorbing rule, ``inside(z)``): the factor ``stopped`` is the
indicator 1_stopped(z) = 1 - inside(z) (1 once the rule has stopped the trajectory, where its
point and state stay frozen; else 0). Alone it is the fraction stopped; as a factor it restricts
any observable to the stopped trajectories: ``stopped*|0><0|`` = E[1_stopped <P_0>] (the branch
populations of the stopped mass, which add up to ``stopped``), ``stopped*sz``, ``stopped*q``. For a
model with named walls (``AbstractWalledModel``) ``stopped[wall]`` counts only what stopped beyond
that wall (``wall(z)``); the walls' ``stopped[...]`` add up to ``stopped``.
These are linear in the CQ state: on the master grid, the integral of f(z) Tr(O varrho(z)) over
the cells outside the domain (seed 004 App. C.3: I. Layton, J. Oppenheim and Z. Weller-Davies,
"A healthier semi-classical dynamics"). ``stopped*<sz>^2`` (the collapse of the stopped
trajectories) is a trajectory statistic like the other products of expectations below.

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
from ..models._base import AbstractAbsorbingModel, AbstractModel, AbstractWalledModel
from ..operators._ops import expect_dense
from ..operators._pauli import PauliString, multiply

BUILTINS = ("purity", "norm_error", "stopped")
_BRACKET = re.compile(r"^<([^<>]+)>(?:\^(\d+))?$")  # <O> or <O>^k
STOPPED_AT = re.compile(r"stopped\[\s*([^\[\]\s]+)\s*\]")  # stopped[wall]
KETBRA = re.compile(r"\|\s*(\d+)\s*>\s*<\s*(\d+)\s*\|")  # |k><l|
_MAX_PROJECTOR_DIM = 4096  # a basis projector |k><k| is a dense (d, d) matrix


class Observable(eqx.Module):
    """A parsed observable: coordinate indices, an optional operator, or a built-in; or (not
    linear in rho) coordinate indices times powers of expectation values."""

    name: str = eqx.field(static=True)
    coord_indices: tuple[int, ...] = eqx.field(static=True)
    operator: Array | PauliString | None
    builtin: str | None = eqx.field(static=True)
    inside: Callable | None = None  # the model's absorbing rule, for the factor ``stopped`` (1 - inside)
    expectations: tuple = ()  # operators O_i of the factors <O_i>^k_i
    powers: tuple[int, ...] = eqx.field(static=True, default=())
    fn: Callable | None = eqx.field(static=True, default=None)  # a user's f(z, rho)

    @property
    def linear(self) -> bool:
        """True when the ensemble mean is Tr(O varrho) integrated against a function of z (the
        coordinates, times 1_stopped for a ``stopped`` factor), so the master equation can compute
        it: not for ``purity``, ``norm_error``, products of expectations or functions f(z, rho)."""
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
        """Value on one trajectory at one time (0 off the stopped ones for a ``stopped`` factor)."""
        if (inside := self.inside) is not None:  # where, not a product: the rest may be NaN inside
            return jnp.where(inside(z), jnp.zeros((), z.dtype), self._value(z, psi))
        return self._value(z, psi)

    def _value(self, z: Array, psi: Array) -> Array:
        """The value without the ``stopped`` factor."""
        if (fn := self.fn) is not None:
            rho = psi / jnp.trace(psi) if psi.ndim == 2 else jnp.outer(psi, jnp.conj(psi)) / jnp.vdot(psi, psi)
            return jnp.real(jnp.asarray(fn(z, rho))).astype(z.dtype)
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


def _masked(name: str) -> str:
    """``name`` with every ket-bra ``|k><l|`` blanked (same length), so that its angle brackets
    are not read as an expectation's."""
    return KETBRA.sub(lambda m: "#" * len(m.group(0)), name)


def has_expectations(name: str) -> bool:
    """Whether an observable name has a factor in angle brackets ``<O>``: a product of
    expectations, not linear in the CQ state (a ket-bra ``|k><k|`` is an operator, not one)."""
    return "<" in _masked(name)


def _split_factors(name: str, field: str) -> list[str]:
    """``name`` split at the ``*`` outside angle brackets."""
    factors, depth, start = [], 0, 0
    for k, c in enumerate(_masked(name)):
        depth += {"<": 1, ">": -1}.get(c, 0)
        if not 0 <= depth <= 1:
            raise InputError(field, f"{name!r}: unbalanced or nested angle brackets")
        if c == "*" and depth == 0:
            factors.append(name[start:k].strip())
            start = k + 1
    if depth != 0:
        raise InputError(field, f"{name!r}: unbalanced angle brackets")
    return factors + [name[start:].strip()]


def _projector(factor: str, name: str, model: AbstractModel, field: str) -> Array | None:
    """The basis projector |k><k| (dense (d, d)) named by ``factor``, or None if it is no ket-bra."""
    match = KETBRA.fullmatch(factor)
    if match is None:
        return None
    k, other = int(match.group(1)), int(match.group(2))
    if k != other:
        raise InputError(field, f"{name!r}: {factor!r} is not Hermitian; only basis projectors |k><k| are operators")
    d = jax.eval_shape(model.hamiltonian, jnp.zeros(model.n_coords)).shape[-1]
    if k >= d:
        raise InputError(field, f"{name!r}: {factor!r} is outside the model's basis |0> .. |{d - 1}>")
    if d > _MAX_PROJECTOR_DIM:
        raise InputError(
            field,
            f"{name!r}: {factor!r} would be a dense {d} x {d} matrix; use products of the model's operators "
            "(for qubits, (1 + sz_i) / 2 through sz_i)",
        )
    return jnp.zeros((d, d)).at[k, k].set(1.0)


def _operator_product(
    text: str, name: str, ops: Mapping, field: str, model: AbstractModel
) -> tuple[Array | PauliString, str]:
    """The operator named by ``text`` (names joined by ``*``: one dense operator or basis
    projector, or commuting Pauli strings)."""
    operator, op_name = None, None
    for factor in text.split("*"):
        factor = factor.strip()
        projector = _projector(factor, name, model, field)
        if projector is None and factor not in ops:
            raise InputError(field, f"unknown operator {factor!r} in {name!r}; operators are {sorted(ops)} and |k><k|")
        op = projector if projector is not None else ops[factor]
        op = op if isinstance(op, PauliString) else jnp.asarray(op)
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


def is_stopped_factor(factor: str) -> bool:
    """Whether ``factor`` is ``stopped`` or ``stopped[wall]``."""
    return factor == "stopped" or STOPPED_AT.fullmatch(factor) is not None


def _stopped_factor(name: str, factors: list[str], model: AbstractModel, field: str) -> Callable | None:
    """The domain that a ``stopped`` factor (at most one) counts outside of: the model's ``inside``
    for ``stopped``; for ``stopped[wall]`` (an ``AbstractWalledModel``) inside(z) or beyond another
    wall; None without such a factor."""
    stops = [f for f in factors if is_stopped_factor(f)]
    if not stops:
        return None
    if len(stops) > 1:
        raise InputError(
            field,
            f"{name!r}: the factor 'stopped' appears {len(stops)} times; once is enough (1_stopped^2 = 1_stopped)",
        )
    if not isinstance(model, AbstractAbsorbingModel):
        raise InputError(field, f"'stopped' needs a model with an absorbing rule; {type(model).__name__} has none")
    at = STOPPED_AT.fullmatch(stops[0])
    if at is None:
        return model.inside
    if not isinstance(model, AbstractWalledModel):
        raise InputError(
            field, f"{name!r}: {stops[0]!r} needs a model with named walls; {type(model).__name__} has one domain only"
        )
    if at.group(1) not in model.walls:
        raise InputError(field, f"{name!r}: unknown wall {at.group(1)!r}; the walls are {list(model.walls)}")
    return jax.tree_util.Partial(_inside_or_beyond_another, model, model.walls.index(at.group(1)))


def _inside_or_beyond_another(model: AbstractWalledModel, wall: int | Array, z: Array) -> Array:
    """Not counted by ``stopped[wall]``: inside the domain, or beyond another wall."""
    return model.inside(z) | (model.wall(z) != wall)


def _unbracketed(factor: str) -> str:
    """``<O>^k`` -> ``O`` (other factors as they are)."""
    bracket = _BRACKET.match(_masked(factor))
    return factor if bracket is None else factor[bracket.start(1) : bracket.end(1)]


def parse_observable(
    name: str | Observable, model: AbstractModel, field: str = "observables", *, trajectories: bool = False
) -> Observable:
    """Parse ``name`` against the model's coordinates and operators; errors name the field. An
    ``Observable`` passes through (its operator checked against the model's d); one defined by a
    function f(z, rho) only where ``trajectories`` (the master equation reads operators off its grid)."""
    if isinstance(name, Observable):
        return _checked(name, model, field, trajectories)
    if name in ("purity", "norm_error"):
        return Observable(name=name, coord_indices=(), operator=None, builtin=name)
    coords, ops = model.coords, model.operators()
    factors = _split_factors(name, field)
    inside = _stopped_factor(name, factors, model, field)
    indices, op_factors, expectations, powers = [], [], [], []
    for factor in factors:
        bracket = _BRACKET.match(_masked(factor))
        if is_stopped_factor(factor):
            continue
        if factor in coords:
            indices.append(coords.index(factor))
        elif bracket:
            power = int(bracket.group(2) or 1)
            if power < 1:
                raise InputError(field, f"{name!r}: the power of {factor!r} must be >= 1")
            expectations.append(_operator_product(_unbracketed(factor), name, ops, field, model)[0])
            powers.append(power)
        elif factor in ops or KETBRA.fullmatch(factor):
            op_factors.append(factor)
        else:
            raise InputError(
                field,
                f"unknown factor {factor!r} in {name!r}; coordinates are {list(coords)}, operators "
                f"{sorted(ops)} and |k><k|, expectations <operator> or <operator>^k, the factor 'stopped' "
                "(absorbing models) or 'stopped[wall]' (models with named walls), built-ins 'purity', 'norm_error'",
            )
    if powers and op_factors:
        raise InputError(
            field,
            f"{name!r} mixes an operator ({op_factors[0]!r}) with expectations in brackets; write "
            f"<{op_factors[0]}> for its expectation on each trajectory",
        )
    if powers and sum(powers) < 2:
        linear = "*".join(_unbracketed(f) for f in factors)
        raise InputError(
            field,
            f"{name!r} is linear in rho, write {linear!r}; brackets are for products of expectations such as <sz>^2",
        )
    operator = _operator_product("*".join(op_factors), name, ops, field, model)[0] if op_factors else None
    return Observable(
        name=name,
        coord_indices=tuple(indices),
        operator=operator,
        builtin=None,
        inside=inside,
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
