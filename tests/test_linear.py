"""The linear unravelling (seed 004 App. E) on the Diosi model: weighted means against the exact
formulas of cqjax.analysis.exact and the healed unravelling, the effective sample size against its
exact value for the discrete scheme, the mixed-state form, refusals and the CLI.

Diosi (seed 004 App. C.2), K = pinv(sigma) G = -lam sz / sigma: the diagonal of the unnormalised
state evolves alone, rho~_ss <- rho~_ss m_s(dW)^2 per step with m_s = 1 + k_s dW + k_s^2 (dW^2/2 - dt),
k_s = -lam s / sigma (the Kraus map M is diagonal), so the weight w = sum_s P_s prod m_s^2 and
E[w^r] = sum_{s_1..s_r} P_s_1 .. P_s_r E[m_s_1^2 .. m_s_r^2]^N exactly (N steps); in the continuum
E[w^2] = sum_{s,s'} P_s P_s' exp(4 lam^2 s s' t / sigma^2) (Girsanov).
"""

import itertools
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax.analysis import exact
from cqjax.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "diosi_linear.toml"
LAM, SIGMA, PHI, M = 1.0, 1.0, 2.0, 1.0
MODEL = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA)
PSI = np.array([np.cos(0.3), np.sin(0.3)], complex)
SZ0 = float(np.cos(0.6))
OBS = ("p", "p*p", "sz", "sx", "sy")
HIST = cqjax.HistogramSpec(("p",), ((-2.0, 1.0, 6),))
KW = dict(t1=0.3, dt=0.01, n_saves=3, trajectories=4000, seed=7, precision="float64", observables=OBS, histogram=HIST)
BIAS = 0.01  # weak order 1: O(dt) discretisation bias (dt = 0.01), well below 5 SE here


def _run(unravelling, state="auto", **extra):
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.asarray(PSI))
    return cqjax.run_ensemble(MODEL, init, unravelling=unravelling, state=state, **{**KW, **extra})


@pytest.fixture(scope="module")
def linear():
    return _run(cqjax.Linear())


def _exact(t):
    mean_p, var_p = exact.diosi_p_moments(t, 0.0, 0.0, SZ0, LAM, SIGMA)
    rho01 = exact.diosi_coherence(t, PSI, [0.0, 0.0], LAM, SIGMA, M, PHI)
    return {
        "p": mean_p,
        "p*p": var_p + mean_p**2,
        "sz": np.full_like(t, SZ0),
        "sx": 2 * rho01.real,
        "sy": -2 * rho01.imag,
    }


def test_weighted_means_agree_with_the_exact_formulas(linear):
    assert linear.info["unravelling"] == "linear"
    for name, value in _exact(linear.t).items():
        assert_close(linear.mean[name][1:], value[1:], linear.sem[name][1:], bias=BIAS, what=name)


def test_linear_agrees_with_the_healed_unravelling(linear):
    healed = _run(cqjax.Healed())
    for name in OBS:
        se = np.hypot(linear.sem[name], healed.sem[name])[1:]
        assert_close(linear.mean[name][1:], healed.mean[name][1:], se, bias=BIAS, what=name)
    # varrho(p, t) on bins: the linear estimator sum_i 1[p_i in bin] rho~_i / (N vol) against the healed one
    a, b = linear.histogram, healed.histogram
    for part in (np.real, np.imag):
        se = np.hypot(part(a["sem"]), part(b["sem"]))[1:]
        assert_close(part(a["density"])[1:], part(b["density"])[1:], se, bias=BIAS, what=f"varrho {part.__name__}")


def _step_moment(ks, dt):
    """E[prod_i m_{k_i}(x)^2], x ~ N(0, dt), by Gauss-Hermite quadrature (exact: a polynomial in x)."""
    x, w = np.polynomial.hermite_e.hermegauss(40)
    x, w = x * np.sqrt(dt), w / w.sum()
    prod = np.ones_like(x)
    for k in ks:
        prod = prod * (1 + k * x + k**2 * (x**2 / 2 - dt)) ** 2
    return float(w @ prod)


def _weight_moment(r, steps, dt):
    """E[w^r] of the discrete scheme after ``steps`` steps (see the module docstring)."""
    probs = {1: SZ0 / 2 + 0.5, -1: 0.5 - SZ0 / 2}
    return sum(
        np.prod([probs[s] for s in c]) * _step_moment([-LAM * s / SIGMA for s in c], dt) ** steps
        for c in itertools.product(probs, repeat=r)
    )


def test_effective_sample_size_decays_as_the_weights_second_moment(linear):
    n, dt = KW["trajectories"], KW["dt"]
    assert linear.ess[0] == pytest.approx(n, rel=1e-12) and np.all(np.diff(linear.ess) < 0)
    for i, t in enumerate(linear.t[1:], start=1):
        m1, m2, m3, m4 = (_weight_moment(r, round(t / dt), dt) for r in (1, 2, 3, 4))
        # ess / n = mean(w)^2 / mean(w^2) -> m1^2 / m2; its SE by the delta method from the exact moments
        da, db = 2 * m1 / m2, -(m1**2) / m2**2
        var = da**2 * (m2 - m1**2) + db**2 * (m4 - m2**2) + 2 * da * db * (m3 - m1 * m2)
        assert_close(linear.ess[i] / n, m1**2 / m2, np.sqrt(var / n), what=f"ess/N at t = {t}")
    assert abs(1 - 1 / _weight_moment(2, 10, dt)) > 5 * 0.0107  # at t = 0.1 the check is sharp: 5 SE = 0.053
    continuum = 1 / (0.5 * (1 + SZ0**2) * np.exp(4 * LAM**2 * 0.3 / SIGMA**2) + 0.5 * (1 - SZ0**2) * np.exp(-1.2))
    assert abs(1 / _weight_moment(2, 30, dt) - continuum) < 0.02  # the dt -> 0 limit (Girsanov)


def test_mixed_state_linear_equals_the_pure_state_one(linear):
    mixed = _run(cqjax.Linear(), state="mixed")
    assert mixed.info["state"] == "mixed"
    for name in OBS:  # the same noise: rho~ = psi~ psi~^dag to rounding
        np.testing.assert_allclose(mixed.mean[name], linear.mean[name], rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(mixed.ess, linear.ess, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(solver=cqjax.EulerMaruyama()), "method: the linear unravelling steps with its own"),
        (dict(state="purified"), "state: 'purified' needs the healed unravelling"),
    ],
)
def test_what_the_linear_unravelling_cannot_do_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _run(cqjax.Linear(), **kwargs)


def test_a_jump_model_has_no_linear_unravelling():
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.asarray(PSI))
    with pytest.raises(ValueError, match="unravelling: 'linear' unravels diffusive CQ dynamics"):
        cqjax.run_ensemble(cqjax.JumpQubit(), init, unravelling=cqjax.Linear(), **{**KW, "observables": ("p",)})


def test_cli_linear_config_reports_the_effective_sample_size(tmp_path, capsys):
    out = tmp_path / "r.npz"
    args = ["run", str(CONFIG), "--set", "run.trajectories=300", "--set", "run.paths=2", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "linear (pure states)" in printed and "effective sample size" in printed
    back = cqjax.load(out)
    assert back.ess.shape == (11,) and back.ess[0] == pytest.approx(300, rel=1e-12) and back.ess[-1] < 250
    assert back.paths["weight"].shape == (2, 101) and np.allclose(back.paths["weight"][:, 0], 1, rtol=1e-12)
    with pytest.raises(cqjax.DataError, match="paths.weight: these are paths of the linear unravelling"):
        cqjax.load_paths(out, MODEL)


@pytest.mark.slow
def test_excess_decoherence_linear_agrees_with_healed():
    """Seed 000 above saturation (gamma_q > lam^2 / 16 gamma_c): mixed states with the excess channel."""
    model = cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=0.3)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=jnp.diag(jnp.array([0.25, 1.0])), psi=jnp.asarray(PSI))
    obs = ("p", "p*p", "sx", "q*sy", "purity")
    kw = dict(t1=0.5, dt=0.01, n_saves=1, trajectories=4000, seed=3, precision="float64", observables=obs)
    linear, healed = (cqjax.run_ensemble(model, init, unravelling=u, **kw) for u in (cqjax.Linear(), cqjax.Healed()))
    assert linear.info["state"] == healed.info["state"] == "mixed"
    for name in obs:
        se = np.hypot(linear.sem[name], healed.sem[name])[1:]
        assert_close(linear.mean[name][1:], healed.mean[name][1:], se, bias=BIAS, what=name)
