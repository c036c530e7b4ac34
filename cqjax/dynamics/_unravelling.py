"""Unravellings: which stochastic dynamics the trajectories follow (seed 004 sec. III-IV).

An unravelling turns a model's generator at a phase-space point into the coefficients of one
Ito step: classical drift, classical noise matrix, and the measurement operators K_i that drive
the quantum state. Solvers turn those into an update.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import PRNGKeyArray

from .._threefry import fold_in
from ..models._base import AbstractModel
from ._coefficients import AbstractStepCoefficients
from ._noise import check_noise, increments
from ._solver import AbstractSolver

Step = Callable[[tuple[Array, Array], Array], tuple[Array, Array]]
Draw = Callable[[Array, int], Array]


def diffusive_step(unravelling: AbstractUnravelling, model: AbstractModel, solver: AbstractSolver, dt) -> Step:
    """The step of a diffusive unravelling: ``solver`` on its coefficients with dW = xi sqrt(dt),
    xi ~ N(0, I_m) or the moment-matched increments of ``_noise`` (no dW for a deterministic
    unravelling)."""
    sqdt = jnp.sqrt(dt)
    coefficients = lambda z, q: unravelling.coefficients(model, z, q)

    def step(state, xi):
        z, q = state
        dW = xi * sqdt if unravelling.stochastic else None
        return solver.step(coefficients, z, q, dW, dt)

    return step


def normal_draw(key: PRNGKeyArray, m: int, dtype, noise: str = "gaussian") -> Draw:
    """Increments xi (block_len, m) for block b of one trajectory, from ``fold_in(key, b)``: standard
    normals, or with ``noise`` the cheaper three-point or Rademacher variables (``increments``)."""
    check_noise(noise)
    return lambda b, length: increments(fold_in(key, b), (length, m), dtype, noise)


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
    weighted: ClassVar[bool]  # trajectories carry an unnormalised state whose norm is a weight (``Linear``)
    # the step reads a pure state only through ``solver.step`` (after which it may be normalised lazily)
    lazy_normalisation: ClassVar[bool] = False

    @abc.abstractmethod
    def noise_dim(self, model: AbstractModel, z: Array) -> int:
        """m, the number of independent increments (standard normals by default) a step consumes."""

    @abc.abstractmethod
    def make_step(self, model: AbstractModel, solver: AbstractSolver, dt) -> Step:
        """One trajectory's step ``(z, state), noise -> (z', state')``, unbatched."""

    @abc.abstractmethod
    def make_draw(self, key: PRNGKeyArray, m: int, dtype, noise: str = "gaussian") -> Draw:
        """``draw(block_index, block_len)``: one trajectory's noise for a block, step axis first;
        ``noise`` (one of ``NOISES``) is the law of the increments."""

    @abc.abstractmethod
    def coefficients(self, model: AbstractModel, z: Array, psi: Array) -> AbstractStepCoefficients:
        """Step coefficients at the classical point z and normalised state psi."""
