"""Exact results for the healed linear Diosi model (seed 004 App. C.2), derived in the sz basis.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".

With K = -(lam/sigma) sz the record Y_t = W_t + 2 int <K> dt is the momentum, p_t = p0 + sigma Y_t.
Given the outcome s = +-1 (probability P_s(0), Born rule), Y_t = -2 (lam/sigma) s t + W_t, so
p_t ~ p0 - 2 lam s t + sigma W_t, and the conditional populations are
<sz>_t = tanh(artanh(<sz>_0) - 2 (lam/sigma) Y_t). The coherence rho_01 obeys (by Feynman-Kac on
the CQ master equation, where the back-reaction on rho_01 cancels) free diffusion in (q, p) with
decoherence Gamma = 2 lam^2 / sigma^2 and the phase 2 int (2 lam q + phi) dt.
"""

import numpy as np


def p_moments(t, mu_p, var_p, sz0, lam, sigma):
    """E[p_t] and Var[p_t] for p0 ~ N(mu_p, var_p) independent of the qubit."""
    mean = mu_p - 2 * lam * sz0 * t
    var = var_p + sigma**2 * t + 4 * lam**2 * t**2 * (1 - sz0**2)
    return mean, var


def q_mean(t, mu_q, mu_p, sz0, lam, m):
    return mu_q + mu_p * t / m - lam * sz0 * t**2 / m


def mean_sz_squared(t, sz0, lam, sigma, n_nodes=120):
    """E[<sz>_t^2] by Gauss-Hermite quadrature over W_t for each outcome."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    a0 = np.arctanh(sz0)
    total = 0.0
    for s, prob in ((1, (1 + sz0) / 2), (-1, (1 - sz0) / 2)):
        y = -2 * (lam / sigma) * s * t + np.sqrt(t) * x
        total += prob * np.sum(w * np.tanh(a0 - 2 * (lam / sigma) * y) ** 2)
    return total


def mean_coherence(t, rho01_0, q0, p0, lam, phi, sigma, m):
    """E[rho_01(t)] (ensemble, integrated over phase space) from a fixed (q0, p0)."""
    gamma = 2 * lam**2 / sigma**2
    mu_int_q = q0 * t + p0 * t**2 / (2 * m)
    var_int_q = sigma**2 * t**5 / (20 * m**2)
    return rho01_0 * np.exp(-gamma * t - 2j * phi * t - 4j * lam * mu_int_q - 8 * lam**2 * var_int_q)


def mean_field_coherence(t, rho01_0, q0, p0, sz0, lam, phi, m):
    """rho_01(t) of the mean-field equations from a fixed (q0, p0): pure dephasing-free rotation."""
    int_q = q0 * t + p0 * t**2 / (2 * m) - lam * sz0 * t**3 / (3 * m)
    return rho01_0 * np.exp(-2j * phi * t - 4j * lam * int_q)
