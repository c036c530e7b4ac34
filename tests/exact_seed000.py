"""Exact solution of the seed-000 partial Wigner equation (13) with A = sz (q is conserved).

Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory".

In the sz basis (a_0 = +1, a_1 = -1) every matrix element obeys a scalar advection-diffusion
equation in p: d rho_ab = -i (lam q / hbar)(a_a - a_b) rho_ab + (lam/2)(a_a + a_b) d_p rho_ab
+ gamma_c d_p^2 rho_ab - gamma_q (a_a - a_b)^2 rho_ab. From rho(q, p, 0) = g(q) N(p; p0, s^2) |psi><psi|:
rho_00 = |psi_0|^2 g(q) N(p; p0 - lam t, V), rho_11 = |psi_1|^2 g(q) N(p; p0 + lam t, V),
rho_01 = psi_0 psi_1^* g(q) N(p; p0, V) exp(-2 i lam q t / hbar - 4 gamma_q t), V = s^2 + 2 gamma_c t.
"""

from math import erf, sqrt

import numpy as np


def _cell_masses(edges, mean, var):
    if var == 0:
        out = np.zeros(len(edges) - 1)
        out[np.searchsorted(edges, mean, side="right") - 1] = 1.0
        return out
    cdf = np.array([0.5 * (1 + erf((e - mean) / sqrt(2 * var))) for e in edges])
    return np.diff(cdf)


def p_marginal_masses(edges, t, q, psi, p0, s2, lam, gamma_c, gamma_q, hbar=1.0):
    """Cell masses (N, 2, 2) of varrho(q, ., t) along p for a point q (g = delta(q - q0))."""
    psi = np.asarray(psi, complex)
    var = s2 + 2 * gamma_c * t
    out = np.zeros((len(edges) - 1, 2, 2), complex)
    out[:, 0, 0] = abs(psi[0]) ** 2 * _cell_masses(edges, p0 - lam * t, var)
    out[:, 1, 1] = abs(psi[1]) ** 2 * _cell_masses(edges, p0 + lam * t, var)
    coh = psi[0] * np.conj(psi[1]) * np.exp(-2j * lam * q * t / hbar - 4 * gamma_q * t)
    out[:, 0, 1] = coh * _cell_masses(edges, p0, var)
    out[:, 1, 0] = np.conj(out[:, 0, 1])
    return out


def min_eig_relative(t, p0, s2, lam, gamma_c, gamma_q, psi):
    """min_p lambda_min(varrho(p)) / max_p Tr varrho(p) of the continuum solution (point q)."""
    p = np.linspace(p0 - 12, p0 + 12, 24001)
    var = s2 + 2 * gamma_c * t
    g = lambda m: np.exp(-((p - m) ** 2) / (2 * var))
    a = abs(psi[0]) ** 2 * g(p0 - lam * t)
    b = abs(psi[1]) ** 2 * g(p0 + lam * t)
    c = abs(psi[0] * psi[1]) * g(p0) * np.exp(-4 * gamma_q * t)
    low = 0.5 * (a + b) - np.sqrt(0.25 * (a - b) ** 2 + c**2)
    return low.min() / (a + b).max()
