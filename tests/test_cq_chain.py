"""A chain of classical-quantum sites with correlated noise (``cqjax.CQChain``; seed 004 App. C.5:
I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics").

The coherence between two configurations decays at the trade-off rate
1/8 dF^T pinv(sigma sigma^T) dF (seed 004 eq. 6, saturated), which the correlated noise changes;
the ensemble's E rho_ab(t) is checked against ``cqjax.analysis.cq_chain_coherence`` (the exact
Feynman-Kac solution of the CQ master equation for this diagonal model) within 5 SE + 20 dt
(the O(dt) bias of the Kraus step, as in tests/test_diosi_physics.py).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax import generator
from cqjax.analysis import tradeoff_rate
from cqjax.analysis.exact import cq_chain_coherence

N, T1, DT = 3, 0.8, 2e-3
OBS = ("sx_2", "sy_2", "X^n", "Y^n", "p_2", "q_1*q_3")


def _run(model, z0, psi, seed):
    init = cqjax.InitialState(z_mean=jnp.asarray(z0), psi=jnp.asarray(psi))
    return cqjax.run_ensemble(
        model, init, t1=T1, dt=DT, n_saves=4, trajectories=4_000, seed=seed, observables=OBS, precision="float64"
    )


def _basis(*indices):
    psi = np.zeros(2**N, complex)
    psi[list(indices)] = 1 / np.sqrt(len(indices))
    return psi


def test_correlated_noise_sets_the_decoherence_rate_of_one_site():
    """(|000> + |010>)/sqrt2: the configurations differ on site 2 only, dF = -2 lam e_2, so
    Gamma = lam^2 / 2 (C^-1)_22 with C = sigma_pp sigma_pp^T; for c = 0.3 that is 0.88 lam^2 /
    sigma^2, not the 0.5 of independent noise. The two branches share the springs' drift."""
    model = cqjax.CQChain(n=N, m=1.0, k=1.0, lam=1.0, sigma=1.0, c=0.3)
    z0 = np.array([0.1, 0.2, 0.3, 0.5, 0.0, -0.4])
    r = _run(model, z0, _basis(0, 2), seed=31)
    exact, gamma = cq_chain_coherence(r.t, model, z0, 0, 2)
    sig = np.eye(N) + 0.3 * (np.eye(N, k=1) + np.eye(N, k=-1))
    assert gamma == pytest.approx(0.5 * np.linalg.inv(sig @ sig.T)[1, 1]) and gamma > 0.85
    assert_close(r.mean["sx_2"], 2 * exact.real, r.sem["sx_2"] + 1e-12, 20 * DT, what="E<sx_2>")
    assert_close(r.mean["sy_2"], -2 * exact.imag, r.sem["sy_2"] + 1e-12, 20 * DT, what="E<sy_2>")
    # independent noise would predict a slower decay: rejected by the ensemble
    independent = 2 * (exact * np.exp((gamma - 0.5) * r.t)).real
    assert abs(r.mean["sx_2"][-1] - independent[-1]) > 10 * r.sem["sx_2"][-1] + 20 * DT


def test_correlated_noise_sets_the_decoherence_rate_of_the_ghz_state():
    """(|000> + |111>)/sqrt2: dF = -2 lam (1, 1, 1), Gamma = lam^2 / 2 1^T C^-1 1; the mean branch
    force is 0, the centre of mass feels neither the springs nor the qubits."""
    model = cqjax.CQChain(n=N, m=1.0, k=2.0, lam=0.8, sigma=1.2, c=-0.25)
    z0 = np.array([0.0, 0.1, -0.2, 0.3, 0.2, 0.1])
    r = _run(model, z0, model.named_states()["ghz"], seed=32)
    exact, gamma = cq_chain_coherence(r.t, model, z0, 0, 2**N - 1)
    c_inv = np.linalg.inv(model.noise_matrix(jnp.float64) @ model.noise_matrix(jnp.float64).T)
    assert gamma == pytest.approx(0.5 * 0.8**2 * np.sum(c_inv))
    assert_close(r.mean["X^n"], 2 * exact.real, r.sem["X^n"] + 1e-12, 20 * DT, what="E<X^3>")
    assert_close(r.mean["Y^n"], 2 * exact.imag, r.sem["Y^n"] + 1e-12, 20 * DT, what="E<Y^3>")  # 2 Re(i^3 rho_01)


def test_generator_forces_and_tradeoff_rate_agree_with_the_closed_form():
    """The engine's forces (autodiff of H) are -lam sz^x on the momenta and 0 on the positions, and
    ``cqjax.analysis.tradeoff_rate`` (basis states 0 and 1: |00> and |01>, differing on site 2),
    computed from them and the engine's noise matrix, equals the closed form of ``cq_chain_coherence``."""
    model = cqjax.CQChain(n=2, m=1.0, k=1.5, lam=0.7, sigma=0.9, c=0.2)
    z = jnp.array([0.3, -0.1, 0.2, 0.4], jnp.float64)
    force = np.asarray(generator(model, z).force.real)  # (4, 4): rows q_1, q_2, p_1, p_2
    sz1, sz2 = np.array([1, 1, -1, -1]), np.array([1, -1, 1, -1])
    np.testing.assert_allclose(force[2:], -0.7 * np.stack([sz1, sz2]), atol=1e-12)
    np.testing.assert_allclose(force[:2], 0.0, atol=1e-12)
    _, gamma = cq_chain_coherence(np.zeros(1), model, np.zeros(4), 0, 1)
    sig = 0.9 * np.array([[1.0, 0.2], [0.2, 1.0]])
    assert gamma == pytest.approx((2 * 0.7) ** 2 * np.linalg.inv(sig @ sig.T)[1, 1] / 8, rel=1e-12)
    assert float(tradeoff_rate(model, z)) == pytest.approx(gamma, rel=1e-10)
