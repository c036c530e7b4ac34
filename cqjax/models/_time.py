"""Time-dependent coefficients (seed 004 App. H: H, sigma and the Lindblad data may depend on t).

A time-dependent model reads the time from its field ``t``: its ``hamiltonian``/``energies``,
``noise`` and ``dissipators`` are those at time ``self.t``. The engine sets the field: a
trajectory's step from time t evaluates the model at ``model.t + t`` (runs start at the model's
``t``, 0 by default). The same dynamics as an autonomous model: ``clocked(model)`` adds a clock
coordinate tau (a position) with its conjugate p_tau, H -> H(z, tau) + p_tau, so that
d tau = dt, and the clock's conjugate p_tau feels no force (the time derivative of H is not
differentiated: a clock, not a dynamical degree of freedom) and no noise. The master equation
integrates this clocked model (its grid has a tau axis).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar, TypeGuard

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float

from ._base import (
    AbstractAbsorbingModel,
    AbstractDiagonalModel,
    AbstractDissipativeModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    AbstractPlanckModel,
    extra_dissipators,
    reduced_planck,
)

CLOCK = ("tau", "p_tau")


class AbstractTimeDependentModel(AbstractModel):
    """A model whose coefficients depend on t explicitly, through its field ``t`` (the time at
    which they are evaluated; the engine sets it along a run, which starts at the given ``t``)."""

    t: eqx.AbstractVar[Float[ArrayLike, ""]]

    def at(self, t: Float[ArrayLike, ""]) -> AbstractTimeDependentModel:
        """The model with its coefficients at time ``t``."""
        return eqx.tree_at(lambda m: m.t, self, t)


def is_time_dependent(model: AbstractModel) -> TypeGuard[AbstractTimeDependentModel]:
    return isinstance(model, AbstractTimeDependentModel)


def at_time(model: AbstractModel, t) -> AbstractModel:
    """``model`` at ``model.t + t`` (t: the time since the start of the run); an autonomous model as it is."""
    return model.at(model.t + t) if is_time_dependent(model) else model


def _split(model: AbstractModel, z: Array) -> tuple[Array, Array, Array]:
    """(the model's z, tau, p_tau) from a clocked point (q..., tau, p..., p_tau)."""
    k = len(model.positions)
    inner = jnp.concatenate([z[:k], z[k + 1 : 2 * k + 1]])
    return inner, z[k], z[2 * k + 1]


def _clock_time(model: AbstractTimeDependentModel, tau: Array) -> AbstractModel:
    return model.at(jax.lax.stop_gradient(tau))


class _ClockMixin(AbstractDissipativeModel, AbstractPlanckModel):
    model: eqx.AbstractVar[AbstractTimeDependentModel]
    positions: ClassVar[tuple[str, ...]]
    momenta: ClassVar[tuple[str, ...]]

    @property
    def positions(self) -> tuple[str, ...]:
        return tuple(self.model.positions) + (CLOCK[0],)

    @property
    def momenta(self) -> tuple[str, ...]:
        return tuple(self.model.momenta) + (CLOCK[1],)

    def noise(self, z: Float[Array, " n"]) -> Float[Array, "n m"]:
        inner, tau, _ = _split(self.model, z)
        s = jnp.asarray(_clock_time(self.model, tau).noise(inner), z.dtype)
        k = len(self.model.positions)
        zero = jnp.zeros((1, s.shape[1]), s.dtype)
        return jnp.concatenate([s[:k], zero, s[k:], zero])

    def operators(self) -> dict[str, Complex[Array, "d d"]]:
        return self.model.operators()

    def dissipators(self, z: Float[Array, " n"]):
        inner, tau, _ = _split(self.model, z)
        return extra_dissipators(_clock_time(self.model, tau), inner)

    def reduced_planck(self):
        return reduced_planck(self.model)

    def named_states(self) -> dict:
        own = getattr(self.model, "named_states", None)
        return own() if callable(own) else {}


class ClockedDiagonal(AbstractDiagonalModel, _ClockMixin):
    """A diagonal time-dependent model as an autonomous one with a clock coordinate (``clocked``)."""

    model: AbstractTimeDependentModel
    positions: ClassVar[tuple[str, ...]]
    momenta: ClassVar[tuple[str, ...]]

    def energies(self, z: Float[Array, " n"]) -> Float[Array, " d"]:
        inner, tau, p_tau = _split(self.model, z)
        return _clock_time(self.model, tau).energies(inner) + p_tau


class Clocked(_ClockMixin):
    """A time-dependent model as an autonomous one with a clock coordinate (``clocked``)."""

    model: AbstractTimeDependentModel
    positions: ClassVar[tuple[str, ...]]
    momenta: ClassVar[tuple[str, ...]]

    def hamiltonian(self, z: Float[Array, " n"]) -> Complex[Array, "d d"]:
        inner, tau, p_tau = _split(self.model, z)
        h = _clock_time(self.model, tau).hamiltonian(inner)
        return h + p_tau * jnp.eye(h.shape[-1], dtype=h.dtype)


def clocked(model: AbstractModel) -> Clocked | ClockedDiagonal:
    """The autonomous form of a time-dependent model: coordinates (q..., tau, p..., p_tau),
    H'(z, tau, p_tau) = H(z; t = tau) + p_tau, so d tau = dt and p_tau is a spectator (the clock's
    time derivative of H is not a force: it is not differentiated). Its trajectories from tau = t
    equal those of the explicit-t model. Healed (diagonal or matrix) models only."""
    if not is_time_dependent(model):
        raise ValueError(f"clocked: {type(model).__name__} is not a time-dependent model (AbstractTimeDependentModel)")
    for kind in (AbstractGeneralModel, AbstractJumpModel, AbstractAbsorbingModel):
        if isinstance(model, kind):
            raise ValueError(
                f"clocked: time-dependent {kind.__name__[8:]} models have no clock form yet "
                "(the master equation cannot integrate them; their trajectories can)"
            )
    return ClockedDiagonal(model) if isinstance(model, AbstractDiagonalModel) else Clocked(model)


def channels_may_appear(model: AbstractModel, z: Float[Array, " n"]) -> bool:
    """Whether a time-dependent model declares extra Lindblad channels (or is in general form):
    their rates may be zero at the start and not later, so the automatic choice of the pure-state
    unravelling, which the start alone decides for an autonomous model, is not safe."""
    if not is_time_dependent(model):
        return False
    if isinstance(model, AbstractGeneralModel):
        return True
    return isinstance(model, AbstractDissipativeModel) and jax.eval_shape(model.dissipators, z) is not None
