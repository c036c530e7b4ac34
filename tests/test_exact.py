"""The closed forms of cqjax.analysis.exact and the Bloch vectors of cqjax.analysis.bloch, each
against an independent check: another closed form, a numerical integration, explicit matrices, a
Monte Carlo draw, or a short healed ensemble (fixed seed, 5 standard errors).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory".
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax.analysis.bloch import bloch_vector
from cqjax.analysis.exact import (
    diosi_coherence,
    diosi_final_momentum,
    diosi_phase_diffusion,
    seed000_deviation_moments,
    seed000_validity_bounds,
    seed000_validity_distances,
    tradeoff_envelope,
    tradeoff_rate,
)

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)


# --------------------------------------------------------------------------------------------
# Bloch vectors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bloch_vector_is_the_expectation_of_pauli_tensor_powers(n):
    rng = np.random.default_rng(n)
    psi = rng.normal(size=(5, 2**n)) + 1j * rng.normal(size=(5, 2**n))
    ops = [functools.reduce(np.kron, [s] * n) for s in (SX, SY, SZ)]
    unit = psi / np.linalg.norm(psi, axis=-1, keepdims=True)
    expected = np.stack([np.einsum("bi,ij,bj->b", unit.conj(), op, unit).real for op in ops], axis=-1)
    np.testing.assert_allclose(bloch_vector(psi), expected, atol=1e-12)


def test_bloch_vector_of_known_states():
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(bloch_vector(np.array([1, 0])), [0, 0, 1], atol=1e-15)
    np.testing.assert_allclose(bloch_vector(np.array([s, s])), [1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(bloch_vector(np.array([s, 1j * s])), [0, 1, 0], atol=1e-15)
    a = 0.7  # GHZ (|000> + e^{ia}|111>)/sqrt 2: <X> = Re e^{ia}, <Y> = Re(i^3 e^{ia}) = -sin a, <Z> = 0
    ghz = np.zeros(8, complex)
    ghz[0], ghz[7] = s, s * np.exp(1j * a)
    np.testing.assert_allclose(bloch_vector(ghz), [np.cos(a), -np.sin(a), 0], atol=1e-15)
    with pytest.raises(ValueError, match="power of 2"):
        bloch_vector(np.ones(3))


# --------------------------------------------------------------------------------------------
# The trade-off rate
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lam, sigma", [(1.0, 1.0), (0.3, 2.0), (-1.5, 0.4)])
def test_tradeoff_rate_diosi(lam, sigma):
    # Seed 004 eqs. C.7-C.9: F = {p, H_I} = -2 lam sz, so dF = -4 lam and Gamma = (4 lam)^2 / (8 sigma^2).
    model = cqjax.Diosi(m=1.3, lam=lam, phi=0.5, sigma=sigma)
    for z in ([0.0, 0.0], [1.2, -3.0]):
        assert np.isclose(tradeoff_rate(model, jnp.asarray(z, jnp.float64)), 2 * lam**2 / sigma**2, rtol=1e-10)


@pytest.mark.parametrize("lam, gamma", [(1.0, 0.5), (2.0, 0.3)])
def test_tradeoff_rate_sqrt_well_is_constant(lam, gamma):
    # F = -lam sz / (2 sqrt q), sigma = gamma / sqrt q: Gamma = lam^2 / (8 gamma^2) for every q > 0.
    model = cqjax.SqrtWell(m=1.0, lam=lam, gamma=gamma)
    for q in (0.1, 1.0, 7.0):
        rate = tradeoff_rate(model, jnp.asarray([q, 0.3], jnp.float64))
        assert np.isclose(rate, lam**2 / (8 * gamma**2), rtol=1e-10)


@pytest.mark.parametrize("gamma_c, gamma_q", [(0.5, 0.125), (0.5, 0.4), (2.0, 0.2)])
def test_tradeoff_rate_seed000_is_the_open_system_rate(gamma_c, gamma_q):
    # Seed 000 eq. 12: -gamma_Q [A, [A, rho]] with A = sz damps rho_01 at 4 gamma_Q, saturated
    # (eq. 14 with equality) or not: the healed part lam^2 / (4 gamma_C) plus the extra channel.
    model = cqjax.Seed000(lam=-1.0, gamma_c=gamma_c, gamma_q=gamma_q)
    assert np.isclose(tradeoff_rate(model, jnp.asarray([0.3, -1.0], jnp.float64)), 4 * gamma_q, rtol=1e-10)


def test_tradeoff_envelope_of_a_constant_rate():
    model = cqjax.Diosi(m=1.0, lam=0.8, phi=2.0, sigma=1.1)
    t = np.linspace(0, 2, 41)
    path = np.stack([np.sin(t), np.cos(3 * t)], axis=-1)
    gamma, envelope = tradeoff_envelope(model, t, path)
    rate = 2 * 0.8**2 / 1.1**2
    np.testing.assert_allclose(gamma, rate, rtol=1e-5)
    np.testing.assert_allclose(envelope, np.exp(-rate * t), rtol=1e-5)


# --------------------------------------------------------------------------------------------
# The linear Diosi model
# --------------------------------------------------------------------------------------------

LAM, SIGMA, M, PHI = 1.0, 1.0, 1.0, 2.0
Z_MEAN = np.array([0.1, 0.2])
Z_COV = np.array([[0.04, 0.01], [0.01, 0.09]])
THETA0 = 1.2  # cos(theta/2)|0> + e^{i pi/4} sin(theta/2)|1>: Born weights 0.68 / 0.32
PSI0 = np.array([np.cos(THETA0 / 2), np.exp(0.25j * np.pi) * np.sin(THETA0 / 2)])


@pytest.fixture(scope="module")
def diosi_run():
    initial = cqjax.InitialState(z_mean=jnp.asarray(Z_MEAN), psi=jnp.asarray(PSI0), z_cov=jnp.asarray(Z_COV))
    return cqjax.run_ensemble(
        cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA),
        initial,
        t1=1.0,
        dt=2e-3,
        n_saves=25,
        trajectories=10_000,
        n_samples=10_000,
        seed=3,
        observables=("sx", "sy"),
    )


def test_diosi_phase_diffusion_against_quadrature():
    # Var int_0^t q ds = int int Cov(q_s, q_u) ds du, with Cov(q_s, q_u) = Var q0 + Cov(q0, p0)(s + u)/m
    # + Var p0 s u / m^2 + (sigma/m)^2 int_0^min(s,u) (s - r)(u - r) dr; Phi = 4 lam int q + const.
    lam, sigma, m, t = 0.7, 1.3, 0.8, 1.7
    s = np.linspace(0, t, 801)
    S, U = np.meshgrid(s, s, indexing="ij")
    lo = np.minimum(S, U)
    brownian = S * U * lo - (S + U) * lo**2 / 2 + lo**3 / 3
    cov = Z_COV[0, 0] + Z_COV[0, 1] * (S + U) / m + Z_COV[1, 1] * S * U / m**2 + (sigma / m) ** 2 * brownian
    var_phi = 16 * lam**2 * np.trapezoid(np.trapezoid(cov, s, axis=1), s)
    assert np.isclose(diosi_phase_diffusion(t, lam, sigma, m, Z_COV), np.exp(-var_phi / 2), rtol=1e-5)
    assert np.isclose(diosi_phase_diffusion(t, lam, sigma, m), np.exp(-0.4 * lam**2 * sigma**2 * t**5 / m**2))


def test_diosi_coherence_against_the_ensemble(diosi_run):
    r = diosi_run
    rho01 = diosi_coherence(r.t, PSI0, Z_MEAN, LAM, SIGMA, M, PHI, Z_COV)
    se = {name: np.maximum(r.sem[name], 1e-6) for name in ("sx", "sy")}  # float32: t = 0 has se ~ 0
    for name, exact in (("sx", 2 * rho01.real), ("sy", -2 * rho01.imag)):
        z = np.abs(r.mean[name] - exact) / se[name]
        assert z.max() < 5, (name, z.max())
    # The check has power: without the phase diffusion it fails.
    naive = 2 * (rho01 / diosi_phase_diffusion(r.t, LAM, SIGMA, M, Z_COV)).real
    assert (np.abs(r.mean["sx"] - naive) / se["sx"]).max() > 5


def test_diosi_final_momentum_against_quadrature():
    x = np.linspace(-15, 15, 30001)
    density, mean, var = diosi_final_momentum(x, 1.3, PSI0, 0.4, -0.9, 1.2, p_var0=0.3)
    assert np.isclose(np.trapezoid(density, x), 1.0, rtol=1e-8)
    assert np.isclose(np.trapezoid(x * density, x), mean, rtol=1e-8)
    assert np.isclose(np.trapezoid((x - mean) ** 2 * density, x), var, rtol=1e-8)
    w0 = np.cos(THETA0 / 2) ** 2  # mean p0 - 2 lam t (w0 - w1)
    assert np.isclose(mean, 0.4 + 2 * 0.9 * 1.3 * (2 * w0 - 1))


def test_diosi_final_momentum_against_the_ensemble(diosi_run):
    r = diosi_run
    p = r.samples_z[:, -1, 1].astype(np.float64)
    n = len(p)
    edges = np.linspace(-5, 5, 11)
    density, mean, var = diosi_final_momentum(
        np.linspace(-5, 5, 10001), r.t[-1], PSI0, Z_MEAN[1], LAM, SIGMA, Z_COV[1, 1]
    )
    m4 = np.mean((p - p.mean()) ** 4)
    assert abs(p.mean() - mean) / np.sqrt(p.var() / n) < 5
    assert abs(p.var() - var) / np.sqrt((m4 - p.var() ** 2) / n) < 5
    # The shape: each bin's fraction against the integrated density.
    x = np.linspace(-5, 5, 10001)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(x))])
    prob = np.diff(np.interp(edges, x, cdf))
    frac = np.histogram(p, edges)[0] / n
    assert np.all(np.abs(frac - prob) < 5 * np.sqrt(prob * (1 - prob) / n) + 1e-3), (frac, prob)


# --------------------------------------------------------------------------------------------
# The seed-000 toy model
# --------------------------------------------------------------------------------------------

S000 = dict(lam=-1.0, gamma_c=0.5, gamma_q=0.125)  # saturated: gamma_C gamma_Q = lam^2 / 16
THETAS = np.array([0.3, 1.1])  # initial polar angles for the closed forms
ENSEMBLE_THETA = 1.0  # and for the ensemble


def test_seed000_deviation_moments_against_monte_carlo():
    rng = np.random.default_rng(0)
    tau, n = np.array([0.5, 3.0]), 400_000
    m2, var = seed000_deviation_moments(THETAS, tau, 0.7, 0.4)
    assert np.allclose(m2, 2 * 0.4 * tau + 0.7**2 * tau**2 * np.sin(THETAS[:, None]) ** 2)
    for i, th in enumerate(THETAS):
        s = np.where(rng.random(n) < (1 + np.cos(th)) / 2, 1.0, -1.0)
        for j, t in enumerate(tau):
            x2 = (-0.7 * t * (s - np.cos(th)) + np.sqrt(2 * 0.4 * t) * rng.normal(size=n)) ** 2
            assert abs(x2.mean() - m2[i, j]) < 5 * np.sqrt(var[i, j] / n)
            assert abs(x2.var() / var[i, j] - 1) < 0.05


@pytest.fixture(scope="module")
def seed000_run():
    th = ENSEMBLE_THETA
    initial = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.asarray([np.cos(th / 2), np.sin(th / 2)]))
    return cqjax.run_ensemble(
        cqjax.Seed000(**S000, hbar=1.0),
        initial,
        t1=4.0,
        dt=0.02,
        n_saves=4,
        trajectories=10_000,
        n_samples=10_000,
        seed=1,
        observables=("sx", "sy", "sz"),
    )


def test_seed000_deviation_moments_against_the_ensemble(seed000_run):
    r, th, tau = seed000_run, ENSEMBLE_THETA, seed000_run.t[1:]
    x = r.samples_z[:, 1:, 1] - (-S000["lam"] * np.cos(th) * tau)  # p_mf = p0 - lam <A> tau, p0 = 0
    m2, var = seed000_deviation_moments([th], tau, S000["lam"], S000["gamma_c"])
    z = np.abs((x**2).mean(0) - m2[0]) / np.sqrt(var[0] / len(x))
    assert z.max() < 5, z
    assert np.all(np.abs(x.mean(0)) < 5 * np.sqrt(m2[0] / len(x)))  # E[p_healed] = p_mf


def test_seed000_validity_distances_against_the_ensemble(seed000_run):
    lam, gc, gq = S000["lam"], S000["gamma_c"], S000["gamma_q"]
    r, th, tau = seed000_run, ENSEMBLE_THETA, seed000_run.t[1:]
    # The average state: <A> a martingale, rho_01 damped by exp(-4 gamma_Q tau), no rotation (q0 = 0).
    b = np.stack([np.sin(th) * np.exp(-4 * gq * tau), 0 * tau, np.cos(th) + 0 * tau], axis=-1)
    for k, name in enumerate(("sx", "sy", "sz")):
        se = np.maximum(r.sem[name][1:], 1e-6)
        assert np.all(np.abs(r.mean[name][1:] - b[:, k]) < 5 * se), name
    # The distances from that state to the pure mean-field state, via Bloch vectors.
    b_mf = np.array([np.sin(th), 0.0, np.cos(th)])
    exact = seed000_validity_distances([th], tau, lam, gc, gq)
    np.testing.assert_allclose(exact["infidelity"][0], (1 - b @ b_mf) / 2, atol=1e-12)
    np.testing.assert_allclose(exact["trace_distance"][0], np.linalg.norm(b - b_mf, axis=-1) / 2, atol=1e-12)
    msd, _ = seed000_deviation_moments([th], tau, lam, gc)
    np.testing.assert_allclose(exact["eps_c"][0], np.sqrt(msd[0]) / (abs(lam * np.cos(th)) * tau))


def test_seed000_validity_bounds():
    lam, gc, gq = S000["lam"], S000["gamma_c"], S000["gamma_q"]
    th = np.radians([10.0, 45.0, 70.0])
    tau16, tau17 = seed000_validity_bounds(th, lam, gc, gq)
    np.testing.assert_allclose(tau16 * lam**2 * np.cos(th) ** 2, gc)
    np.testing.assert_allclose(tau17 * gq * np.sin(th) ** 2, 1.0)
    # (18) at saturation (middle inequality an equality): at <A>^2 = <A^2> - <A>^2 (45 deg) the
    # window closes to tau16 = tau17 / 16.
    assert np.isclose(tau17[1], 16 * tau16[1])


def test_functions_are_jax_friendly():
    # tradeoff_rate is differentiable in the model parameters (the healed rate 2 lam^2 / sigma^2).
    grad = jax.grad(lambda lam: tradeoff_rate(cqjax.Diosi(lam=lam, sigma=2.0), jnp.zeros(2)))(1.5)
    assert np.isclose(grad, 4 * 1.5 / 4.0, rtol=1e-5)
