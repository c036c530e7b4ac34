"""Correlated initial CQ states: varrho(z, 0) = sum_k w_k N(z; m_k, C_k) rho_k, not a product.

Diosi (seed 004 eqs. C.4-C.5, Layton, Oppenheim and Weller-Davies): sz commutes with H(z) and the
force operator is -2 lam sz, so for any initial state d/dt E[p sz] = -2 lam E[sz^2] = -2 lam and
E[sz] is conserved: E[p sz](t) = E[p sz](0) - 2 lam t, E[q sz](t) = E[q sz](0) + E[p sz](0) t / m
- lam t^2 / m. The mixture below (|+> near q = -1, |0> near q = +1) has E[q sz](0) = w_1 = 0.6,
while the product of its marginals would give E[q] E[sz] = 0.12.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax.io.config import ConfigError, parse_config
from cqjax.master._initial import initial_masses
from cqjax.master.grid import PhaseSpaceGrid

LAM, M, W1 = 0.7, 1.0, 0.6
PLUS = np.array([1.0, 1.0]) / np.sqrt(2)
ZERO = np.array([1.0, 0.0])
COV = 0.04 * np.eye(2)
OBS = ["q", "p", "sz", "q*sz", "p*sz"]


def _mixture():
    return cqjax.Mixture([(1 - W1, PLUS, ((-1.0, 0.0), COV)), (W1, ZERO, ((1.0, 0.0), COV))])


def _exact(t):
    return {
        "sz": np.full_like(t, W1),
        "q": (2 * W1 - 1) - LAM * W1 * t**2 / M,
        "p": -2 * LAM * W1 * t,
        "q*sz": W1 - LAM * t**2 / M,
        "p*sz": -2 * LAM * t,
    }


@pytest.fixture(scope="module")
def model():
    return cqjax.Diosi(m=M, lam=LAM, phi=0.3, sigma=1.0)


@pytest.fixture(scope="module")
def ensemble(model):
    return cqjax.run(
        model, None, _mixture(), dt=0.01, t1=0.6, n_saves=3, trajectories=4000, observables=OBS, precision="float64"
    )


def test_mixture_run_matches_exact_moments(ensemble):
    """E[q sz](0) = 0.6 (not the product's 0.12) and the exact moments at t > 0, within 5 SE."""
    exact = _exact(np.asarray(ensemble.t))
    for name in OBS:
        assert_close(ensemble.mean[name], exact[name], ensemble.sem[name] + 1e-12, what=name)
    assert abs(ensemble.mean["q*sz"][0] - ensemble.mean["q"][0] * ensemble.mean["sz"][0] - 0.48) < 0.1


def test_mixture_master_matches_exact_and_the_run(model, ensemble):
    """The master equation from the weighted sum of the components' cell densities: the exact
    moments (to its discretisation error) and ``compare`` against the run."""
    master = cqjax.master(model, None, _mixture(), t1=0.6, n_saves=3, observables=OBS, cells=(48, 48))
    exact = _exact(np.asarray(master.t))
    for name in OBS:
        np.testing.assert_allclose(master.mean[name], exact[name], atol=5e-3 + 3 * np.max(master.err[name]))
    comparison = cqjax.compare(ensemble, master)
    assert comparison.agree, comparison.report()


def test_mixture_sampling_draws_components_by_weight():
    """Each trajectory draws its component from its own key: the fraction in component 1 (|0>,
    q near +1) is W1 within 5 SE, and its state is then |0>."""
    init = cqjax.MixtureState(
        [
            cqjax.InitialState(z_mean=jnp.array([-1.0, 0.0]), psi=jnp.asarray(PLUS, complex)),
            cqjax.InitialState(z_mean=jnp.array([1.0, 0.0]), psi=jnp.asarray(ZERO, complex)),
        ],
        [2 * (1 - W1), 2 * W1],  # normalised by the sum
    )
    np.testing.assert_allclose(init.weights, [1 - W1, W1])
    keys = jax.random.split(jax.random.key(3), 4000)
    z, psi = jax.vmap(lambda k: init.sample(k, jnp.float64))(keys)
    one = np.asarray(z[:, 0]) > 0
    assert_close(one.mean(), W1, np.sqrt(W1 * (1 - W1) / one.size), what="component fraction")
    np.testing.assert_allclose(np.abs(np.asarray(psi[one])), np.tile(ZERO, (one.sum(), 1)), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.asarray(psi[~one])), np.tile(PLUS, ((~one).sum(), 1)), atol=1e-12)
    rho, z_cov = init.density(), np.asarray(init.z_cov)
    np.testing.assert_allclose(rho, (1 - W1) * np.outer(PLUS, PLUS) + W1 * np.diag([1.0, 0.0]), atol=1e-12)
    np.testing.assert_allclose(z_cov, [[1 - (2 * W1 - 1) ** 2, 0.0], [0.0, 0.0]], atol=1e-12)


def test_mixture_cell_masses_are_the_weighted_sum(model):
    grid = PhaseSpaceGrid(lo=[-3.0, -2.0], hi=[3.0, 2.0], cells=[12, 8])
    init = cqjax.front._inputs.initial_state(model, None, _mixture())
    masses, lost = initial_masses(init, grid, np.complex128)
    parts = [initial_masses(c, grid, np.complex128)[0] for c in init.components]
    np.testing.assert_allclose(masses, (1 - W1) * parts[0] + W1 * parts[1], atol=1e-15)
    assert abs(np.trace(masses.sum((0, 1))).real + lost - 1) < 1e-12


def _config(initial):
    return {
        "model": "diosi",
        "run": {"t1": 0.1, "dt": 0.01, "trajectories": 10, "n_saves": 10},
        "initial": initial,
        "observables": {"names": ["q*sz"]},
    }


def test_config_components():
    cfg = parse_config(
        _config(
            {
                "components": [
                    {"weight": 1.0, "z_mean": [-1.0, 0.0], "psi": "plus"},
                    {"weight": 3.0, "z_mean": [1.0, 0.0], "z_cov": [[0.1, 0.0], [0.0, 0.1]], "psi": "zero"},
                ]
            }
        )
    )
    assert isinstance(cfg.initial, cqjax.MixtureState)
    np.testing.assert_allclose(cfg.initial.weights, [0.25, 0.75])
    assert [c["weight"] for c in cfg.resolved["initial"]["components"]] == [0.25, 0.75]
    assert parse_config(_config(cfg.resolved["initial"])).resolved["initial"] == cfg.resolved["initial"]


@pytest.mark.parametrize(
    "initial, message",
    [
        ({"components": []}, "initial.components: give at least one"),
        ({"components": [{"z_mean": [0.0, 0.0], "psi": "plus"}]}, "initial.components[0].weight"),
        ({"components": [{"weight": -1.0, "z_mean": [0.0, 0.0], "psi": "plus"}]}, "initial.components[0].weight"),
        ({"components": [{"weight": 1.0, "psi": "plus"}]}, "initial.components[0]: initial.z_mean"),
        ({"components": [{"weight": 1.0, "z_mean": [0.0], "psi": "plus"}]}, "initial.components[0]: initial.z_mean"),
        ({"components": [{"weight": 1.0, "z_mean": [0.0, 0.0], "spin": 1}]}, "initial.components[0]: initial.spin"),
        ({"z_mean": [0.0, 0.0], "psi": "plus", "components": []}, "not both"),
        ({"psi": "plus"}, "initial.z_mean: required"),
    ],
)
def test_config_components_refused(initial, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(_config(initial))


def test_front_door_mixture_refused():
    model = cqjax.Diosi()
    with pytest.raises(ValueError, match="state0: give None"):
        cqjax.front._inputs.initial_state(model, PLUS, _mixture())
    with pytest.raises(ValueError, match="weights must be finite and positive"):
        cqjax.front._inputs.initial_state(model, None, cqjax.Mixture([(0.0, PLUS, (0.0, 0.0))]))
    with pytest.raises(ValueError, match="z0 component 0: state0"):
        cqjax.front._inputs.initial_state(model, None, cqjax.Mixture([(1.0, np.ones(3), (0.0, 0.0))]))
