"""Shared records for the inference tests: one shape per model (8 paths x 101 times), so that the
simulation, the filter and the likelihood's gradient compile once for all of them."""

from __future__ import annotations

import functools
from typing import ClassVar

import jax.numpy as jnp

import cqjax
from cqjax import pauli

T1, DT, PATHS = 1.0, 0.01, 8
PLUS = jnp.array([1.0, 1.0]) / 2**0.5


class RabiQubit(cqjax.AbstractDissipativeModel):
    """H = p^2/2 + lam q sz + delta/2 sx, noise sigma on p, extra dephasing gamma D[sz] beyond the
    saturated lam^2/(4 sigma^2) D[sz]. The Rabi term turns coherences into <sz>, which the record
    sees through dp = -lam <sz> dt + sigma dW: unlike Diosi or seed 000, where H commutes with sz and
    dephasing is invisible in the classical path, the excess decoherence is identifiable here."""

    lam: float = 2.0
    delta: float = 8.0
    sigma: float = 1.0
    gamma: float = 0.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        P = pauli()
        return 0.5 * z[1] ** 2 * jnp.eye(2) + self.lam * z[0] * P["sz"] + 0.5 * self.delta * P["sx"]

    def noise(self, z):
        return jnp.stack([jnp.zeros_like(z[0]), jnp.asarray(self.sigma, z.dtype) * jnp.ones_like(z[0])])[:, None]

    def dissipators(self, z):
        return jnp.asarray(self.gamma, z.dtype)[None], pauli()["sz"][None]

    def operators(self):
        return pauli()


DIOSI_INIT = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
RABI_INIT = cqjax.InitialState(z_mean=jnp.array([0.5, 0.0]), psi=jnp.array([1.0, 0.0]))


@functools.cache
def diosi_record(seed: int = 1, lam: float = 1.0, sigma: float = 1.0):
    """(data, simulated states) of the healed Diosi model, pure states."""
    return cqjax.simulate_paths(cqjax.Diosi(lam=lam, sigma=sigma), DIOSI_INIT, t1=T1, dt=DT, paths=PATHS, seed=seed)


@functools.cache
def seed000_record(seed: int = 2, gamma_q: float = 0.5):
    """(data, simulated density matrices) of seed 000 above saturation (gamma_c gamma_q > lam^2/16)."""
    model = cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=gamma_q)
    return cqjax.simulate_paths(model, DIOSI_INIT, t1=T1, dt=DT, paths=PATHS, seed=seed)


@functools.cache
def rabi_record(gamma: float, seed: int = 3, paths: int = 32):
    """(data, density matrices) of the Rabi qubit with excess dephasing gamma (mixed states)."""
    return cqjax.simulate_paths(RabiQubit(gamma=gamma), RABI_INIT, t1=T1, dt=DT, paths=paths, seed=seed, state="mixed")
