"""The master equation of a time-dependent model: its clock form (``cqjax.clocked``) from tau = the
model's start time (seed 004 App. H, Layton, Oppenheim and Weller-Davies, "A healthier
semi-classical dynamics")."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..models._base import AbstractModel
from ..models._time import AbstractTimeDependentModel, clocked, is_time_dependent
from ..spec.initial import InitialState, MixtureState


def clocked_initial(model: AbstractTimeDependentModel, initial):
    """The initial state of ``clocked(model)``: tau = model.t and p_tau = 0, exactly."""
    if isinstance(initial, MixtureState):
        return MixtureState([clocked_initial(model, c) for c in initial.components], np.asarray(initial.weights))
    k = len(model.positions)
    mean = np.asarray(initial.z_mean, float)
    t0 = float(np.asarray(model.t))
    ext = np.concatenate([mean[:k], [t0], mean[k:], [0.0]])
    cov = None
    if initial.z_cov is not None:
        keep = [*range(k), *range(k + 1, 2 * k + 1)]
        cov = np.zeros((len(ext), len(ext)))
        cov[np.ix_(keep, keep)] = np.asarray(initial.z_cov, float)
    return InitialState(
        z_mean=jnp.asarray(ext),
        psi=initial.psi,
        z_cov=None if cov is None else jnp.asarray(cov),
        rho=initial.rho,
    )


def autonomous(model: AbstractModel, initial):
    """(model, initial) as the master equation integrates them: a time-dependent model's clock
    form from tau = model.t (``clocked``; its [master] keys name tau and p_tau too), anything
    else unchanged."""
    if not is_time_dependent(model):
        return model, initial
    return clocked(model), clocked_initial(model, initial)
