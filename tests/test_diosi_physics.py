"""The healed linear Diosi model against its exact solution (cqjax.analysis.exact).

Tolerances: |ensemble - exact| < 5 SE + a stated discretisation bias. The Kraus step's weak
bias in E[<sz>] was measured in test_integrators.py as about 0.35 (lam/sigma)^2 T dt; we allow
(lam/sigma)^2 T dt.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, batch, qubit, sz_of

import cqjax
from cqjax.analysis import (
    diosi_coherence,
    diosi_mean_field_coherence,
    diosi_mean_sz_squared,
    diosi_p_moments,
    diosi_q_mean,
)

pytestmark = pytest.mark.optimized  # long runs: XLA's optimisations pay (tests/conftest.py)


def _bias(lam, sigma, t, dt):
    return (lam / sigma) ** 2 * t * dt


def test_sz_populations_are_martingales_and_purity_stays_one():
    lam, sigma, t1, dt = 1.0, 0.8, 1.0, 1e-3
    model = cqjax.Diosi(m=1.0, lam=lam, phi=2.0, sigma=sigma)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.7, 0.3))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=t1,
        dt=dt,
        n_saves=10,
        trajectories=20_000,
        seed=1,
        observables=("sz", "purity", "norm_error"),
        precision="float64",
    )
    assert_close(r.mean["sz"], 0.4, r.sem["sz"] + 1e-12, _bias(lam, sigma, t1, dt), what="E<sz>(t)")
    assert np.all(np.abs(r.mean["purity"] - 1) < 1e-12)
    assert np.all(r.mean["norm_error"] < 1e-12)


def test_born_rule_for_collapse():
    """Strong measurement collapses <sz> to +-1 with Born probabilities; p_t records the outcome."""
    lam, sigma, t1 = 1.0, 0.5, 2.0
    p0 = 0.7
    model = cqjax.Diosi(m=1.0, lam=lam, phi=2.0, sigma=sigma)
    n = 20_000
    sol = batch(model, jnp.zeros(2), qubit(p0, 1.1), n, t1=t1, dt=2e-3, seed=2)
    sz = sz_of(sol.psi[:, -1])
    p = np.asarray(sol.z[:, -1, 1])
    assert np.mean(np.abs(sz) > 0.999) > 0.999  # collapsed
    frac_up = np.mean(sz > 0)
    se = np.sqrt(p0 * (1 - p0) / n)
    assert_close(frac_up, p0, se, what="P(collapse to |0>)")
    # |0> feels the force -2 lam: the classical record tells which branch the state is in.
    assert np.mean(np.sign(sz) == -np.sign(p)) > 0.999


def test_mean_and_variance_of_p_and_mean_q_from_gaussian_initial_state():
    lam, sigma, m, t1, dt = 1.0, 1.0, 2.0, 1.0, 1e-3
    mu, cov = np.array([0.3, 0.5]), np.array([[0.04, 0.01], [0.01, 0.09]])
    sz0 = 0.4
    model = cqjax.Diosi(m=m, lam=lam, phi=2.0, sigma=sigma)
    init = cqjax.InitialState(z_mean=jnp.asarray(mu), z_cov=jnp.asarray(cov), psi=qubit(0.7, 0.5))
    n = 40_000
    r = cqjax.run_ensemble(
        model, init, t1=t1, dt=dt, n_saves=4, trajectories=n, seed=3, observables=("q", "p", "p*p"), precision="float64"
    )
    t = r.t
    bias_sz = _bias(lam, sigma, t1, dt)
    mean_p, var_p = diosi_p_moments(t, mu[1], cov[1, 1], sz0, lam, sigma)
    # E[p] inherits 2 lam t times the bias of E<sz>; E[q] in addition Euler's O(dt) in q.
    assert_close(r.mean["p"], mean_p, r.sem["p"] + 1e-12, 2 * lam * t1 * bias_sz, what="E[p]")
    assert_close(
        r.mean["q"],
        diosi_q_mean(t, mu[0], mu[1], sz0, lam, m),
        r.sem["q"] + 1e-12,
        lam * t1**2 / m * (bias_sz + dt),
        what="E[q]",
    )
    # Var p = E[p^2] - E[p]^2; its SE from the delta method is below SE(p^2) + 2|E p| SE(p).
    var_est = r.mean["p*p"] - r.mean["p"] ** 2
    se_var = r.sem["p*p"] + 2 * np.abs(r.mean["p"]) * r.sem["p"] + 1e-12
    assert_close(var_est, var_p, se_var, 4 * lam**2 * t1**2 * bias_sz, what="Var p")


def test_mean_field_differs_from_healed():
    """Same E<sz> and E[p]; mean field has no momentum spread and no decoherence."""
    lam, sigma, m, phi, t1, dt = 1.0, 1.0, 1.0, 2.0, 0.5, 1e-3
    z0, psi0, sz0 = np.array([0.2, 1.0]), qubit(0.7, 0.5), 0.4
    rho01_0 = complex(psi0[0] * np.conj(psi0[1]))
    model = cqjax.Diosi(m=m, lam=lam, phi=phi, sigma=sigma)
    init = cqjax.InitialState(z_mean=jnp.asarray(z0), psi=psi0)
    kw = dict(
        t1=t1,
        dt=dt,
        n_saves=5,
        trajectories=20_000,
        seed=4,
        precision="float64",
        observables=("p", "p*p", "sz", "sx", "sy"),
    )
    healed = cqjax.run_ensemble(model, init, **kw)
    mf = cqjax.run_ensemble(model, init, unravelling=cqjax.MeanField(), **kw)
    t = healed.t
    # Mean field: deterministic, exact solution up to Euler's O(dt).
    assert np.all(mf.sem["p"] < 1e-9)
    np.testing.assert_allclose(mf.mean["p"], z0[1] - 2 * lam * sz0 * t, atol=1e-9)
    np.testing.assert_allclose(mf.mean["sz"], sz0, atol=1e-9)
    c_mf = diosi_mean_field_coherence(t, psi0, z0, lam, m, phi)
    np.testing.assert_allclose(mf.mean["sx"], 2 * c_mf.real, atol=20 * dt)
    np.testing.assert_allclose(mf.mean["sy"], -2 * c_mf.imag, atol=20 * dt)
    np.testing.assert_allclose(mf.mean["p*p"] - mf.mean["p"] ** 2, 0.0, atol=1e-9)
    # Healed: same E<sz>, E[p]; Var p and the coherence follow the exact healed solution.
    bias_sz = _bias(lam, sigma, t1, dt)
    assert_close(healed.mean["sz"], sz0, healed.sem["sz"] + 1e-12, bias_sz, what="healed E<sz>")
    mean_p, var_p = diosi_p_moments(t, z0[1], 0.0, sz0, lam, sigma)
    assert_close(healed.mean["p"], mean_p, healed.sem["p"] + 1e-12, 2 * lam * t1 * bias_sz, what="E[p]")
    var_est = healed.mean["p*p"] - healed.mean["p"] ** 2
    assert_close(
        var_est,
        var_p,
        healed.sem["p*p"] + 2 * abs(healed.mean["p"]) * healed.sem["p"] + 1e-12,
        4 * lam**2 * t1**2 * bias_sz,
        what="healed Var p",
    )
    c = diosi_coherence(t, psi0, z0, lam, sigma, m, phi)
    assert_close(healed.mean["sx"], 2 * c.real, healed.sem["sx"] + 1e-12, 20 * dt, what="healed E<sx>")
    assert_close(healed.mean["sy"], -2 * c.imag, healed.sem["sy"] + 1e-12, 20 * dt, what="healed E<sy>")
    # The decoherence the trade-off demands is visible: |E rho01| shrinks, mean field's does not.
    assert abs(c[-1]) < 0.5 * abs(rho01_0) and abs(c_mf[-1]) == pytest.approx(abs(rho01_0))


@pytest.mark.slow
def test_conditional_collapse_statistics_e_sz_squared():
    """E[<sz>_t^2] (how far the ensemble has collapsed) against quadrature of the exact law."""
    lam, sigma, t1, dt = 1.0, 1.0, 1.0, 1e-3
    sz0 = 0.6
    model = cqjax.Diosi(m=1.0, lam=lam, phi=0.0, sigma=sigma)
    n = 20_000
    sol = batch(model, jnp.zeros(2), qubit(0.8), n, t1=t1, dt=dt, n_saves=4, seed=5)
    sz2 = sz_of(sol.psi) ** 2
    exact = [diosi_mean_sz_squared(t, sz0, lam, sigma) for t in np.asarray(sol.ts[0])]
    assert_close(sz2.mean(0), exact, sz2.std(0) / np.sqrt(n) + 1e-12, 2 * _bias(lam, sigma, t1, dt), what="E<sz>^2")
