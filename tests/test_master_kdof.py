"""The master equation for two degrees of freedom (4-D grids): the two-site GHZ model of seed 004
App. C.5 against its exact moments and coherence, the dense 4 x 4 and 2 x 2 paths, positivity and
trace, and the memory refusal.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax import InitialState, solve_master
from cqjax.analysis.exact import diosi_coherence
from cqjax.operators import pauli

LAM, SIGMA, M, T1 = 1.0, 1.0, 1.0, 0.3
CELLS = (15, 15, 13, 13)  # odd: the initial point (0, 0, 0, 0) is a cell centre
EXTENT = {"phi_1": (-2.25, 2.25), "phi_2": (-2.25, 2.25), "pi_1": (-3.9, 3.9), "pi_2": (-3.9, 3.9)}
SMALL = (9, 9, 9, 9)
H4 = np.kron(*(2 * [np.array([[1, 1], [1, -1]]) / np.sqrt(2)])).astype(complex)


def _ghz(model=None):
    model = model or cqjax.GHZLattice(n=2, m=M, lam=LAM, sigma=SIGMA)
    psi = np.zeros(4, complex)
    psi[0] = psi[3] = 2**-0.5
    return model, InitialState(jnp.zeros(4), jnp.asarray(psi))


def _ghz_coherence(t):
    """<X^n> = 2 Re rho_{00,11}: the coherence rides on each site's free diffusion, so it is the
    product over the two sites of the Diosi coherence with lam_Diosi = lam / 2 and phi = h_z = 0
    (H = lam phi_i sz^i is the Diosi 2 lam_Diosi q sz per site); each factor decays at lam^2 / 2 sigma^2."""
    c = diosi_coherence(t, np.array([1.0, 1.0]), [0.0, 0.0], LAM / 2, SIGMA, M, 0.0)  # rho_01(0) = 1/2
    return 2 * np.real(0.5 * (2 * c) ** 2)


@pytest.fixture(scope="module")
def ghz():
    model, init = _ghz()
    names = ("pi_1", "pi_1*pi_2", "pi_1*pi_1", "pi_1*sz_1", "phi_1*phi_2", "X^n", "Z^n")
    r = solve_master(model, init, t1=T1, n_saves=3, cells=CELLS, extent=EXTENT, observables=names, error_estimate=False)
    return r


def test_ghz_two_sites_momenta_follow_the_branches_exactly(ghz):
    """Branch s = +-1 (|00>, |11>, weight 1/2 each) pushes both momenta by -lam s t, so
    E[pi_1 pi_2] = lam^2 t^2, E[pi_1 sz_1] = -lam t and Var pi_1 = lam^2 t^2 + sigma^2 t. The lattice
    moves one axis per step, so E[pi_1 pi_2] misses the drift's lam^2 dt^2 per step (-lam^2 t dt in
    all), and its jump pair adds Delta^2 lam^2 / (4 sigma^2) to sigma^2 (module doc of lattice.py)."""
    r, t = ghz, ghz.t
    assert r.completely_positive and r.lost[-1] < 2e-5
    off = r.lost * 3.9**2  # what the mass that left can change a second moment by
    np.testing.assert_allclose(r.mean["pi_1"], 0.0, atol=1e-12)  # symmetric
    np.testing.assert_allclose(r.mean["pi_1*sz_1"], -LAM * t, atol=1e-6 + off[-1])
    np.testing.assert_allclose(r.mean["pi_1*pi_2"], LAM**2 * t**2 - LAM**2 * t * r.dt, atol=1e-6 + off[-1])
    delta = r.grid.spacing[2]
    var = LAM**2 * t**2 + (SIGMA**2 + delta**2 * LAM**2 / (4 * SIGMA**2)) * t
    np.testing.assert_allclose(r.mean["pi_1*pi_1"], var, atol=1.01 * LAM**2 * T1 * r.dt + off[-1])
    np.testing.assert_allclose(r.mean["Z^n"], r.trace, atol=1e-12)  # both qubits always agree
    # E[phi_1 phi_2] = lam^2 t^4 / 4 up to the first-order step: phi_n moves by dt pi_{n-1}, so the
    # branch means lag by lam t dt / 2; the product is off by O(lam^2 t^3 dt), here within twice that
    assert np.all(np.abs(r.mean["phi_1*phi_2"] - LAM**2 * t**4 / 4) <= 2 * LAM**2 * t**3 * r.dt + off)


def test_ghz_coherence_trace_and_positivity(ghz):
    r = ghz
    exact = _ghz_coherence(r.t)
    actual = np.abs(r.mean["X^n"] - exact)
    assert actual[-1] < 3e-3, actual  # first order in the cells and dt: 2.2e-3 here (cf. Diosi in 1-D)
    np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)
    assert r.min_eig.min() >= -1e-12
    assert r.masses.shape == (4, *CELLS, 4, 4) and np.allclose(r.density_t, r.t)


class _RotatedGHZ2(cqjax.AbstractModel):
    """The two-site GHZ model with its 4 x 4 H(z) written in the rotated basis (H x H) (dense path)."""

    m: float = 1.0
    lam: float = 1.0
    sigma: float = 1.0
    positions: ClassVar[tuple[str, ...]] = ("phi_1", "phi_2")
    momenta: ClassVar[tuple[str, ...]] = ("pi_1", "pi_2")

    def hamiltonian(self, z):
        sz, eye = pauli()["sz"].astype(jnp.complex128), jnp.eye(2)
        h = (z[2] ** 2 + z[3] ** 2) / (2 * self.m) * jnp.eye(4)
        h = h + self.lam * (z[0] * jnp.kron(sz, eye) + z[1] * jnp.kron(eye, sz))
        return jnp.asarray(H4) @ h @ jnp.asarray(H4).conj().T

    def noise(self, z):
        return jnp.concatenate([jnp.zeros((2, 2)), jnp.eye(2)]).astype(z.dtype) * self.sigma

    def operators(self):
        return {"ZZ": jnp.asarray(H4 @ np.diag([1.0, -1.0, -1.0, 1.0]) @ H4.conj().T)}


def test_dense_4x4_path_matches_the_diagonal_path():
    kw = dict(t1=0.1, n_saves=1, cells=SMALL, extent=EXTENT, error_estimate=False)
    model, init = _ghz()
    a = solve_master(model, init, **kw)
    rotated = InitialState(init.z_mean, jnp.asarray(H4 @ np.asarray(init.psi)))
    b = solve_master(_RotatedGHZ2(m=M, lam=LAM, sigma=SIGMA), rotated, **kw)
    assert a.dt == b.dt
    expect = np.einsum("ij,t...jk,lk->t...il", H4, a.masses, H4.conj())
    np.testing.assert_allclose(b.masses, expect, atol=1e-12)


class _TwoForceQubit(cqjax.AbstractModel):
    """A qubit pushed along two momenta by non-commuting forces: H = |p|^2/2 + lam (q1 sz + q2 sx)."""

    lam: float = 1.0
    sigma: float = 1.0
    positions: ClassVar[tuple[str, ...]] = ("q1", "q2")
    momenta: ClassVar[tuple[str, ...]] = ("p1", "p2")

    def hamiltonian(self, z):
        p = pauli()
        kinetic = (z[2] ** 2 + z[3] ** 2) / 2 * jnp.eye(2)
        return (kinetic + self.lam * (z[0] * p["sz"] + z[1] * p["sx"])).astype(jnp.complex128)

    def noise(self, z):
        return jnp.concatenate([jnp.zeros((2, 2)), jnp.eye(2)]).astype(z.dtype) * self.sigma

    def operators(self):
        return pauli()


def test_non_commuting_forces_on_two_momenta_stay_positive_and_keep_the_trace():
    """2 x 2, dense, two degrees of freedom: CP at any step the automatic dt allows; the mean
    momenta follow E[dp1/dt] = -lam <sz>, E[dp2/dt] = -lam <sx> (the drift is exact on the lattice)."""
    init = InitialState(jnp.zeros(4), jnp.asarray(np.array([1.0, 1.0]) / np.sqrt(2)))
    extent = {"q1": (-1.35, 1.35), "q2": (-1.35, 1.35), "p1": (-3.6, 3.6), "p2": (-3.6, 3.6)}
    r = solve_master(
        _TwoForceQubit(),
        init,
        t1=T1,
        n_saves=6,
        cells=SMALL,
        extent=extent,
        observables=("p1", "p2", "sz", "sx"),
        error_estimate=False,
    )
    assert r.completely_positive
    np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)
    assert r.min_eig.min() >= -1e-12 and r.lost[-1] < 1e-3
    # trapezoid of -lam <O> between saves: the momenta's first moments (up to O(dt) and the rule)
    for p, o in (("p1", "sz"), ("p2", "sx")):
        integral = -np.concatenate([[0.0], np.cumsum(0.5 * np.diff(r.t) * (r.mean[o][1:] + r.mean[o][:-1]))])
        np.testing.assert_allclose(r.mean[p], integral, atol=2e-3 + 3.6 * r.lost[-1])


def test_a_grid_that_does_not_fit_is_refused_before_it_is_built():
    model, init = _ghz()
    with pytest.raises(ValueError, match=r"master: needs about .* GiB of memory .* fewer cells \(400x400x400x400"):
        solve_master(model, init, t1=T1, n_saves=1, cells=(400,) * 4, extent=EXTENT)


def test_correlated_noise_is_refused_naming_the_block():
    class Correlated(_TwoForceQubit):
        def noise(self, z):
            s = jnp.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.5, 1.0]], dtype=z.dtype)
            return s * self.sigma

    init = InitialState(jnp.zeros(4), jnp.asarray(np.array([1.0, 0.0])))
    extent = {"q1": (-1.35, 1.35), "q2": (-1.35, 1.35), "p1": (-3.6, 3.6), "p2": (-3.6, 3.6)}
    with pytest.raises(ValueError, match=r"correlated noise D2\[p1, p2\]"):
        solve_master(Correlated(), init, t1=T1, n_saves=1, cells=SMALL, extent=extent)


def test_save_density_picks_saved_times_and_refuses_others():
    from cqjax.master.solver import density_indices

    assert density_indices(100, 1.0, None).tolist() == [0, 20, 40, 60, 80, 100]
    assert density_indices(4, 1.0, None).tolist() == [0, 1, 2, 3, 4]
    assert density_indices(100, 1.0, 1).tolist() == [100]
    assert density_indices(10, 2.0, [0.4, 2.0]).tolist() == [2, 10]
    with pytest.raises(ValueError, match="^save_density: 0.3 is not a saved time"):
        density_indices(10, 2.0, [0.3])
