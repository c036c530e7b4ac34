"""The test mass near a planet in superposition (seed 004 App. C.4): decoherence at the rate the
trade-off predicts, no signalling (a superposition and the matching mixture give the same
classical statistics), and deterministic mean-field runs.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, qubit

import cqjax

R0 = [0.0, -0.5, 0.0, 0.0, 0.0, 0.0]  # Fig. 7: at rest at (0, -0.5, 0)


def _run(model, psi, *, t1, dt, n, seed, names, unravelling=None):
    init = cqjax.InitialState(z_mean=jnp.asarray(R0), psi=psi)
    return cqjax.run_ensemble(
        model,
        init,
        t1=t1,
        dt=dt,
        n_saves=5,
        trajectories=n,
        seed=seed,
        observables=names,
        precision="float64",
        unravelling=unravelling or cqjax.Healed(),
    )


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
def test_coherence_decays_at_the_trade_off_rate():
    """At r0 the planets are equidistant (R^2 = d^2 + 1/4), so the branches have equal energies
    and forces differing by dF = 2 G M m d e_x / R^3; at saturation the coherence decays at
    Gamma = |dF|^2 / (8 sigma^2). Over t = 0.05 the mass moves by ~5e-3, changing Gamma by ~1%."""
    G, M, m, d, sigma = 1.0, 10.0, 0.01, 1.0, 0.02
    model = cqjax.SuperposedMass(G=G, M=M, m=m, d=d, sigma=sigma)
    R = np.sqrt(d**2 + 0.25)
    gamma = (2 * G * M * m * d / R**3) ** 2 / (8 * sigma**2)
    r = _run(model, qubit(0.5), t1=0.05, dt=1e-4, n=20_000, seed=11, names=("sx", "sy", "sz"))
    exact = np.exp(-gamma * r.t)  # <sx> = 2 Re rho_01, rho_01(0) = 1/2
    bias = 0.02 * gamma * r.t * exact + 1e-3  # Gamma drifting by <= 2 % over the run, and O(dt)
    assert_close(r.mean["sx"], exact, r.sem["sx"] + 1e-12, bias, what="E<sx>(t)")
    assert_close(r.mean["sy"], 0.0, r.sem["sy"] + 1e-12, 1e-3, what="E<sy>(t)")
    assert_close(r.mean["sz"], 0.0, r.sem["sz"] + 1e-12, what="E<sz>(t)")
    assert exact[-1] < 0.75  # a real decay (Gamma t = 0.32), not a test that cannot fail


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
def test_no_signalling_superposition_and_mixture_give_the_same_classical_statistics():
    model = cqjax.SuperposedMass(sigma=0.02)
    names = ("x", "y", "px", "py", "px*px", "x*px")
    kw = dict(t1=0.35, dt=1e-3, n=20_000, names=names)
    sup = _run(model, qubit(0.5), seed=1, **kw)
    up = _run(model, qubit(1.0), seed=2, **kw)
    down = _run(model, qubit(0.0), seed=3, **kw)
    for name in names:
        mixture = 0.5 * (up.mean[name] + down.mean[name])
        se = np.sqrt(sup.sem[name] ** 2 + 0.25 * (up.sem[name] ** 2 + down.sem[name] ** 2))
        assert_close(sup.mean[name], mixture, se + 1e-12, what=f"E[{name}] superposition vs mixture")
    # the statistics are informative: the two branches really do go different ways in x
    assert up.mean["px"][-1] - down.mean["px"][-1] > 20 * (up.sem["px"][-1] + down.sem["px"][-1])


def test_mean_field_is_deterministic_and_feels_the_average_planet():
    model = cqjax.SuperposedMass(sigma=0.02)
    mf = cqjax.MeanField()
    a = _run(model, qubit(0.5), t1=0.35, dt=1e-3, n=8, seed=1, names=("x", "px", "py", "sx"), unravelling=mf)
    b = _run(model, qubit(0.5), t1=0.35, dt=1e-3, n=8, seed=2, names=("x", "px", "py", "sx"), unravelling=mf)
    for name in ("x", "px", "py", "sx"):
        np.testing.assert_array_equal(a.mean[name], b.mean[name])
        assert np.all(a.sem[name] < 1e-12)
    np.testing.assert_allclose(a.mean["px"], 0.0, atol=1e-12)  # pulled to the midpoint: no x force
    assert a.mean["py"][-1] > 0  # towards the planets' line y = 0
    np.testing.assert_allclose(a.mean["sx"], 1.0, atol=1e-9)  # no decoherence, no phase (phi = 0)
