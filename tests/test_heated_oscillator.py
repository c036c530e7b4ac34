"""Anomalous heating (seed 003 eq. 130; J. Oppenheim, "A postquantum theory of classical gravity?"):
a quantum oscillator coupled through its position to a classical particle (``cqjax.HeatedOscillator``)
is decohered by the back-reaction, D0 D[x] with D0 = lam^2 / (4 sigma^2) (seed 004 eq. 6 saturated),
and heats linearly at D0 / (2 mu); the total energy at sigma^2/(2M) + D0/(2mu)
(``cqjax.analysis.heating_rate``). Truncation: the rate is D0/(2mu)(1 - levels <P_top>) in the
truncated basis, so levels D0/(2mu) t max<P_top> bounds the truncation error; the tests require it
below 1e-4 and add it to the tolerance. Tolerance: 5 SE + 20 dt x rate x t (the Kraus step's O(dt) bias, as in
tests/test_diosi_physics.py).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax.analysis import heating_rate

LEVELS, T1, DT = 10, 1.0, 4e-3
OBS = ("h", "top", "p*p", "q*x")
LAM, SIGMA, MU, OMEGA = 1.0, 1.0, 1.0, 1.0


def _run(model, n=1_000, seed=41):
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.asarray(model.named_states()["ground"]))
    return cqjax.run_ensemble(
        model,
        init,
        t1=T1,
        dt=DT,
        n_saves=5,
        trajectories=n,
        seed=seed,
        observables=OBS,
        precision="float64",
    )


def _truncation(r, rate):
    bound = LEVELS * rate * T1 * r.mean["top"].max()
    assert bound < 1e-4, f"truncation error bound {bound:.3g}: raise levels"
    return bound


def test_oscillator_heats_linearly_at_d0_over_2mu():
    """The particle held at q = 0 (M = inf): E<H_osc>(t) = omega/2 + D0 t / (2 mu), D0 = 1/4."""
    model = cqjax.HeatedOscillator(M=float("inf"), lam=LAM, sigma=SIGMA, mu=MU, omega=OMEGA, levels=LEVELS)
    rate, total = heating_rate(LAM, SIGMA, MU)
    assert rate == total == pytest.approx(0.125)
    r = _run(model)
    bias = 20 * DT * rate * r.t + _truncation(r, rate)
    assert_close(r.mean["h"], OMEGA / 2 + rate * r.t, r.sem["h"] + 1e-12, bias, what="E<H_osc>(t)")
    assert r.mean["h"][-1] - OMEGA / 2 > 10 * r.sem["h"][-1]  # heated, well beyond the noise


def test_total_energy_grows_at_classical_diffusion_plus_anomalous_heating():
    """A moving particle (M = 2): E[p^2/2M + lam q <x> + <H_osc>] = omega/2 + (sigma^2/2M + D0/2mu) t;
    the SE of the sum is bounded by the sum of the SEs."""
    model = cqjax.HeatedOscillator(M=2.0, lam=LAM, sigma=SIGMA, mu=MU, omega=OMEGA, levels=LEVELS)
    rate, total = heating_rate(LAM, SIGMA, MU, M=2.0)
    assert total == pytest.approx(0.375)
    r = _run(model, seed=42)
    energy = r.mean["p*p"] / 4 + LAM * r.mean["q*x"] + r.mean["h"]
    se = r.sem["p*p"] / 4 + LAM * r.sem["q*x"] + r.sem["h"] + 1e-12
    bias = 20 * DT * total * r.t + _truncation(r, rate)
    assert_close(energy, OMEGA / 2 + total * r.t, se, bias, what="E[H](t)")


def test_truncated_double_commutator_is_one_over_mu_below_the_top_level():
    """[x, [H_osc, x]] = (1/mu)(I - levels |top><top|) for the truncated operators."""
    model = cqjax.HeatedOscillator(mu=2.0, omega=1.5, levels=6)
    ops = {k: np.asarray(v) for k, v in model.operators().items()}
    x, h = ops["x"], ops["h"]
    double = x @ (h @ x - x @ h) - (h @ x - x @ h) @ x
    want = (np.eye(6) - 6 * ops["top"]) / 2.0
    np.testing.assert_allclose(double, want, atol=1e-6)
