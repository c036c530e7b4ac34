"""The initial CQ state as cell masses on the grid (any number of axes)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..spec.initial import InitialState, MixtureState
from .grid import PhaseSpaceGrid

_SAMPLES = 2**22  # points at most for the density of a correlated Gaussian


def initial_moments(initial: InitialState | MixtureState) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(initial.z_mean, float)
    n = mean.shape[0]
    cov = np.zeros((n, n)) if initial.z_cov is None else np.asarray(initial.z_cov, float)
    return mean, cov


def _axis_weights(mean: float, std: float, edges: np.ndarray, axis: int) -> np.ndarray:
    """The probability of each cell along one axis (a point: its cell)."""
    if std == 0:
        w = np.zeros(len(edges) - 1)
        k = np.searchsorted(edges, mean, side="right") - 1
        if not 0 <= k < len(w):
            raise InputError(
                "z_mean", f"{mean} lies outside the master grid [{edges[0]:.4g}, {edges[-1]:.4g}] along axis {axis}"
            )
        w[k] = 1.0
        return w
    cdf = 0.5 * (1 + np.vectorize(math.erf)((edges - mean) / (std * math.sqrt(2))))
    return np.diff(cdf)


def _correlated_mass(mean: np.ndarray, cov: np.ndarray, grid: PhaseSpaceGrid, axes: list[int]) -> np.ndarray:
    """Cell masses of N(mean, cov) restricted to the correlated ``axes``, by the density at sub^k
    points per cell (sub = 8 in 2-D, fewer where that would exceed ``_SAMPLES`` points)."""
    cells = [grid.cells[a] for a in axes]
    sub = 8
    while sub > 1 and math.prod(cells) * sub ** len(axes) > _SAMPLES:
        sub //= 2
    mids = []
    for a in axes:
        x = np.linspace(grid.lo[a], grid.hi[a], grid.cells[a] * sub + 1)
        mids.append(0.5 * (x[1:] + x[:-1]))
    x = np.stack(np.meshgrid(*mids, indexing="ij"), -1) - mean[axes]
    c = cov[np.ix_(axes, axes)]
    dens = np.exp(-0.5 * np.einsum("...i,ij,...j->...", x, np.linalg.inv(c), x))
    dens /= np.sqrt((2 * np.pi) ** len(axes) * np.linalg.det(c))
    dv = math.prod(m[1] - m[0] for m in mids)
    return (dens * dv).reshape([v for n in cells for v in (n, sub)]).sum(axis=tuple(range(1, 2 * len(axes), 2)))


def initial_masses(initial: InitialState | MixtureState, grid: PhaseSpaceGrid, dtype) -> tuple[np.ndarray, float]:
    """Cell masses of N(z_mean, z_cov) |psi><psi| and the probability that lies off the grid; of a
    mixture, the weighted sum sum_k w_k N(z; m_k, C_k) rho_k of its components' cell masses.

    Exact cell integrals along uncorrelated axes (a point along an axis of zero variance: its
    cell); the axes with correlations among them by the density at several points per cell.
    """
    if isinstance(initial, MixtureState):
        parts = [initial_masses(c, grid, dtype) for c in initial.components]
        weights = np.asarray(initial.weights, float)
        rho = sum(w * np.asarray(r) for w, (r, _) in zip(weights, parts))
        return np.asarray(rho, dtype), float(sum(w * lost for w, (_, lost) in zip(weights, parts)))
    mean, cov = initial_moments(initial)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    n = grid.ndim
    corr = np.abs(cov - np.diag(np.diag(cov))) > 1e-12 * np.outer(std, std)
    correlated = [i for i in range(n) if std[i] > 0 and corr[i].any()]
    mass = np.ones(())
    for i in range(n):
        if i not in correlated:
            w = _axis_weights(float(mean[i]), float(std[i]), grid.edges(i), i)
            mass = np.multiply.outer(mass, w)
    if correlated:
        block = _correlated_mass(mean, cov, grid, correlated)
        mass = np.multiply.outer(mass, block)
        order = [i for i in range(n) if i not in correlated] + correlated
        mass = np.transpose(mass, np.argsort(order))
    rho = mass[..., None, None] * _initial_rho(initial)
    return np.asarray(rho, dtype), float(1.0 - mass.sum())


def _initial_rho(initial: InitialState) -> np.ndarray:
    if initial.rho is not None:
        rho = np.asarray(initial.rho, complex)
        return rho / np.trace(rho).real
    psi = np.asarray(initial.psi, complex)
    psi = psi / np.linalg.norm(psi)
    return np.outer(psi, psi.conj())
