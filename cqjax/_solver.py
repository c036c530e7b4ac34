"""Fixed-step integrators for one trajectory (PHYSICS.md section 4).

Both solvers advance the classical point by Euler-Maruyama with the same Wiener increment dW
that drives the quantum state; they differ in the quantum update. Both have weak order 1.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from ._ops import apply, apply_each
from ._unravelling import StepCoefficients

__all__ = ["AbstractSolver", "Kraus", "EulerMaruyama"]


def _normalise(psi: Array) -> Array:
    return psi / jnp.sqrt(jnp.real(jnp.vdot(psi, psi)))


class AbstractSolver(eqx.Module):
    """A quantum update rule; the classical part is always Euler-Maruyama."""

    name: ClassVar[str]
    weak_order: ClassVar[float]

    def classical_update(self, z: Array, c: StepCoefficients, dW: Array | None, dt) -> Array:
        """Z + drift dt + sigma dW (Euler-Maruyama)."""
        dz = c.drift * dt
        if c.sigma is not None:
            dz = dz + c.sigma @ dW
        return z + dz

    @abc.abstractmethod
    def quantum_update(
        self, psi: Array, c: StepCoefficients, dW: Array | None, dt, diagonal: bool
    ) -> Array:
        """The normalised state after one step."""


def cayley(h: Array, psi: Array, dt, diagonal: bool) -> Array:
    """(I + i h dt/2)^-1 (I - i h dt/2) psi: unitary, exp(-i h dt) psi up to O(dt^3)."""
    if diagonal:  # real energies: (1 - ix) / (1 + ix) = ((1 - x^2) - 2ix) / (1 + x^2), x = h dt / 2
        x = 0.5 * dt * jnp.real(h)
        inv = 1.0 / (1.0 + x * x)
        return psi * jax.lax.complex((1.0 - x * x) * inv, -2.0 * x * inv)
    half = 0.5j * dt
    eye = jnp.eye(psi.shape[-1], dtype=psi.dtype)
    return jnp.linalg.solve(eye + half * h, psi - half * (h @ psi))


class Kraus(AbstractSolver):
    """Rouchon-Ralph Kraus step, psi -> U M psi / |M psi| (PHYSICS.md sec. 4), weak order 1.

    M = I - 1/2 sum K_i^2 dt + A + 1/2 A^2 - 1/2 sum K_i^2 dt,  A = sum_i K_i dY_i,
    with the innovation dY_i = dW_i + 2 <K_i> dt (the classical increment in record form,
    seed 004 A.11-A.13), and the unitary part split off as the Cayley transform U of
    exp(-i H_I dt): when H_I and the K_i commute the phases are then exact to O(dt^3) (a
    -i H_I dt term inside M, renormalised, rotates coherences too fast by a factor 1 + K^2 dt).
    The state stays normalised and bounded at any dt.
    """

    name: ClassVar[str] = "kraus"
    weak_order: ClassVar[float] = 1.0

    def quantum_update(self, psi, c, dW, dt, diagonal):
        v = psi
        if c.kappa is not None:
            dY = dW + 2.0 * c.mean_kappa * dt
            k_psi = apply(c.kappa, psi, diagonal)  # (m, d): K_i psi
            a_psi = dY @ k_psi  # A psi
            aa_psi = dY @ apply(c.kappa, a_psi, diagonal)  # A^2 psi
            kk_psi = jnp.sum(apply_each(c.kappa, k_psi, diagonal), axis=0)  # sum_i K_i^2 psi
            v = v - dt * kk_psi + a_psi + 0.5 * aa_psi
        return cayley(c.h, _normalise(v), dt, diagonal)


class EulerMaruyama(AbstractSolver):
    """Euler-Maruyama on eq. (12) followed by renormalisation, weak order 1.

    psi + [-i H_I - 1/2 sum (K_i - <K_i>)^2] psi dt + sum (K_i - <K_i>) psi dW_i, then /|.|.
    Without the renormalisation the norm error grows like sqrt(dt) per unit time.
    """

    name: ClassVar[str] = "euler-maruyama"
    weak_order: ClassVar[float] = 1.0

    def quantum_update(self, psi, c, dW, dt, diagonal):
        v = psi - 1j * dt * apply(c.h, psi, diagonal)
        if c.kappa is not None:
            mk = c.mean_kappa[:, None]
            kc_psi = apply(c.kappa, psi, diagonal) - mk * psi  # (K_i - <K_i>) psi
            kkc_psi = apply_each(c.kappa, kc_psi, diagonal) - mk * kc_psi
            v = v - 0.5 * dt * jnp.sum(kkc_psi, axis=0) + dW @ kc_psi
        return _normalise(v)


SOLVERS: dict[str, type[AbstractSolver]] = {"kraus": Kraus, "euler-maruyama": EulerMaruyama}
