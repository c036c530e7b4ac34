"""Closed-form results that the simulations are checked against.

References (cited below by their short names):

- [LOW] (seed 004) I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics":
  the decoherence-diffusion trade-off (eq. 6), the healed semi-classical equations (eqs. 11-12),
  the standard (mean-field) semi-classical equations (eqs. 13-14) and the linear Diosi model
  (App. C.2, eqs. C.4-C.9).
- [L] (seed 000) I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
  classical-quantum dynamics from open quantum theory" (arXiv:2604.08024): the qubit-particle toy
  model H = lam q A, its open-system dynamics (eq. 12) in the partial Wigner picture (eq. 13),
  the positivity condition gamma_C gamma_Q >= lam^2 / 16 (eq. 14), its unravelling (eq. 15, whose
  printed noise terms are corrected as in cqjax/models/seed000.py), the mean-field equations
  (eq. 10) and the validity inequalities (16)-(18) of mean-field dynamics.

Conventions: hbar = 1; sz|0> = |0>, so "branch s = +1" is |0> and "s = -1" is |1>; rho_01 =
<0|rho|1>, so <sx> = 2 Re rho_01 and <sy> = -2 Im rho_01.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from ..models import AbstractDiagonalModel, generator
from ..models._base import extra_dissipators

__all__ = [
    "seed000_p_marginal_masses",
    "seed000_min_eig_relative",
    "diosi_q_mean",
    "diosi_p_moments",
    "diosi_mean_sz_squared",
    "diosi_mean_field_coherence",
    "diosi_coherence",
    "diosi_final_momentum",
    "diosi_phase_diffusion",
    "seed000_deviation_moments",
    "seed000_validity_bounds",
    "seed000_validity_distances",
    "tradeoff_envelope",
    "tradeoff_rate",
]


# --------------------------------------------------------------------------------------------
# The decoherence-diffusion trade-off
# --------------------------------------------------------------------------------------------


def tradeoff_rate(model: AbstractDiagonalModel, z: Float[Array, " n"]) -> Float[Array, ""]:
    """Decay rate Gamma(z) of the coherence rho_01 of a diagonal qubit model at the point z.

    Healed dynamics saturate the trade-off [LOW eq. 6] with Lindblad operators F = {Z, H_I} and
    D0 = 1/4 pinv(sigma sigma^T) [LOW Sec. III, before eq. 11]; for F diagonal with entries F_0,
    F_1 this dephases rho_01 at
        Gamma = 1/8 dF^T pinv(sigma sigma^T) dF,   dF = F_0 - F_1,
    to which each extra diagonal channel rate_k D[L_k] (``model.dissipators``) adds
    rate_k |l_k0 - l_k1|^2 / 2. Differentiable; vmap it over points.
    """
    force = jnp.real(generator(model, z).force)  # (n, 2): F_j in each branch
    d_force = force[:, 0] - force[:, 1]
    sigma = jnp.asarray(model.noise(z), z.dtype)
    gamma = d_force @ jnp.linalg.pinv(sigma @ sigma.T) @ d_force / 8
    extra = extra_dissipators(model, z)
    if extra is not None:
        rates, ops = extra
        ops = jnp.asarray(ops)
        diag = jnp.diagonal(ops, axis1=-2, axis2=-1) if ops.ndim == 3 else ops
        gamma = gamma + 0.5 * jnp.sum(rates * jnp.abs(diag[:, 0] - diag[:, 1]) ** 2)
    return gamma


def tradeoff_envelope(
    model: AbstractDiagonalModel, t: Float[np.ndarray, " T"], z_path: Float[ArrayLike, "T n"]
) -> tuple[Float[np.ndarray, " T"], Float[np.ndarray, " T"]]:
    """(Gamma(z(t)), exp(-int_0^t Gamma(z(s)) ds)) along a classical path (trapezoid rule).

    rho_01 is carried by the mean branch force (F_0 + F_1)/2 and decays at ``tradeoff_rate``; along
    the mean-field path [LOW eqs. 13-14] of a start with <sz> = 0 (where the mean branch force is
    the mean-field force) the envelope is exact when Gamma is constant (the Diosi model) and
    second order in the spread of the paths otherwise.
    """
    z = jnp.asarray(z_path, jnp.float32)
    gamma = np.asarray(jax.jit(jax.vmap(lambda zz: tradeoff_rate(model, zz)))(z), np.float64)
    t = np.asarray(t, np.float64)
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (gamma[1:] + gamma[:-1]) * np.diff(t))])
    return gamma, np.exp(-integral)


# --------------------------------------------------------------------------------------------
# The linear Diosi model, H = p^2/2m + (2 lam q + phi) sz, dp = -2 lam <sz> dt + sigma dW
# --------------------------------------------------------------------------------------------


def diosi_phase_diffusion(
    t: Float[ArrayLike, " T"], lam: float, sigma: float, m: float, z_cov: Float[ArrayLike, "2 2"] | None = None
) -> Float[np.ndarray, " T"]:
    """exp(-Var Phi_t / 2): the loss of E rho_01 in the Diosi model [LOW eqs. C.4, C.7-C.9] to the
    random phase Phi_t = 2 int_0^t (2 lam q_s + phi) ds.

    rho_01 feels the mean branch force (F_0 + F_1)/2 = 0, so it rides on the free diffusion
    q_s = q_0 + p_0 s/m + (sigma/m) int_0^s W; with (q_0, p_0) ~ N(z_mean, z_cov) (None: a point),
        Var Phi_t = 16 lam^2 [Var q_0 t^2 + Cov(q_0, p_0) t^3/m + Var p_0 t^4/(4 m^2)
                              + sigma^2 t^5 / (20 m^2)].
    """
    t = np.asarray(t, np.float64)
    c = np.zeros((2, 2)) if z_cov is None else np.asarray(z_cov, np.float64)
    var = c[0, 0] * t**2 + c[0, 1] * t**3 / m + c[1, 1] * t**4 / (4 * m**2) + sigma**2 * t**5 / (20 * m**2)
    return np.exp(-8 * lam**2 * var)


def diosi_coherence(
    t: Float[ArrayLike, " T"],
    psi0: Complex[ArrayLike, " 2"],
    z_mean: Float[ArrayLike, " 2"],
    lam: float,
    sigma: float,
    m: float,
    phi: float,
    z_cov: Float[ArrayLike, "2 2"] | None = None,
) -> Complex[np.ndarray, " T"]:
    """E rho_01(t) of the healed Diosi model [LOW eqs. C.7-C.9] (= the CQ master equation's):
        E rho_01(t) = rho_01(0) exp(-Gamma t - i E Phi_t) exp(-Var Phi_t / 2),
    Gamma = 2 lam^2 / sigma^2 (the saturated trade-off, the last term of eq. C.9),
    E Phi_t = 2 phi t + 4 lam (q_0 t + p_0 t^2 / 2m) at the mean (q_0, p_0) = z_mean, and
    Var Phi_t as in ``diosi_phase_diffusion``. E<sx> = 2 Re, E<sy> = -2 Im of this.
    """
    t = np.asarray(t, np.float64)
    psi = np.asarray(psi0, np.complex128)
    psi = psi / np.linalg.norm(psi)
    q0, p0 = (float(v) for v in np.asarray(z_mean, np.float64))
    phase = 2 * phi * t + 4 * lam * (q0 * t + p0 * t**2 / (2 * m))
    decay = np.exp(-2 * lam**2 / sigma**2 * t) * diosi_phase_diffusion(t, lam, sigma, m, z_cov)
    return psi[0] * np.conj(psi[1]) * decay * np.exp(-1j * phase)


def diosi_final_momentum(
    x: Float[ArrayLike, " N"],
    t: float,
    psi0: Complex[ArrayLike, " 2"],
    p0: float,
    lam: float,
    sigma: float,
    p_var0: float = 0.0,
) -> tuple[Float[np.ndarray, " N"], float, float]:
    """The law of p_t in the Diosi model [LOW eqs. C.7-C.8]: (density at x, mean, variance).

    The healed momentum is distributed as if the force were that of a random branch s = +-1
    [LOW Sec. III, after eq. 12], with the Born weights w_s = |<s|psi0>|^2:
        p_t ~ sum_s w_s N(p0 - 2 lam s t, sigma^2 t + p_var0),
    mean sum_s w_s mu_s, variance sigma^2 t + p_var0 + sum_s w_s (mu_s - mean)^2.
    """
    x = np.asarray(x, np.float64)
    w = np.abs(np.asarray(psi0, np.complex128)) ** 2
    w = w / w.sum()
    var = sigma**2 * t + p_var0
    means = np.array([p0 - 2 * lam * t, p0 + 2 * lam * t])
    density = sum(wi * np.exp(-((x - mi) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var) for wi, mi in zip(w, means))
    mean = float(w @ means)
    return density, mean, float(var + w @ (means - mean) ** 2)


def diosi_p_moments(
    t: Float[ArrayLike, " T"], mu_p: float, var_p: float, sz0: float, lam: float, sigma: float
) -> tuple[Float[np.ndarray, " T"], Float[np.ndarray, " T"]]:
    """E p_t and Var p_t in the Diosi model [LOW eqs. C.7-C.8] for p_0 ~ N(mu_p, var_p) independent
    of the qubit, <sz>_0 = sz0: with probability (1 + s sz0)/2 the momentum follows the branch force
    -2 lam s, so E p_t = mu_p - 2 lam sz0 t and Var p_t = var_p + sigma^2 t + 4 lam^2 t^2 (1 - sz0^2).
    """
    t = np.asarray(t, np.float64)
    return mu_p - 2 * lam * sz0 * t, var_p + sigma**2 * t + 4 * lam**2 * t**2 * (1 - sz0**2)


def diosi_q_mean(
    t: Float[ArrayLike, " T"], mu_q: float, mu_p: float, sz0: float, lam: float, m: float
) -> Float[np.ndarray, " T"]:
    """E q_t = mu_q + mu_p t / m - lam sz0 t^2 / m: the mean branch force -2 lam sz0 integrated twice
    [LOW eq. C.7]."""
    t = np.asarray(t, np.float64)
    return mu_q + mu_p * t / m - lam * sz0 * t**2 / m


def diosi_mean_sz_squared(t: float, sz0: float, lam: float, sigma: float, n_nodes: int = 120) -> float:
    """E[<sz>_t^2], the collapse law of the Diosi model [LOW eq. C.8]: in branch s = +-1 (Born weight
    (1 + s sz0)/2) the record is Y_t = -2 (lam/sigma) s t + W_t and the conditional state has
    <sz>_t = tanh(artanh(sz0) - 2 (lam/sigma) Y_t); the Gaussian W_t is integrated by Gauss-Hermite
    quadrature with ``n_nodes`` nodes. t = 0 gives sz0^2.
    """
    if t == 0:
        return float(sz0**2)
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    total = 0.0
    for s in (1, -1):
        y = -2 * (lam / sigma) * s * t + np.sqrt(t) * x
        total += (1 + s * sz0) / 2 * np.sum(w * np.tanh(np.arctanh(sz0) - 2 * (lam / sigma) * y) ** 2)
    return float(total)


def diosi_mean_field_coherence(
    t: Float[ArrayLike, " T"],
    psi0: Complex[ArrayLike, " 2"],
    z_mean: Float[ArrayLike, " 2"],
    lam: float,
    m: float,
    phi: float,
) -> Complex[np.ndarray, " T"]:
    """rho_01(t) of the mean-field (standard semi-classical) equations [LOW eqs. 13-14] for the Diosi
    model from the point z_mean: <sz> is conserved, the force -2 lam <sz> is constant and rho_01 only
    rotates, rho_01(t) = rho_01(0) exp(-2 i phi t - 4 i lam int_0^t q), with
    int_0^t q = q_0 t + p_0 t^2 / 2m - lam <sz> t^3 / 3m. No decoherence.
    """
    t = np.asarray(t, np.float64)
    psi = np.asarray(psi0, np.complex128)
    psi = psi / np.linalg.norm(psi)
    sz0 = abs(psi[0]) ** 2 - abs(psi[1]) ** 2
    q0, p0 = (float(v) for v in np.asarray(z_mean, np.float64))
    int_q = q0 * t + p0 * t**2 / (2 * m) - lam * sz0 * t**3 / (3 * m)
    return psi[0] * np.conj(psi[1]) * np.exp(-2j * phi * t - 4j * lam * int_q)


# --------------------------------------------------------------------------------------------
# The seed-000 toy model [L]: H = lam q A, A = sz, open system (eq. 12), saturated (eq. 14)
# --------------------------------------------------------------------------------------------


def seed000_deviation_moments(
    theta: Float[ArrayLike, " S"], tau: Float[ArrayLike, " T"], lam: float, gamma_c: float
) -> tuple[Float[np.ndarray, "S T"], Float[np.ndarray, "S T"]]:
    """(E[X^2], Var[X^2]) for X = p_healed(tau) - p_mf(tau), from cos(theta/2)|0> + sin(theta/2)|1>.

    Mean-field [L eq. 10]: <A> = cos theta is conserved, p_mf = p0 - lam cos(theta) tau. Healed
    [L eq. 15, with eq. 13's diffusion gamma_C d_p^2, i.e. noise sqrt(2 gamma_C) dW]: in branch
    s = +-1 (Born weight (1 + s cos theta)/2), X ~ N(mu_s, v), mu_s = -lam tau (s - cos theta),
    v = 2 gamma_C tau; so E[X^2] = 2 gamma_C tau + lam^2 tau^2 sin^2 theta, and the Gaussian
    moments E[X^4 | s] = mu^4 + 6 mu^2 v + 3 v^2 give Var[X^2]. Arrays are (theta, tau).
    """
    tau = np.asarray(tau, np.float64)
    c, v = np.cos(np.asarray(theta, np.float64))[:, None], 2 * gamma_c * tau
    m2 = m4 = np.zeros(np.broadcast_shapes(c.shape, tau.shape))
    for s in (+1, -1):
        w, mu = (1 + s * c) / 2, -lam * tau * (s - c)
        m2 = m2 + w * (mu**2 + v)
        m4 = m4 + w * (mu**4 + 6 * mu**2 * v + 3 * v**2)
    return m2, m4 - m2**2


def seed000_validity_distances(
    theta: Float[ArrayLike, " S"], tau: Float[ArrayLike, " T"], lam: float, gamma_c: float, gamma_q: float
) -> dict[str, Float[np.ndarray, "S T"]]:
    """Exact distances between the open-system [L eq. 12] and the mean-field [L eq. 10] dynamics
    from a point (q0 = 0, p0) and cos(theta/2)|0> + sin(theta/2)|1>, on a (theta, tau) grid:

    - ``eps_c`` = sqrt(E[(p_healed - p_mf)^2]) / |p_mf - p0|
                = sqrt(2 gamma_C tau + lam^2 tau^2 sin^2 theta) / (|lam cos theta| tau);
    - ``infidelity`` = 1 - <psi_mf| E rho |psi_mf> = sin^2(theta) (1 - exp(-4 gamma_Q tau)) / 2;
    - ``trace_distance`` = ||E rho - |psi_mf><psi_mf| ||_1 / 2 = sin(theta) (1 - exp(-4 gamma_Q tau)) / 2;
    as -gamma_Q [A, [A, rho]] (the saturated healed decoherence plus ``Seed000.dissipators``)
    damps rho_01 by exp(-4 gamma_Q tau), <A> is a martingale, and with q0 = 0 neither state rotates.
    """
    th = np.asarray(theta, np.float64)[:, None]
    tau = np.asarray(tau, np.float64)
    msd, _ = seed000_deviation_moments(theta, tau, lam, gamma_c)
    decay = 1 - np.exp(-4 * gamma_q * tau)
    with np.errstate(divide="ignore"):
        eps_c = np.sqrt(msd) / (np.abs(lam * np.cos(th)) * tau)
    return {"eps_c": eps_c, "infidelity": np.sin(th) ** 2 * decay / 2, "trace_distance": np.abs(np.sin(th)) * decay / 2}


def seed000_validity_bounds(
    theta: Float[ArrayLike, " S"], lam: float, gamma_c: float, gamma_q: float
) -> tuple[Float[np.ndarray, " S"], Float[np.ndarray, " S"]]:
    """The time scales of [L eqs. 16-17] for A = sz and cos(theta/2)|0> + sin(theta/2)|1>
    (<A> = cos theta, <A^2> - <A>^2 = sin^2 theta): mean-field needs
    tau >> gamma_C / (lam^2 <A>^2) (16, the noise is negligible) and
    tau << 1 / (gamma_Q (<A^2> - <A>^2)) (17, before decoherence); returns the two boundaries.
    Both exist together only where <A>^2 >> <A^2> - <A>^2 (18), i.e. theta well below 45 degrees.
    """
    th = np.asarray(theta, np.float64)
    with np.errstate(divide="ignore"):
        return gamma_c / (lam**2 * np.cos(th) ** 2), 1 / (gamma_q * np.sin(th) ** 2)


def _normal_cell_masses(edges: np.ndarray, mean: float, var: float) -> np.ndarray:
    """Masses of N(mean, var) in the cells between ``edges`` (a point mass when var = 0)."""
    if var == 0:
        out = np.zeros(len(edges) - 1)
        out[np.searchsorted(edges, mean, side="right") - 1] = 1.0
        return out
    cdf = np.array([0.5 * (1 + math.erf((e - mean) / math.sqrt(2 * var))) for e in edges])
    return np.diff(cdf)


def seed000_p_marginal_masses(
    edges: Float[ArrayLike, " N+1"],
    t: float,
    q: float,
    psi: Complex[ArrayLike, " 2"],
    p0: float,
    s2: float,
    lam: float,
    gamma_c: float,
    gamma_q: float,
    hbar: float = 1.0,
) -> Complex[np.ndarray, "N 2 2"]:
    """Cell masses of varrho(q, p, t) along p at the conserved point q, solving [L eq. 13] with A = sz.

    In the sz basis (a = +1, -1) each matrix element obeys a scalar advection-diffusion equation,
    d rho_ab = -i (lam q / hbar)(a_a - a_b) rho_ab + (lam/2)(a_a + a_b) d_p rho_ab + gamma_C d_p^2 rho_ab
    - gamma_Q (a_a - a_b)^2 rho_ab, so from N(p; p0, s2) |psi><psi| with V = s2 + 2 gamma_C t:
    rho_00 = |psi_0|^2 N(p0 - lam t, V), rho_11 = |psi_1|^2 N(p0 + lam t, V),
    rho_01 = psi_0 psi_1^* N(p0, V) exp(-2 i lam q t / hbar - 4 gamma_Q t).
    """
    edges = np.asarray(edges, np.float64)
    psi = np.asarray(psi, np.complex128)
    var = s2 + 2 * gamma_c * t
    out = np.zeros((len(edges) - 1, 2, 2), np.complex128)
    out[:, 0, 0] = abs(psi[0]) ** 2 * _normal_cell_masses(edges, p0 - lam * t, var)
    out[:, 1, 1] = abs(psi[1]) ** 2 * _normal_cell_masses(edges, p0 + lam * t, var)
    coherence = psi[0] * np.conj(psi[1]) * np.exp(-2j * lam * q * t / hbar - 4 * gamma_q * t)
    out[:, 0, 1] = coherence * _normal_cell_masses(edges, p0, var)
    out[:, 1, 0] = np.conj(out[:, 0, 1])
    return out


def seed000_min_eig_relative(
    t: float, p0: float, s2: float, lam: float, gamma_c: float, gamma_q: float, psi: Complex[ArrayLike, " 2"]
) -> float:
    """min_p lambda_min(varrho(p, t)) / max_p Tr varrho(p, t) of the continuum solution above (a point
    q): negative exactly when the generator is not completely positive (gamma_C gamma_Q < lam^2 / 16,
    [L eq. 14]); evaluated on a fine p grid (p0 +- 12, 24001 points).
    """
    psi = np.asarray(psi, np.complex128)
    p = np.linspace(p0 - 12, p0 + 12, 24001)
    var = s2 + 2 * gamma_c * t
    g = lambda mean: np.exp(-((p - mean) ** 2) / (2 * var))
    a = abs(psi[0]) ** 2 * g(p0 - lam * t)
    b = abs(psi[1]) ** 2 * g(p0 + lam * t)
    c = abs(psi[0] * psi[1]) * g(p0) * np.exp(-4 * gamma_q * t)
    low = 0.5 * (a + b) - np.sqrt(0.25 * (a - b) ** 2 + c**2)
    return float(low.min() / (a + b).max())


# --------------------------------------------------------------------------------------------
# Collapse of a qubit under a q-independent measurement strength (Diosi, sqrt well)
# --------------------------------------------------------------------------------------------


def sz_collapse_moment(t: float, sz0: float, kappa: float, power: int = 2, n_nodes: int = 120) -> float:
    """E[<sz>_t^power] for the healed dynamics of a qubit whose quantum noise is K = -kappa sz with a
    constant kappa, and H_I diagonal: the law of <sz>_t is then that of a continuous measurement of
    sz at strength kappa, whatever the classical path does [LOW eq. 12].

    kappa = lam / sigma for the Diosi model [LOW eq. C.9] (``diosi_mean_sz_squared`` is power 2)
    and kappa = lam / (4 gamma) for the sqrt(q) well [LOW eq. C.13], where sigma(q) = gamma / sqrt(q)
    makes K independent of q: its <sz> law does not depend on q and equals Diosi's at equal kappa.
    In branch s = +-1 (Born weight (1 + s sz0)/2) the record is Y_t = -2 kappa s t + W_t and
    <sz>_t = tanh(artanh(sz0) - 2 kappa Y_t); W_t is integrated by Gauss-Hermite quadrature.
    """
    if t == 0:
        return float(sz0**power)
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    total = 0.0
    for s in (1, -1):
        y = -2 * kappa * s * t + np.sqrt(t) * x
        total += (1 + s * sz0) / 2 * np.sum(w * np.tanh(np.arctanh(sz0) - 2 * kappa * y) ** power)
    return float(total)


__all__ += ["sz_collapse_moment"]


# --------------------------------------------------------------------------------------------
# Chains of classical-quantum sites (cqjax.CQChain), correlated noise
# --------------------------------------------------------------------------------------------


def _expm(a: np.ndarray) -> np.ndarray:
    """exp(a) by scaling and squaring of a Taylor series (float64; small dense matrices)."""
    norm = np.linalg.norm(a, 1)
    s = max(0, int(np.ceil(np.log2(norm / 0.25))) if norm > 0.25 else 0)
    a = a / 2**s
    out, term = np.eye(len(a)), np.eye(len(a))
    for j in range(1, 24):
        term = term @ a / j
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


def _spins(index: int, n: int) -> np.ndarray:
    """sz^x eigenvalues (+1 for |0>) of basis state ``index`` of n qubits, qubit 1 the most significant bit."""
    return np.array([1.0 - 2.0 * ((index >> (n - 1 - x)) & 1) for x in range(n)])


def cq_chain_coherence(
    t: Float[ArrayLike, " T"], model, z0: Float[ArrayLike, " n"], a: int, b: int, rho_ab0: complex = 0.5
) -> tuple[Complex[np.ndarray, " T"], float]:
    """(E rho_ab(t), Gamma_ab) for the healed dynamics of ``cqjax.CQChain`` from the point z0, a start
    with coherence rho_ab0 = <a|rho|b> between basis states a, b (configurations s_a, s_b).

    H and the force operators F_{p_x} = -lam sz^x are diagonal, so the CQ master equation [LOW eq. 5]
    for varrho_ab is a scalar Fokker-Planck equation: the classical point moves with the mean branch
    force (F_a + F_b)/2 = -lam (s_a + s_b)/2 (the back-reaction term with D1 = 1/2), the springs and
    the noise sigma_pp; varrho_ab decays at the saturated trade-off rate [LOW eq. 6]
        Gamma_ab = 1/8 dF^T pinv(sigma_pp sigma_pp^T) dF,   dF = -lam (s_a - s_b),
    and turns with -i (E_a - E_b) = -i lam q . (s_a - s_b). By Feynman-Kac,
        E rho_ab(t) = rho_ab0 exp(-Gamma_ab t) E[exp(-i Phi_t)],  Phi_t = lam int_0^t q_s . (s_a - s_b) ds,
    over the linear Gaussian path above, so E exp(-i Phi) = exp(-i E Phi - Var Phi / 2): the mean and
    variance of (q, p, Phi) come from the matrix exponential (Van Loan's formula for the covariance).
    """
    n = model.n
    m, k, lam = float(model.m), float(model.k), float(model.lam)
    sig = float(model.sigma) * (np.eye(n) + float(model.c) * (np.eye(n, k=1) + np.eye(n, k=-1)))
    ds, ss = _spins(a, n) - _spins(b, n), _spins(a, n) + _spins(b, n)
    d_force = -lam * ds
    gamma = float(d_force @ np.linalg.pinv(sig @ sig.T) @ d_force / 8)
    diff = np.eye(n, k=1)[:-1] - np.eye(n)[:-1]  # (q_{x+1} - q_x) rows
    lap = diff.T @ diff
    size = 2 * n + 1
    drift = np.zeros((size, size))
    drift[:n, n : 2 * n] = np.eye(n) / m
    drift[n : 2 * n, :n] = -k * lap
    drift[2 * n, :n] = lam * ds
    const = np.zeros(size)
    const[n : 2 * n] = -lam * ss / 2
    noise = np.zeros((size, n))
    noise[n : 2 * n] = sig
    y0 = np.concatenate([np.asarray(z0, np.float64), [0.0]])
    out = []
    for tt in np.atleast_1d(np.asarray(t, np.float64)):
        aug = np.zeros((size + 1, size + 1))
        aug[:size, :size], aug[:size, size] = drift * tt, const * tt
        mean = (_expm(aug) @ np.append(y0, 1.0))[:size]
        van = np.zeros((2 * size, 2 * size))
        van[:size, :size], van[:size, size:], van[size:, size:] = -drift * tt, noise @ noise.T * tt, drift.T * tt
        f = _expm(van)
        cov = f[size:, size:].T @ f[:size, size:]
        out.append(rho_ab0 * np.exp(-gamma * tt - 1j * mean[-1] - cov[-1, -1] / 2))
    return np.array(out), gamma


__all__ += ["cq_chain_coherence"]


# --------------------------------------------------------------------------------------------
# Anomalous heating of an oscillator coupled through its position (cqjax.HeatedOscillator)
# --------------------------------------------------------------------------------------------


def heating_rate(lam: float, sigma: float, mu: float, M: float = math.inf) -> tuple[float, float]:
    """(d E<H_osc>/dt at q = 0, d E[H]/dt) for ``cqjax.HeatedOscillator``, H = p^2/2M + lam q x + H_osc.

    The healed dynamics decoheres the oscillator with D0 D[x], D0 = lam^2 / (4 sigma^2) (the saturated
    trade-off [LOW eq. 6] for the force -lam x), and by seed 003 eq. (130) (J. Oppenheim, "A
    postquantum theory of classical gravity?", for one Lindblad operator L = x, D0 constant)
        d<H_osc>/dt = (D0 / 2) <[x, [H_osc, x]]> = D0 / (2 mu)
    (exactly, as [x, [H_osc, x]] = 1/mu). The total energy E[H] of the CQ state also takes the
    classical diffusion, sigma^2 / (2M) from D2 d_p^2 (the Hamiltonian parts of the CQ generator
    conserve it): d E[H]/dt = sigma^2 / (2M) + lam^2 / (8 sigma^2 mu), smallest at sigma^4 = M lam^2 / (4 mu).
    """
    anomalous = lam**2 / (8 * sigma**2 * mu)
    return anomalous, sigma**2 / (2 * M) + anomalous


__all__ += ["heating_rate"]


# --------------------------------------------------------------------------------------------
# Diosi with a time-dependent coupling lam(t) = lam0 cos(omega t) (seed 004 App. H)
# --------------------------------------------------------------------------------------------


def driven_diosi_exact(
    t1: float, z0: Float[ArrayLike, 2], lam0: float, omega: float, m: float, phi: float, sigma: float, n: int = 200_001
) -> dict[str, float]:
    """Exact E<sx>, E<sy>, E p, E p^2 and E[p sz] at t1 of the healed ``DrivenDiosi`` master equation
    from the point z0 and |+>. With Lam(t) = int_0^t lam: E[p sz] = -2 Lam, E p^2 = p0^2 + sigma^2 t
    + 4 Lam^2 (from d E[p sz]/dt = -2 lam, d E p^2/dt = -4 lam E[p sz] + sigma^2). The coherence
    c = int rho_01 dz solves a first-order equation in Fourier space, along its characteristics
    K(s) = -4 (Lam(t1) - Lam(s)), L(s) = int_s^t1 K / m: c = 1/2 exp(i (K(0) q0 + L(0) p0) - 2 i phi t1
    - int_0^t1 (sigma^2 L^2 / 2 + 2 lam^2 / sigma^2)), E<sx> = 2 Re c, E<sy> = -2 Im c. The
    decoherence factor exp(-2 int lam^2 / sigma^2) is the healed rate (lam / sigma)^2 D[sz].
    """
    q0, p0 = (float(v) for v in np.asarray(z0, np.float64))
    big_lam = lambda s: lam0 * np.sin(omega * s) / omega  # noqa: E731
    int_big_lam = lambda s: lam0 * (1 - np.cos(omega * s)) / omega**2  # noqa: E731
    s = np.linspace(0.0, t1, n)
    K = -4 * (big_lam(t1) - big_lam(s))
    L = -(4 / m) * (big_lam(t1) * (t1 - s) - (int_big_lam(t1) - int_big_lam(s)))
    int_l2 = np.trapezoid(L**2, s)
    int_lam2 = lam0**2 * (t1 / 2 + np.sin(2 * omega * t1) / (4 * omega))
    c = 0.5 * np.exp(1j * (K[0] * q0 + L[0] * p0) - 2j * phi * t1 - sigma**2 * int_l2 / 2 - 2 * int_lam2 / sigma**2)
    lam_t = big_lam(t1)
    return {
        "sx": float(2 * c.real),
        "sy": float(-2 * c.imag),
        "p": p0,
        "p*p": p0**2 + sigma**2 * t1 + 4 * lam_t**2,
        "p*sz": -2 * lam_t,
    }


__all__ += ["driven_diosi_exact"]
