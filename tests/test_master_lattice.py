"""The CP lattice realisation of the healed master equation (cqjax/_master.py) on the Diosi
model: exact trace and positivity, and convergence to the exact solution under refinement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax._master import PhaseSpaceGrid, lattice_generator, master_step, step_operators
from exact_diosi import mean_coherence, p_moments
from helpers import qubit
from test_engine import HADAMARD, RotatedDiosi

T, LAM, SIGMA, PHI, M = 0.5, 1.0, 1.0, 2.0, 1.0


def _solve(model, nq, np_, psi0, t=T, p_range=6.0, q_range=3.0):
    grid = PhaseSpaceGrid(q=jnp.linspace(-q_range, q_range, nq), p=jnp.linspace(-p_range, p_range, np_))
    gen = lattice_generator(model, grid)
    n = int(np.ceil(t * gen.rate_bound / 0.9))
    dt = t / n
    ops = step_operators(gen, dt)
    rho0 = jnp.zeros((nq, np_, 2, 2), complex).at[nq // 2, np_ // 2].set(jnp.outer(psi0, psi0.conj()))
    rho = jax.jit(lambda r: jax.lax.fori_loop(0, n, lambda i, r: master_step(r, gen, ops, dt), r))(rho0)
    return grid, np.asarray(rho)


def _moments(grid, rho):
    pts = np.asarray(grid.points())
    tr = np.real(np.trace(rho, axis1=-2, axis2=-1))
    ep = np.sum(tr * pts[..., 1])
    return tr.sum(), ep, np.sum(tr * pts[..., 1] ** 2) - ep**2, rho[..., 0, 1].sum()


def test_trace_and_positivity_are_exact_and_unstable_dt_is_refused():
    model = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA)
    grid, rho = _solve(model, 49, 49, qubit(0.7, 0.5), p_range=12.0, q_range=6.0)
    trace, *_ = _moments(grid, rho)
    assert abs(trace - 1) < 1e-12  # nothing reaches the edge of this wide grid
    assert np.linalg.eigvalsh(rho).min() > -1e-15
    gen = lattice_generator(model, grid)
    with pytest.raises(ValueError, match="unstable"):
        step_operators(gen, 2.0 / gen.rate_bound)


def test_converges_to_exact_diosi_solution_under_refinement():
    model = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA)
    psi0 = qubit(0.7, 0.5)
    mean_p, var_p = p_moments(T, 0.0, 0.0, 0.4, LAM, SIGMA)
    coh = mean_coherence(T, complex(psi0[0] * np.conj(psi0[1])), 0.0, 0.0, LAM, PHI, SIGMA, M)
    errors = []
    for nq, np_ in ((33, 25), (65, 49), (129, 97)):
        grid, rho = _solve(model, nq, np_, psi0)
        _, ep, vp, c = _moments(grid, rho)
        assert abs(ep - mean_p) < 1e-6  # the lattice drift of p is exact while nothing is lost
        errors.append((abs(vp - var_p), abs(c - coh)))
    errors = np.array(errors)
    assert np.all(np.diff(errors, axis=0) < 0), errors  # both errors shrink with the spacing
    slope = np.log(errors[0] / errors[-1]) / np.log(4)
    assert np.all(slope > 0.7), slope  # first order in the grid spacing
    assert errors[-1, 1] < 3e-3


def test_dense_path_matches_diagonal_path():
    psi0 = qubit(0.7, 0.5)
    _, a = _solve(cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA), 17, 25, psi0)
    _, b = _solve(RotatedDiosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA), 17, 25, HADAMARD @ psi0)
    np.testing.assert_allclose(np.einsum("ij,abjk,lk->abil", HADAMARD, a, np.conj(HADAMARD)), b, atol=1e-10)


def test_lattice_refuses_a_quantum_force_without_noise():
    class NoNoiseOnP(cqjax.Diosi):
        def noise(self, z):
            return jnp.array([[1.0], [0.0]], dtype=z.dtype) * self.sigma

    grid = PhaseSpaceGrid(q=jnp.linspace(-1.0, 1.0, 5), p=jnp.linspace(-1.0, 1.0, 5))
    with pytest.raises(ValueError, match=r"positivity: coordinates \['p'\]"):
        lattice_generator(NoNoiseOnP(), grid)
