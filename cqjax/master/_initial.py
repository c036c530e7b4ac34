"""The initial CQ state as cell masses on the grid."""

from __future__ import annotations

import math

import numpy as np

from ..spec.initial import InitialState
from .grid import PhaseSpaceGrid


def initial_moments(initial: InitialState) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(initial.z_mean, float)
    cov = np.zeros((2, 2)) if initial.z_cov is None else np.asarray(initial.z_cov, float)
    return mean, cov


def initial_masses(initial: InitialState, grid: PhaseSpaceGrid, dtype) -> tuple[np.ndarray, float]:
    """Cell masses of N(z_mean, z_cov) |psi><psi| and the probability that lies off the grid.

    Exact cell integrals for an uncorrelated covariance (a point along an axis of zero variance:
    its cell); otherwise the density at 8 x 8 points per cell.
    """
    mean, cov = initial_moments(initial)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    weights = []
    for i in range(2):
        edges = grid.edges(i)
        if std[i] == 0:
            w = np.zeros(grid.cells[i])
            k = np.searchsorted(edges, mean[i], side="right") - 1
            if not 0 <= k < grid.cells[i]:
                raise ValueError(
                    f"initial.z_mean: {mean[i]} lies outside the master grid "
                    f"[{edges[0]:.4g}, {edges[-1]:.4g}] along axis {i}"
                )
            w[k] = 1.0
        else:
            cdf = 0.5 * (1 + np.vectorize(math.erf)((edges - mean[i]) / (std[i] * math.sqrt(2))))
            w = np.diff(cdf)
        weights.append(w)
    if std[0] > 0 and std[1] > 0 and abs(cov[0, 1]) > 1e-12 * std[0] * std[1]:
        sub = 8
        pts = [np.linspace(e[0], e[-1], (len(e) - 1) * sub + 1) for e in (grid.edges(0), grid.edges(1))]
        mid = [0.5 * (x[1:] + x[:-1]) for x in pts]
        qq, pp = np.meshgrid(*mid, indexing="ij")
        x = np.stack([qq - mean[0], pp - mean[1]], -1)
        inv = np.linalg.inv(cov)
        dens = np.exp(-0.5 * np.einsum("...i,ij,...j->...", x, inv, x)) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
        dv = (mid[0][1] - mid[0][0]) * (mid[1][1] - mid[1][0])
        mass = (dens * dv).reshape(grid.cells[0], sub, grid.cells[1], sub).sum(axis=(1, 3))
    else:
        mass = np.outer(weights[0], weights[1])
    rho_q = _initial_rho(initial)
    rho = mass[:, :, None, None] * rho_q
    return np.asarray(rho, dtype), float(1.0 - mass.sum())


def _initial_rho(initial: InitialState) -> np.ndarray:
    if initial.rho is not None:
        rho = np.asarray(initial.rho, complex)
        return rho / np.trace(rho).real
    psi = np.asarray(initial.psi, complex)
    psi = psi / np.linalg.norm(psi)
    return np.outer(psi, psi.conj())
