"""The quantum filter of a classical record: it reproduces the simulated states path by path, its
log-likelihood is the sum of the Gaussian transition densities, and it is differentiable."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from inference_cases import DIOSI_INIT, DT, diosi_record, seed000_record

import cqjax
from cqjax.inference.maximum_likelihood import _value_and_grad


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
def test_filter_reproduces_simulated_pure_states():
    data, states = diosi_record()
    filtered, loglik = jax.jit(cqjax.filter_paths)(cqjax.Diosi(), data.t, data.z, DIOSI_INIT.psi)
    assert filtered.shape == states.shape == (8, 101, 2)
    np.testing.assert_allclose(filtered, states, rtol=0, atol=1e-12)
    assert loglik.shape == (8,) and np.all(np.isfinite(loglik))


def test_filter_reproduces_simulated_mixed_states_above_saturation():
    data, states = seed000_record()
    model = cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=0.5)
    filtered, _ = jax.jit(cqjax.filter_paths)(model, data.t, data.z, DIOSI_INIT.psi)  # psi promoted to rho
    assert filtered.shape == states.shape == (8, 101, 2, 2)
    np.testing.assert_allclose(filtered, states, rtol=0, atol=1e-12)
    purity = np.real(np.einsum("ntij,ntji->nt", filtered, filtered))
    assert purity[:, -1].max() < 0.999  # excess decoherence: the conditional state is mixed


def test_loglik_is_the_sum_of_gaussian_transition_densities():
    """Direct evaluation from the simulation's own states: dp_k ~ N(-2 lam <sz>_k dt, sigma^2 dt)."""
    lam, sigma = 1.0, 1.0
    data, states = diosi_record()
    _, loglik = jax.jit(cqjax.filter_paths)(cqjax.Diosi(lam=lam, sigma=sigma), data.t, data.z, DIOSI_INIT.psi)
    sz = np.abs(np.asarray(states[:, :-1, 0])) ** 2 - np.abs(np.asarray(states[:, :-1, 1])) ** 2
    dp = np.diff(data.z[..., 1], axis=1)
    mean, var = -2 * lam * sz * DT, sigma**2 * DT
    direct = np.sum(-0.5 * (dp - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var), axis=1)
    np.testing.assert_allclose(loglik, direct, rtol=1e-12)
    # q has no noise: its increments are the deterministic p/m dt of the Euler step
    np.testing.assert_allclose(np.diff(data.z[..., 0], axis=1), data.z[:, :-1, 1] * DT, atol=1e-14)


def test_seed000_excess_dephasing_is_invisible_in_the_record():
    """H = lam q sz commutes with the measured sz: dephasing in that basis changes no <sz>, so the
    path likelihood does not depend on gamma_q (an excess decoherence cannot be inferred here)."""
    data, _ = seed000_record()
    run = jax.jit(cqjax.filter_paths)
    lls = [
        run(cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=g), data.t, data.z, DIOSI_INIT.psi)[1] for g in (0.125, 2.0)
    ]
    np.testing.assert_allclose(lls[0], lls[1], rtol=1e-12)


def test_loglik_gradient_matches_finite_differences():
    data, _ = diosi_record()
    args = (cqjax.Diosi(), ("lam", "sigma"), jnp.array([False, False]), jnp.asarray(data.t), jnp.asarray(data.z))
    args = args + (jnp.asarray(DIOSI_INIT.psi, jnp.complex128), 1.0)
    u = jnp.array([0.8, 1.2])
    _, grad = _value_and_grad(u, *args)
    h = 1e-6
    for i in range(2):
        e = jnp.zeros(2).at[i].set(h)
        fd = (_value_and_grad(u + e, *args)[0] - _value_and_grad(u - e, *args)[0]) / (2 * h)
        assert abs(float(grad[i]) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))


def test_filter_refuses_absorbing_models():  # jump models: tests/test_inference_jumps.py
    t, z = jnp.linspace(0, 1, 3), jnp.zeros((3, 2))
    with pytest.raises(ValueError, match="absorbing rule"):
        cqjax.filter(cqjax.SqrtWell(), t, z + 1.0, DIOSI_INIT.psi)
