"""Unravellings: which stochastic dynamics the trajectories follow (seed 004 sec. III-IV).

An unravelling turns a model's generator at a phase-space point into the coefficients of one
Ito step: classical drift, classical noise matrix, and the measurement operators K_i that drive
the quantum state. Solvers turn those into an update.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
from jax import Array

from ..models._base import AbstractModel
from ._coefficients import StepCoefficients


def classical_noise_dim(model: AbstractModel, z: Array) -> int:
    """m, the number of independent Wiener processes of the model's noise (columns of sigma)."""
    shape = jax.eval_shape(model.noise, z).shape
    if len(shape) != 2 or shape[0] != z.shape[-1]:
        raise ValueError(f"model.noise(z) must have shape (n, m) with n = {z.shape[-1]}, got {shape}")
    return shape[1]


class AbstractUnravelling(eqx.Module):
    """Maps (model, z, psi) to the coefficients of the step at that point."""

    name: ClassVar[str]
    stochastic: ClassVar[bool]

    @abc.abstractmethod
    def noise_dim(self, model: AbstractModel, z: Array) -> int:
        """m, the number of independent standard normals a step consumes."""

    @abc.abstractmethod
    def coefficients(self, model: AbstractModel, z: Array, psi: Array) -> StepCoefficients:
        """Step coefficients at the classical point z and normalised state psi."""
