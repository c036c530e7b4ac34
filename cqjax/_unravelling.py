"""Unravellings: which stochastic dynamics the trajectories follow (seed 004 sec. III-IV).

An unravelling turns a model's generator at a phase-space point into the coefficients of one
Ito step: classical drift, classical noise matrix, and the Hermitian measurement operators
K_i that drive the quantum state. Solvers (``_solver.py``) turn those into an update.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from ._model import AbstractModel, generator, is_diagonal
from ._ops import combine, expect

__all__ = ["AbstractUnravelling", "Healed", "MeanField"]


class StepCoefficients(eqx.Module):
    """dZ = drift dt + sigma dW;  d|psi> driven by H_I = ``h`` and K_i = ``kappa[i]``.

    With innovations dY_i = dW_i + 2 <K_i> dt the quantum state obeys the stochastic
    Schrodinger equation of unit-efficiency diffusive measurement of the K_i:
    d|psi> = [-i h - 1/2 sum_i (K_i - <K_i>)^2] |psi> dt + sum_i (K_i - <K_i>) |psi> dW_i.
    ``sigma`` and ``kappa`` are None for deterministic dynamics.
    """

    drift: Array
    h: Array
    sigma: Array | None
    kappa: Array | None
    mean_kappa: Array | None


class AbstractUnravelling(eqx.Module):
    """Maps (model, z, psi) to the coefficients of the step at that point."""

    name: ClassVar[str]
    stochastic: ClassVar[bool]

    @abc.abstractmethod
    def coefficients(self, model: AbstractModel, z: Array, psi: Array) -> StepCoefficients:
        """Step coefficients at the classical point z and normalised state psi."""


class Healed(AbstractUnravelling):
    """Healed semi-classical equations, seed 004 eqs. (11)-(12).

    dZ_i = {Z_i, H_C} dt + <F_i> dt + sigma_ij dW_j,  F_j = {Z_j, H_I};
    K_i = 1/2 pinv(sigma)_ij F_j, so that eq. (12) reads
    d|psi> = -i H_I |psi> dt + (K - <K>)|psi> dW - 1/2 (K - <K>)^2 |psi> dt.
    """

    name: ClassVar[str] = "healed"
    stochastic: ClassVar[bool] = True

    def coefficients(self, model, z, psi):
        gen = generator(model, z)
        mean_force = expect(gen.force, psi, is_diagonal(model))
        sigma = jnp.asarray(model.noise(z), dtype=z.dtype)
        sigma_pinv = jnp.linalg.pinv(sigma)  # (m, n)
        kappa = 0.5 * combine(sigma_pinv, gen.force)  # (m, d) or (m, d, d)
        return StepCoefficients(
            drift=gen.drift + mean_force,
            h=gen.h,
            sigma=sigma,
            kappa=kappa,
            mean_kappa=0.5 * sigma_pinv @ mean_force,
        )


class MeanField(AbstractUnravelling):
    """Standard semi-classical (mean-field) equations, seed 004 eqs. (13)-(14).

    dZ_i = {Z_i, H_C} dt + <{Z_i, H_I}> dt,  d|psi> = -i H_I |psi> dt. Deterministic.
    """

    name: ClassVar[str] = "mean-field"
    stochastic: ClassVar[bool] = False

    def coefficients(self, model, z, psi):
        gen = generator(model, z)
        return StepCoefficients(
            drift=gen.drift + expect(gen.force, psi, is_diagonal(model)),
            h=gen.h,
            sigma=None,
            kappa=None,
            mean_kappa=None,
        )


UNRAVELLINGS: dict[str, type[AbstractUnravelling]] = {
    "healed": Healed,
    "mean-field": MeanField,
}
