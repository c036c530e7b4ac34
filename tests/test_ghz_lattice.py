"""n qubits with local classical fields from a GHZ state (seed 004 App. C.5, Fig. 4).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".

H = lam sum_i phi_i sz^i + sum_i pi_i^2 / 2m + h_z sum_i sz^i, noise sigma on each pi_i. All the
expected values are derived here from the CQ master equation (seed 004 eq. 5, with its
back-reaction term -d_i(...) rather than the printed +; see cqjax/models/_base.py). With
|psi0> = a_0 |0..0> + a_1 |1..1> (w_a = |a_a|^2, branch 0 has sz^i = +1 on every site):

* H and every force operator F_{pi_i} = {pi_i, H_I} = -lam sz^i are diagonal, so the state stays in
  span{|0..0>, |1..1>}.
* Diagonal blocks: varrho_aa(z, t) is w_a times the classical diffusion with the constant force
  F_a = -lam s_a on every pi_i (s_0 = +1, s_1 = -1), so the classical marginal is an exact mixture
  of two Gaussians: under branch a, pi_i = pi0 + F_a t + sigma W_i(t) and
  phi_i = pi0 t/m + F_a t^2/2m + (sigma/m) int W_i, independent across sites.
* Coherence: varrho_01 moves with the mean force (F_0 + F_1)/2 = 0, decays at the trade-off rate
  Gamma = 1/8 dF^T pinv(sigma sigma^T) dF = n (2 lam)^2 / (8 sigma^2), and picks up the phase
  exp(-i int (E_0 - E_1)) with E_0 - E_1 = 2 lam sum_i phi_i + 2 n h_z along the *free* paths
  (Feynman-Kac). int_0^t phi_i has mean phi0 t + pi0 t^2/2m and variance sigma^2 t^5 / 20 m^2, so
  E[rho_01](t) = sqrt(w0 w1) exp(-Gamma t - lam^2 n sigma^2 t^5 / 10 m^2) exp(-i Phi(t)),
  Phi = 2 lam sum_i (phi0_i t + pi0_i t^2/2m) + 2 n h_z t, and <X^n> = 2 Re rho_01,
  <Y^n> = 2 Re((-i)^n conj(rho_01)) (Y^n|1..1> = (-i)^n |0..0>): for n = 5 the sin Phi part.
* Collapse: the record S = sum_i Y_i (dY_i = dW_i + 2<K_i> dt, K_i = -(lam/2 sigma) sz^i) is,
  under branch a, N(-(lam/sigma) s_a n t, n t), and the state is its posterior:
  <sz>(t) = tanh(atanh(s0) - (lam/sigma) S). So E<sz> = s0 (Born rule) and E[<sz>^2] is a
  one-dimensional Gaussian-mixture integral.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, batch

import cqjax
from cqjax._precision import cast_model
from cqjax.models._consistency import validate_model
from cqjax.operators import PauliString
from cqjax.operators._pauli import multiply

REPO = Path(__file__).resolve().parents[1]
PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]], complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def dense(n: int, paulis: dict[int, str]) -> np.ndarray:
    """Kronecker product with PAULI[paulis[i]] on site i (1-based, qubit 1 first), I elsewhere."""
    out = np.ones((1, 1), complex)
    for i in range(1, n + 1):
        out = np.kron(out, PAULI[paulis.get(i, "I")])
    return out


def cat(n: int, w0: float) -> np.ndarray:
    """sqrt(w0)|0..0> + sqrt(1 - w0)|1..1>."""
    psi = np.zeros(2**n, complex)
    psi[0], psi[-1] = np.sqrt(w0), np.sqrt(1 - w0)
    return psi


def random_state(d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=d) + 1j * rng.normal(size=d)  # deliberately not normalised


# --------------------------------------------------------------------------------------------
# (a) local operators, energies and the derived generator, against dense matrices (n = 3)


def test_local_operators_agree_with_dense_kronecker_products():
    n = 3
    model = cqjax.GHZLattice(n=n)
    ops = model.operators()
    expected = {f"s{a.lower()}_{i}": dense(n, {i: a}) for i in range(1, n + 1) for a in "XYZ"}
    expected.update({f"{a}^n": dense(n, {i: a for i in range(1, n + 1)}) for a in "XYZ"})
    assert set(ops) == set(expected)
    for seed in range(3):
        psi = random_state(2**n, seed)
        for name, op in ops.items():
            assert isinstance(op, PauliString)
            O = expected[name]
            np.testing.assert_allclose(op.apply(jnp.asarray(psi)), O @ psi, atol=1e-12, err_msg=name)
            want = np.vdot(psi, O @ psi).real / np.vdot(psi, psi).real
            np.testing.assert_allclose(float(op.expect(jnp.asarray(psi))), want, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(np.asarray(op), O, atol=0, err_msg=name)  # dense(), for the master equation
    # a density matrix: Tr(P rho) / Tr rho
    psi = random_state(2**n, 7)
    rho = 0.7 * np.outer(psi, psi.conj()) + 0.3 * np.eye(2**n)
    for name in ("sx_2", "Y^n", "sz_3"):
        want = np.trace(expected[name] @ rho).real / np.trace(rho).real
        np.testing.assert_allclose(float(ops[name].expect(jnp.asarray(rho))), want, atol=1e-12)


def test_products_of_pauli_strings_in_observables():
    n = 3
    model = cqjax.GHZLattice(n=n)
    psi = random_state(2**n, 1)
    z = jnp.asarray(np.arange(1.0, 2 * n + 1))  # phi_i = i, pi_i = n + i
    cases = {
        "sz_1*sz_2": dense(n, {1: "Z", 2: "Z"}),
        "sx_1*sx_3": dense(n, {1: "X", 3: "X"}),
        "sy_2*sx_1": dense(n, {1: "X", 2: "Y"}),
        "sz_1*sz_1": np.eye(2**n),
        "sx_2*X^n": dense(n, {1: "X", 3: "X"}),  # X_2 X_2 = I
        "sz_1*sz_2*sz_3*Z^n": np.eye(2**n),
    }
    for name, O in cases.items():
        obs = cqjax.parse_observable(name, model)
        want = np.vdot(psi, O @ psi).real / np.vdot(psi, psi).real
        np.testing.assert_allclose(float(obs(z, jnp.asarray(psi))), want, atol=1e-12, err_msg=name)
    # a coordinate factor times a product
    obs = cqjax.parse_observable("pi_1*sz_1*sz_2", model)
    O = dense(n, {1: "Z", 2: "Z"})
    np.testing.assert_allclose(
        float(obs(z, jnp.asarray(psi))), (n + 1) * np.vdot(psi, O @ psi).real / np.vdot(psi, psi).real, atol=1e-12
    )
    # anticommuting products are not Hermitian: refused, naming the field
    for name in ("sx_1*sy_1", "X^n*Z^n", "sz_2*Y^n"):  # n = 3: X^n and Z^n anticommute
        with pytest.raises(ValueError, match=r"^observables: .*anticommute"):
            cqjax.parse_observable(name, model)
    assert multiply(PauliString("XX"), PauliString("ZZ")) == PauliString("YY", -1)  # XZ XZ = (-iY)(-iY)


def test_energies_forces_and_noise():
    n, lam, m, sigma, hz = 3, 0.7, 1.3, 0.9, 0.25
    model = cqjax.GHZLattice(n=n, lam=lam, m=m, sigma=sigma, h_z=hz)
    rng = np.random.default_rng(0)
    z = rng.normal(size=2 * n)
    phi, pi = z[:n], z[n:]
    sz = [dense(n, {i: "Z"}) for i in range(1, n + 1)]
    H = sum((lam * phi[i] + hz) * sz[i] for i in range(n)) + pi @ pi / (2 * m) * np.eye(2**n)
    np.testing.assert_allclose(jax.jit(model.energies)(jnp.asarray(z)), np.diag(H).real, atol=1e-12)
    g = jax.jit(cqjax.generator)(model, jnp.asarray(z))
    np.testing.assert_allclose(g.drift, np.r_[pi / m, np.zeros(n)], atol=1e-12)  # {phi_i, H_C} = pi_i/m
    np.testing.assert_allclose(g.force[:n], 0.0, atol=1e-12)  # no force on the phi_i
    np.testing.assert_allclose(g.force[n:], [-lam * np.diag(s).real for s in sz], atol=1e-12)  # -lam sz^i
    sig = np.asarray(model.noise(jnp.asarray(z)))
    np.testing.assert_array_equal(sig, np.r_[np.zeros((n, n)), sigma * np.eye(n)])
    assert model.coords == ("phi_1", "phi_2", "phi_3", "pi_1", "pi_2", "pi_3")
    np.testing.assert_allclose(model.named_states()["ghz"], cat(n, 0.5))


def test_batched_float32_generator_is_right():
    """The vmapped float32 generator over a large batch equals the exact drift and forces.

    Regression: jaxlib 0.10.2's XLA CPU (its YNN fusion) miscompiled the batched forward-mode
    derivative of a kinetic term written ``jnp.sum(pi**2)`` for batches of ~500 and more, which
    silently corrupted d phi_i / dt in float32 ensembles."""
    n, B = 5, 4096
    model = cast_model(cqjax.GHZLattice(n=n, lam=0.7, m=2.0), jnp.float32)
    z = jnp.asarray(np.random.default_rng(1).normal(size=(B, 2 * n)), jnp.float32)
    g = jax.jit(jax.vmap(lambda z: cqjax.generator(model, z)))(z)
    np.testing.assert_allclose(g.drift[:, :n], z[:, n:] / 2.0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g.drift[:, n:], 0.0, atol=1e-6)
    np.testing.assert_allclose(g.force[:, n:, 0], -0.7, rtol=1e-6)  # |0..0>: sz^i = +1
    np.testing.assert_allclose(g.force[:, n:, -1], 0.7, rtol=1e-6)


def test_validation_never_builds_the_dense_hamiltonian():
    class NoDense(cqjax.GHZLattice):
        def hamiltonian(self, z):
            raise AssertionError("a dense 2^n x 2^n H(z) was built")

    model = NoDense(n=4)
    validate_model(model, jnp.zeros((3, 8)), psi_dim=16)
    with pytest.raises(ValueError, match=r"^psi: the model's Hilbert space has d = 16"):
        validate_model(model, jnp.zeros((3, 8)), psi_dim=8)

    class WrongSize(cqjax.GHZLattice):
        def operators(self):
            return {"zz": PauliString("ZZ")}

    with pytest.raises(ValueError, match=r"operators\(\)\['zz'\]: Pauli string 'ZZ' acts on 2 qubits"):
        validate_model(WrongSize(n=3), jnp.zeros((1, 6)))


def test_parameters_are_checked():
    for bad in (0, 31, 2.0, True):
        with pytest.raises(ValueError, match=r"^n: must be an integer in 1\.\.30"):
            cqjax.GHZLattice(n=bad)
    with pytest.raises(ValueError, match="sigma: must be > 0"):
        cqjax.GHZLattice(sigma=0.0)
    leaves = jax.tree.leaves(cqjax.GHZLattice(n=4))
    assert len(leaves) == 4  # m, lam, sigma, h_z; n is static


# --------------------------------------------------------------------------------------------
# configs


def test_configs_load_with_an_integer_n_and_the_ghz_state():
    cfg = cqjax.load_config(REPO / "configs" / "ghz_fig4.toml")
    assert isinstance(cfg.model, cqjax.GHZLattice) and cfg.model.n == 5 and type(cfg.model.n) is int
    assert cfg.resolved["params"]["n"] == 5 and type(cfg.resolved["params"]["n"]) is int
    assert cfg.resolved["params"]["lam"] == 1.0 and cfg.t1 == 0.3
    np.testing.assert_allclose(cfg.initial.psi, cat(5, 0.5))
    big = cqjax.load_config(REPO / "configs" / "ghz_n16.toml")
    assert big.model.n == 16 and big.initial.psi.shape == (2**16,) and big.histogram is None
    plus = cqjax.load_config(REPO / "configs" / "ghz_fig4.toml", ["initial.psi=plus"])
    np.testing.assert_allclose(plus.initial.psi, np.full(32, 32**-0.5))  # the model's |+>^n


@pytest.mark.parametrize(
    "override, message",
    [
        ("params.n=2.5", r"^params\.n: expected an integer, got 2\.5"),
        ("params.n=true", r"^params\.n: expected an integer"),
        ("params.n=0", r"^params\.n: must be an integer in 1\.\.30"),
        ("params.sigma=0.0", r"^params: sigma: must be > 0"),
        ("initial.psi=zero", r"^initial\.psi: named state 'zero' is a qubit state but the model has d = 32"),
        ("initial.psi=cat", r"^initial\.psi: unknown state 'cat'; named states: .*'ghz'"),
    ],
)
def test_config_errors_name_the_field(override, message):
    with pytest.raises(cqjax.ConfigError, match=message):
        cqjax.load_config(REPO / "configs" / "ghz_fig4.toml", [override])


def test_histogram_is_refused_for_large_d():
    model = cqjax.GHZLattice(n=7)
    init = cqjax.InitialState(z_mean=jnp.zeros(14), psi=jnp.asarray(cat(7, 0.5)))
    spec = cqjax.HistogramSpec(("pi_1",), ((-1.0, 1.0, 4),))
    with pytest.raises(ValueError, match=r"^histogram: d = 128 is too large for a matrix-valued histogram"):
        cqjax.run_ensemble(
            model, init, t1=0.01, dt=0.01, n_saves=1, trajectories=2, observables=("sz_1",), histogram=spec
        )


# --------------------------------------------------------------------------------------------
# (b), (c) the GHZ subspace, the Born rule and the collapse (single trajectories, float64)

N, LAM, SIGMA, W0 = 5, 1.0, 1.0, 0.8


def _exact_sz2(t: np.ndarray) -> np.ndarray:
    """E[<sz>^2](t): <sz> = tanh(atanh(s0) - c S), S ~ sum_a w_a N(-c s_a N t, N t), c = lam/sigma."""
    x, wq = np.polynomial.hermite_e.hermegauss(80)
    wq = wq / wq.sum()
    c, s0 = LAM / SIGMA, 2 * W0 - 1
    out = []
    for tt in np.atleast_1d(t):
        val = 0.0
        for wa, sa in ((W0, 1.0), (1 - W0, -1.0)):
            S = -c * sa * N * tt + np.sqrt(N * tt) * x
            val += wa * np.sum(wq * np.tanh(np.arctanh(s0) - c * S) ** 2)
        out.append(val)
    return np.array(out)


def test_ghz_subspace_born_rule_and_collapse():
    model = cqjax.GHZLattice(n=N, lam=LAM, sigma=SIGMA, h_z=0.5)
    trajectories = 1000
    sol = batch(model, jnp.zeros(2 * N), jnp.asarray(cat(N, W0)), trajectories, t1=0.6, dt=4e-3, n_saves=3, seed=3)
    prob = np.abs(np.asarray(sol.psi)) ** 2  # (trajectories, T, d)
    t = np.asarray(sol.ts[0])
    # (b) everything commutes with the sz^i: no weight ever leaves span{|0..0>, |1..1>}
    outside = 1 - prob[..., 0] - prob[..., -1]
    assert np.abs(outside).max() < 1e-10
    s = prob[..., 0] - prob[..., -1]  # <sz^i> on every site
    se = s.std(0) / np.sqrt(trajectories)
    # (c) Born rule: <sz> is a martingale, E<sz> = s0 = 0.6 (weak O(dt) bias of the step: < 5e-3)
    assert_close(s.mean(0)[1:], 2 * W0 - 1, se[1:], bias=5e-3, what="E<sz>(t)")
    # ... while each trajectory collapses: E[<sz>^2] grows from s0^2 = 0.36 to ~0.9 as derived
    s2 = s**2
    exact = _exact_sz2(t)
    assert_close(s2.mean(0)[1:], exact[1:], s2.std(0)[1:] / np.sqrt(trajectories), bias=5e-3, what="E[<sz>^2](t)")
    assert exact[0] == pytest.approx(0.36) and exact[-1] > 0.9  # a real collapse, not a test that cannot fail
    assert np.mean(np.abs(s[:, -1]) > 0.99) > 0.6


# --------------------------------------------------------------------------------------------
# (c), (d), (e) the ensemble at n = 5: decoherence, phases, classical correlations, mean-field


def _branch_moments(t, pi0, m=1.0):
    """Exact classical moments of the two-branch mixture (branch 0: force -lam on every pi_i)."""
    F, W, S = (-LAM, LAM), (W0, 1 - W0), (1.0, -1.0)
    mean_pi = [pi0 + F[a] * t for a in (0, 1)]
    mean_phi = [(pi0 * t + F[a] * t**2 / 2) / m for a in (0, 1)]
    return {
        "pi_1": sum(W[a] * mean_pi[a] for a in (0, 1)),
        "pi_1*pi_2": sum(W[a] * mean_pi[a] ** 2 for a in (0, 1)),  # independent noises: no sigma^2
        "pi_1*pi_1": sum(W[a] * mean_pi[a] ** 2 for a in (0, 1)) + SIGMA**2 * t,
        "phi_1*phi_2": sum(W[a] * mean_phi[a] ** 2 for a in (0, 1)),
        "pi_1*sz_1": sum(W[a] * S[a] * mean_pi[a] for a in (0, 1)),
    }


def _run(unravelling, trajectories, hz=0.5, pi0=0.4):
    model = cqjax.GHZLattice(n=N, lam=LAM, sigma=SIGMA, h_z=hz)
    z0 = np.r_[np.zeros(N), pi0 * np.ones(N)]
    init = cqjax.InitialState(z_mean=jnp.asarray(z0), psi=jnp.asarray(cat(N, W0)))
    names = ("sz_1", "sz_1*sz_2", "X^n", "Y^n", "pi_1", "pi_1*pi_2", "pi_1*pi_1", "phi_1*phi_2", "pi_1*sz_1", "purity")
    return cqjax.run_ensemble(
        model,
        init,
        t1=0.4,
        dt=2e-3,
        n_saves=4,
        trajectories=trajectories,
        seed=5,
        observables=names,
        precision="float64",
        unravelling=unravelling,
    )


def test_ensemble_decoherence_phase_and_branch_correlations():
    pi0, hz = 0.4, 0.5
    r = _run(cqjax.Healed(), 2000, hz=hz, pi0=pi0)
    t = r.t
    gamma = N * (2 * LAM) ** 2 / (8 * SIGMA**2)  # 1/8 dF^T pinv(sigma sigma^T) dF, dF_i = 2 lam
    phase = 2 * LAM * N * pi0 * t**2 / 2 + 2 * N * hz * t
    envelope = 2 * np.sqrt(W0 * (1 - W0)) * np.exp(-gamma * t - LAM**2 * N * SIGMA**2 * t**5 / 10)
    # weak O(dt) bias of the Kraus step: ~ Gamma^2 dt t ~ 5e-3; the classical Euler step: ~ dt
    assert_close(r.mean["X^n"], envelope * np.cos(phase), r.sem["X^n"] + 1e-12, bias=0.01, what="E<X^n>(t)")
    assert_close(r.mean["Y^n"], envelope * np.sin(phase), r.sem["Y^n"] + 1e-12, bias=0.01, what="E<Y^n>(t)")
    assert_close(r.mean["sz_1"], 2 * W0 - 1, r.sem["sz_1"] + 1e-12, bias=5e-3, what="E<sz_1>(t)")
    np.testing.assert_allclose(r.mean["sz_1*sz_2"], 1.0, atol=1e-12)  # the sites agree in every branch
    np.testing.assert_allclose(r.mean["purity"], 1.0, atol=1e-9)
    for name, exact in _branch_moments(t, pi0).items():
        assert_close(r.mean[name], exact, r.sem[name] + 1e-12, bias=5e-3, what=f"E[{name}](t)")
    # the tests can fail: the decay is real and the branch spread is many SE away from mean-field
    assert envelope[-1] < 0.5 * envelope[0]
    spread = 4 * W0 * (1 - W0) * LAM**2 * t[-1] ** 2  # Cov(pi_1, pi_2) = E[pi_1 pi_2] - mean-field value
    assert spread > 5 * r.sem["pi_1*pi_2"][-1] + 5e-3  # the mean-field value would fail the check above


def test_mean_field_is_deterministic_and_keeps_the_coherence():
    """Mean-field: pi_i = pi0 - lam s0 t on every site, no collapse, no decoherence, and the GHZ
    phase follows the deterministic fields: Phi = 2 lam N (pi0 t^2/2 - lam s0 t^3/6) + 2 N h_z t."""
    pi0, hz = 0.4, 0.5
    r = _run(cqjax.MeanField(), 4, hz=hz, pi0=pi0)
    t, s0 = r.t, 2 * W0 - 1
    for name in r.mean:
        assert np.all(r.sem[name] < 1e-12), name
    np.testing.assert_allclose(r.mean["pi_1"], pi0 - LAM * s0 * t, atol=1e-9)
    np.testing.assert_allclose(r.mean["pi_1*pi_2"], (pi0 - LAM * s0 * t) ** 2, atol=1e-9)
    np.testing.assert_allclose(r.mean["sz_1"], s0, atol=1e-9)
    phase = 2 * LAM * N * (pi0 * t**2 / 2 - LAM * s0 * t**3 / 6) + 2 * N * hz * t
    # Euler's phi_i lags by pi dt / 2: a phase error of order 2 lam N pi0 t dt / 2 ~ 2e-3
    np.testing.assert_allclose(r.mean["X^n"], 2 * np.sqrt(W0 * (1 - W0)) * np.cos(phase), atol=5e-3)


# --------------------------------------------------------------------------------------------
# (f) n = 16: d = 65536, never a dense 2^n x 2^n matrix


class NoDense16(cqjax.GHZLattice):
    """n = 16 (d = 65536) with the dense H(z) forbidden: a 2^n x 2^n matrix would take 32 GB."""

    def hamiltonian(self, z):
        raise AssertionError("a dense 2^n x 2^n H(z) was built")


def _ghz16_checks(psi, x_n):
    """In the GHZ subspace, <X^n> = 2 Re(conj(psi_0..0) psi_1..1); it starts at 1 and decoheres."""
    prob = np.abs(psi) ** 2
    assert np.abs(1 - prob[..., 0] - prob[..., -1]).max() < 1e-5  # still in the GHZ subspace
    np.testing.assert_allclose(x_n, 2 * np.real(np.conj(psi[..., 0]) * psi[..., -1]), atol=1e-5)
    assert np.all(np.abs(x_n[..., 0] - 1) < 1e-6) and np.all(x_n[..., 1:] < 1 - 1e-4)


def test_sixteen_qubits_construct_validate_and_step():
    n = 16
    model = NoDense16(n=n)
    assert len(model.operators()) == 3 * n + 3 and model.n_coords == 2 * n
    assert model.energies(jnp.zeros(2 * n)).shape == (2**n,)
    psi0 = jnp.asarray(model.named_states()["ghz"], jnp.complex64)
    validate_model(model, jnp.zeros((2, 2 * n), jnp.float32), psi_dim=2**n)
    sol = jax.jit(
        lambda key: cqjax.simulate(
            model,
            jnp.zeros(2 * n, jnp.float32),
            psi0,
            key,
            t1=3e-3,
            dt=1e-3,
            n_saves=3,
            unravelling=cqjax.Healed(),
            solver=cqjax.Kraus(),
        )
    )(cqjax.trajectory_key(jax.random.key(0), 0))
    psi = np.asarray(sol.psi)
    assert np.all(np.isfinite(psi)) and np.all(np.isfinite(np.asarray(sol.z)))
    x_n = np.array([float(model.operators()["X^n"].expect(jnp.asarray(p))) for p in psi])
    _ghz16_checks(psi, x_n)


@pytest.mark.slow
def test_sixteen_qubits_through_run_ensemble():
    n = 16
    model = NoDense16(n=n)
    init = cqjax.InitialState(z_mean=jnp.zeros(2 * n), psi=jnp.asarray(model.named_states()["ghz"]))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=3e-3,
        dt=1e-3,
        n_saves=3,
        trajectories=2,
        n_samples=2,
        observables=("sz_1", "sz_1*sz_16", "X^n", "pi_1", "purity"),
        precision="float32",
    )
    assert r.samples_psi.shape == (2, 4, 2**n)
    for name in r.mean:
        assert np.all(np.isfinite(r.mean[name])), name
    np.testing.assert_allclose(r.mean["sz_1*sz_16"], 1.0, atol=1e-5)
    np.testing.assert_allclose(r.mean["purity"], 1.0, atol=1e-5)
    psi = np.asarray(r.samples_psi)  # (2 samples, 4 times, d): both trajectories
    _ghz16_checks(psi, 2 * np.real(np.conj(psi[..., 0]) * psi[..., -1]))
    np.testing.assert_allclose(
        r.mean["X^n"], np.mean(2 * np.real(np.conj(psi[..., 0]) * psi[..., -1]), axis=0), atol=1e-5
    )
