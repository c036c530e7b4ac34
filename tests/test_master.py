"""The master-equation solver (cqjax/master/lattice.py, cqjax/master/solver.py) against exact solutions:
Diosi (Gaussian branches, coherence), seed 000 (exactly solvable, q conserved), the seed-003
jump qubit (Poisson jumps); trace, lost mass, positivity diagnostics, error estimates.

Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory".
Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".
"""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import HADAMARD, RotatedDiosi, qubit

import cqjax
from cqjax import InitialState, PhaseSpaceGrid, solve_master
from cqjax.analysis import (
    diosi_coherence,
    diosi_p_moments,
    diosi_q_mean,
    seed000_min_eig_relative,
    seed000_p_marginal_masses,
)
from cqjax.master.lattice import lattice_generator, step_operators

LAM, SIGMA, PHI, M = 1.0, 1.0, 2.0, 1.0


def _point(z, psi, cov=None):
    return InitialState(jnp.asarray(z, float), jnp.asarray(psi), None if cov is None else jnp.asarray(cov, float))


def _moments(grid, masses):
    pts = grid.mesh()
    tr = np.real(np.trace(masses, axis1=-2, axis2=-1))
    ep = np.sum(tr * pts[..., 1])
    return ep, np.sum(tr * pts[..., 1] ** 2) - ep**2, masses[..., 0, 1].sum()


# ---------------------------------------------------------------------------------------------
# The lattice: complete positivity, trace, lost mass, stability


def test_step_is_cp_and_trace_preserving_and_unstable_dt_is_refused():
    model = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA)
    r = solve_master(
        model,
        _point([0.0, 0.0], qubit(0.7, 0.5)),
        t1=0.5,
        n_saves=5,
        cells=(49, 49),
        extent={"q": (-6.0, 6.0), "p": (-12.0, 12.0)},
        error_estimate=False,
    )
    assert r.completely_positive
    np.testing.assert_allclose(r.trace, 1.0, atol=1e-12)  # nothing reaches the edge of this wide grid
    assert r.lost.max() < 1e-12
    assert r.min_eig.min() > -1e-14
    gen = lattice_generator(model, r.grid)
    with pytest.raises(ValueError, match="^dt: .* unstable"):
        step_operators(gen, 2.0 / gen.rate_bound)
    with pytest.raises(ValueError, match="^dt: .* unstable"):
        solve_master(
            model,
            _point([0.0, 0.0], qubit(0.7)),
            t1=0.5,
            n_saves=5,
            cells=(49, 49),
            extent={"q": (-6.0, 6.0), "p": (-12.0, 12.0)},
            dt=0.05,
        )


def test_mass_leaving_the_grid_is_counted_per_side():
    """|0> is pushed to negative p: on a narrow grid it leaves through the low side of p only."""
    model = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=0.3)
    r = solve_master(
        model,
        _point([0.0, 0.0], qubit(1.0)),
        t1=1.0,
        n_saves=4,
        cells=(33, 33),
        extent={"q": (-3.0, 3.0), "p": (-1.0, 1.0)},
        error_estimate=False,
    )
    np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)
    assert r.lost[-1] > 0.5
    sides = r.lost_sides[-1]
    assert sides[1, 0] > 0.99 * r.lost[-1]  # p, low side
    assert sides[1, 1] < 1e-9


def test_dense_path_matches_diagonal_path():
    psi0 = qubit(0.7, 0.5)
    kw = dict(t1=0.3, n_saves=3, cells=(17, 25), extent={"q": (-2.0, 2.0), "p": (-5.0, 5.0)}, error_estimate=False)
    a = solve_master(cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA), _point([0.0, 0.0], psi0), **kw)
    b = solve_master(RotatedDiosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA), _point([0.0, 0.0], HADAMARD @ psi0), **kw)
    assert a.dt == b.dt
    rotated = np.einsum("ij,tabjk,lk->tabil", HADAMARD, a.masses, np.conj(HADAMARD))
    np.testing.assert_allclose(rotated, b.masses, atol=1e-10)


def test_a_force_without_noise_gives_a_generator_that_is_not_cp_and_trajectories_are_refused():
    class NoNoiseOnP(cqjax.Diosi):
        def noise(self, z):
            return jnp.array([[1.0], [0.0]], dtype=z.dtype) * self.sigma

    grid = PhaseSpaceGrid(lo=(-1.0, -1.0), hi=(1.0, 1.0), cells=(5, 5))
    assert not lattice_generator(NoNoiseOnP(), grid).completely_positive
    with pytest.raises(ValueError, match=r"positivity: coordinates \['p'\]"):
        cqjax.run_ensemble(
            NoNoiseOnP(), _point([0.0, 0.0], qubit(0.5)), t1=0.1, dt=0.01, n_saves=1, trajectories=4, observables=("p",)
        )


# ---------------------------------------------------------------------------------------------
# Diosi: exact Gaussian branches and coherence


def test_diosi_converges_to_exact_solution_under_refinement():
    """Var p, the total coherence and the branch means of q converge at first order."""
    model = cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA)
    psi0 = qubit(0.7, 0.5)
    t = 0.5
    mean_p, var_p = diosi_p_moments(t, 0.0, 0.0, 0.4, LAM, SIGMA)
    coh = diosi_coherence(t, psi0, [0.0, 0.0], LAM, SIGMA, M, PHI)
    q_up = diosi_q_mean(t, 0.0, 0.0, 1.0, LAM, M)  # the |0> branch: force -2 lam
    errors = []
    for nq, np_ in ((33, 25), (65, 49), (129, 97)):
        r = solve_master(
            model,
            _point([0.0, 0.0], psi0),
            t1=t,
            n_saves=1,
            cells=(nq, np_),
            extent={"q": (-3.0, 3.0), "p": (-6.0, 6.0)},
            error_estimate=False,
        )
        ep, vp, c = _moments(r.grid, r.masses[-1])
        assert abs(ep - mean_p) < 1e-6  # the lattice drift of p is exact while nothing is lost
        up = np.real(r.masses[-1, ..., 0, 0])
        eq_up = np.sum(up * r.grid.mesh()[..., 0]) / up.sum()
        errors.append((abs(vp - var_p), abs(c - coh), abs(eq_up - q_up)))
    errors = np.array(errors)
    assert np.all(np.diff(errors[:, :2], axis=0) < 0), errors  # shrink with the spacing
    slope = np.log(errors[0, :2] / errors[-1, :2]) / np.log(4)
    assert np.all(slope > 0.7), slope  # first order in the grid spacing
    assert errors[-1, 1] < 3e-3
    # the branch means of q: exact in space (upwind moves q at p_c / m), first order in time
    assert np.all(np.diff(errors[:, 2]) < 0) and errors[-1, 2] < 2e-3, errors


def test_error_estimate_covers_the_actual_error():
    """The half-resolution estimate is of the size of the true error (Diosi, t = 1)."""
    psi0 = qubit(0.5)
    r = solve_master(
        cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA),
        _point([0.0, 0.0], psi0),
        t1=1.0,
        n_saves=10,
        cells=(96, 96),
        observables=("p*p", "sx", "sy"),
    )
    coh = diosi_coherence(r.t, psi0, [0.0, 0.0], LAM, SIGMA, M, PHI)
    exact = {
        "p*p": np.array([diosi_p_moments(t, 0, 0, 0.0, LAM, SIGMA)[1] for t in r.t]),
        "sx": 2 * coh.real,
        "sy": -2 * coh.imag,
    }
    for name, value in exact.items():
        actual = np.abs(r.mean[name] - value)
        assert np.all(actual <= r.err[name] + 1e-9), (name, actual, r.err[name])
        # and not absurdly pessimistic (errors of opposite sign in space and time can cancel in the
        # fine run and not in the coarse one: with the safety factor 3, a factor 30 happens)
        assert np.max(r.err[name]) < 50 * np.max(actual) + 1e-6, name


# ---------------------------------------------------------------------------------------------
# Seed 000: exactly solvable; positivity iff gamma_c gamma_q >= lam^2 / 16


@pytest.mark.parametrize("gamma_q", [0.125, 0.0625])
def test_seed000_matches_the_exact_solution_at_second_order(gamma_q):
    psi = np.array([np.sqrt(0.7), np.sqrt(0.3) * np.exp(0.5j)])
    model = cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=gamma_q, hbar=2.0)
    initial = _point([0.3, 0.2], psi, [[0.0, 0.0], [0.0, 0.25]])
    errors = []
    for n in (32, 64, 128):
        r = solve_master(
            model,
            initial,
            t1=1.0,
            n_saves=2,
            extent={"p": (-6.0, 6.0)},
            cells=(1, n),
            error_estimate=False,
            allow_non_cp=True,
        )
        assert r.grid.cells[0] == 1  # q conserved and given: one 1-D problem in p
        exact = seed000_p_marginal_masses(r.grid.edges(1), 1.0, 0.3, psi, 0.2, 0.25, -1.0, 0.5, gamma_q, 2.0)
        errors.append(np.abs(r.masses[-1, 0] - exact).sum(0)[[0, 1, 0], [0, 1, 1]])
    errors = np.array(errors)
    order = np.log2(errors[:-1] / errors[1:])
    assert np.all(order > 1.6), order  # the diffusion-dominated lattice is second order here
    assert np.all(errors[-1] < 1e-3), errors


def test_seed000_positivity_diagnostic_holds_iff_the_trade_off_does():
    """min_eig >= 0 at and above gamma_c gamma_q = lam^2/16, < 0 below, matching the continuum."""
    psi = qubit(0.5)
    lam, gc = -1.0, 0.5
    for ratio in (0.5, 1.0, 2.0):
        gq = ratio * lam**2 / (16 * gc)
        r = solve_master(
            cqjax.Seed000(lam=lam, gamma_c=gc, gamma_q=gq),
            _point([0.0, 0.0], psi, np.diag([0.0, 0.25])),
            t1=2.0,
            n_saves=4,
            cells=(1, 192),
            extent={"p": (-8.0, 8.0)},
            error_estimate=False,
            allow_non_cp=True,
        )
        exact = seed000_min_eig_relative(2.0, 0.0, 0.25, lam, gc, gq, psi)
        assert r.completely_positive == (ratio >= 1.0)
        if ratio >= 1.0:
            assert r.min_eig.min() > -1e-12 and exact > -1e-12
        else:
            assert exact < -0.05
            assert abs(r.min_eig[-1] - exact) < 0.02 * abs(exact), (r.min_eig[-1], exact)


def test_seed000_closed_system_is_not_positive():
    model, initial = cqjax.Seed000(lam=-1.0, gamma_c=0.0, gamma_q=0.0), _point([0.0, 0.0], qubit(0.5))
    with pytest.raises(ValueError, match=r"master: complete positivity: .* at the master grid cell .*allow_non_cp"):
        solve_master(model, initial, t1=1.0, n_saves=4, cells=(1, 64), error_estimate=False)
    r = solve_master(model, initial, t1=1.0, n_saves=4, cells=(1, 64), error_estimate=False, allow_non_cp=True)
    assert not r.completely_positive
    assert r.min_eig[1:].max() < -0.1
    np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Seed 003 jump qubit: Poisson jumps of size tau B, coherence exp(-omega t / tau)


def test_jump_qubit_populations_follow_poisson_counting_up_to_order_dt():
    from math import exp, factorial

    model = cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.25)
    t, lam = 1.0, 4.0  # omega t / tau jumps on average, each of size tau B = 0.25
    psi = qubit(0.6)
    errors = []
    for dt in (0.01, 0.005):
        # q moves with p / m, so q needs a grid; the p-marginal is what Poisson counting predicts
        r = solve_master(
            model,
            _point([0.0, 0.0], psi),
            t1=t,
            n_saves=1,
            cells=(64, 81),
            dt=dt,
            extent={"q": (-4.0, 4.0), "p": (-5.0625, 5.0625)},
            error_estimate=False,
        )
        assert r.grid.spacing[1] == pytest.approx(0.125)  # the extent is honoured; jumps land on cells
        up = np.real(r.masses[-1, ..., 0, 0]).sum(0)
        dn = np.real(r.masses[-1, ..., 1, 1]).sum(0)
        p = r.grid.centres(1)
        pois = {k: exp(-lam) * lam**k / factorial(k) for k in range(20)}
        on_cell = np.abs(p / 0.25 - np.round(p / 0.25)) < 1e-6  # p lies on a multiple of the jump
        exact_up = np.array(
            [0.6 * pois.get(int(round(-x / 0.25)), 0.0) if x <= 1e-9 and ok else 0.0 for x, ok in zip(p, on_cell)]
        )
        exact_dn = np.array(
            [0.4 * pois.get(int(round(x / 0.25)), 0.0) if x >= -1e-9 and ok else 0.0 for x, ok in zip(p, on_cell)]
        )
        errors.append(np.abs(up - exact_up).sum() + np.abs(dn - exact_dn).sum())
    assert errors[0] < 0.05 and errors[1] < 0.55 * errors[0], errors  # first order in dt


def test_jump_qubit_coherence_decays_at_omega_over_tau_and_rotates_with_q():
    model = cqjax.JumpQubit(m=1.0, B=2.0, omega=1.0, tau=0.5)
    q0, t = 0.3, 1.0
    psi = qubit(0.5)
    for dt in (0.01, 0.0025):
        r = solve_master(
            model,
            _point([q0, 0.0], psi),
            t1=t,
            n_saves=2,
            cells=(64, 21),
            dt=dt,
            extent={"q": (-8.0, 8.0), "p": (-10.5, 10.5)},
            error_estimate=False,
        )
        coh = r.masses[-1, ..., 0, 1].sum()
        rate = 1.0 / 0.5
        q_cell = r.grid.centres(0)[np.argmin(np.abs(r.grid.centres(0) - q0))]
        discrete = 0.5 * (1 - dt * rate) ** round(t / dt) * np.exp(-2j * 2.0 * q_cell * 1.0 * t)
        np.testing.assert_allclose(coh, discrete, rtol=1e-9)  # p = 0 does not move q; no inflow
    assert abs(abs(coh) - 0.5 * np.exp(-rate * t)) < 0.01 * 0.5 * np.exp(-rate * t)
    sz = np.real(np.einsum("tabii,i->t", r.masses, np.array([1.0, -1.0])))
    assert np.all(np.abs(sz) <= r.lost + 1e-12)  # the jumps are diagonal: sz is conserved on the grid
    np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)


def test_jump_qubit_automatic_grid_is_commensurate_and_keeps_the_mass():
    model = cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.1)
    r = solve_master(
        model,
        _point([0.0, 0.0], qubit(0.5), np.diag([0.04, 0.04])),
        t1=1.0,
        n_saves=5,
        cells=(48, 64),
        observables=("p", "p*p", "p*sz"),
    )
    ratio = 0.1 / r.grid.spacing[1]
    assert abs(ratio - round(ratio)) < 1e-9
    assert r.lost[-1] < 1e-6
    exact_pp = 0.04 + 0.01 * (10 + 100)  # Var p0 + (tau B)^2 E[N^2], N ~ Poisson(omega t / tau)
    assert abs(r.mean["p*p"][-1] - exact_pp) <= r.err["p*p"][-1]
    # mean force -omega B sz: exact on the lattice, up to the mass that left the grid
    pmax = np.abs(r.grid.edges(1)).max()
    assert np.all(np.abs(r.mean["p*sz"] + r.t) <= r.lost * pmax + 1e-10)


def test_progress_covers_the_pilot_the_run_and_the_error_estimate(capsys):
    """Every phase of a master run that takes time shows a bar: the automatic grid's pilot runs,
    the run itself and the error-estimate run (issue: 'solve_master ran 7 minutes with no output')."""
    solve_master(
        cqjax.Diosi(m=M, lam=LAM, phi=PHI, sigma=SIGMA),
        _point([0.0, 0.0], qubit(0.5)),
        t1=0.2,
        n_saves=2,
        cells=(16, 16),
        observables=("p",),
        progress=True,
    )
    err = capsys.readouterr().err
    for label in ("master (grid pilot)", "master:", "master (error estimate)"):
        assert label in err, err[-2000:]
