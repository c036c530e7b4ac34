"""The exact reference for a finite classical state space: the block ODE of seed 003 eq. 14 with z
discrete (J. Oppenheim, "A postquantum theory of classical gravity?"), K blocks rho(z) of d x d,
a linear system of size K d^2 solved by the matrix exponential, rho(t) = exp(t G) rho(0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.finite import (
    AbstractFiniteModel,
    check_finite_positivity,
    expm,
    finite_data,
    finite_observable,
    initial_probabilities,
)


@dataclass
class FiniteMasterResult:
    """Saved times, the block densities rho (T, K, d, d) and the observables' exact values (T,)."""

    t: np.ndarray
    rho: np.ndarray
    mean: dict[str, np.ndarray]


def finite_generator(model: AbstractFiniteModel) -> np.ndarray:
    """G as a (K d^2, K d^2) matrix acting on rho (K, d, d) flattened row-major."""
    data = finite_data(model)
    H, L, W = data["H"], data["L"], data["W"]
    K, d = H.shape[0], H.shape[-1]
    # Gamma(z) = sum_ab (sum_z' W^ab(z'|z)) L_b^dag L_a: the outflow, lam included in W(z|z)
    out = W.sum(axis=0)  # (K, A, A): [z', a, b] summed over the target
    gamma = np.einsum("zab,bji,ajk->zik", out, L.conj(), L)
    eye = np.eye(d)
    G = np.zeros((K, d, d, K, d, d), complex)
    for z in range(K):
        heff = H[z] - 0.5j * gamma[z]
        # -i (Heff rho - rho Heff^dag) on block z: rho -> -i Heff rho + i rho Heff^dag
        G[z, :, :, z] += -1j * np.einsum("ik,jl->ijkl", heff, eye) + 1j * np.einsum("ik,lj->ijkl", eye, heff.conj())
        for zp in range(K):
            # sum_ab W^ab(z|z') L_a rho(z') L_b^dag
            G[z, :, :, zp] += np.einsum("ab,aik,bjl->ijkl", W[z, zp], L, L.conj())
    return G.reshape(K * d * d, K * d * d)


def solve_finite(
    model: AbstractFiniteModel, p0, rho0, *, t1: float, n_saves: int, observables: tuple[str, ...] = ()
) -> FiniteMasterResult:
    """rho(z, t) = exp(t G) rho(z, 0) at n_saves + 1 evenly spaced times from the product state
    p0(z) rho0 (``p0``: probabilities (K,) or a state index); checked completely positive first."""
    check_finite_positivity(model)
    data = finite_data(model)
    K, d = data["H"].shape[0], data["H"].shape[-1]
    p0 = initial_probabilities(p0, K)
    rho0 = np.asarray(rho0, complex)
    rho0 = np.outer(rho0, rho0.conj()) if rho0.ndim == 1 else rho0
    rho0 = rho0 / np.trace(rho0).real
    x0 = (p0[:, None, None] * rho0).reshape(-1)
    G = finite_generator(model)
    t = np.linspace(0.0, t1, n_saves + 1)
    step = expm(G * (t1 / n_saves))
    xs = [x0]
    for _ in range(n_saves):
        xs.append(step @ xs[-1])
    rho = np.stack(xs).reshape(n_saves + 1, K, d, d)
    mean = {}
    for name in observables:
        f, op = finite_observable(name, model)
        mean[name] = np.einsum("z,tzij,ji->t", f, rho, op).real
    return FiniteMasterResult(t=t, rho=rho, mean=mean)
