"""The mixed-state unravelling (seed 004 eqs. 7-8) and the general (L, D0, D1, sigma) model form.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory".

- seed 000 above saturation: the conditional rho, with the same noise, is the saturated pure
  trajectory with its coherence multiplied by exp(-2 r t), r = 2 gamma_q - lam^2 / (8 gamma_c)
  the excess dephasing rate (everything else commutes with sz), so the purity is conserved iff
  saturated; its ensemble matches the exact solution (cqjax.analysis.exact).
- The Kraus-form step keeps rho positive at any dt for a dense, non-commuting channel; plain
  Euler-Maruyama does not.
- A general-form model equal to Diosi reproduces Diosi's healed trajectories; excess D0 is
  unravelled with mixed states; a D0 below the trade-off is refused naming the block condition.
- Mixed initial states: started from rho directly or from a sampled decomposition, and against
  the superposition with the same classical statistics (no signalling).
"""

import functools
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax import InitialState, pauli

PLUS = jnp.array([1.0, 1.0], jnp.complex128) / np.sqrt(2)


def _ensemble(
    model,
    initial,
    n,
    *,
    t1=1.0,
    dt=1e-2,
    n_saves=4,
    state="auto",
    observables=("p", "sz", "sx", "sy"),
    seed=0,
    solver=None,
    samples=4,
    nonfinite="fail",
):
    return cqjax.run_ensemble(
        model,
        initial,
        t1=t1,
        dt=dt,
        n_saves=n_saves,
        trajectories=n,
        seed=seed,
        observables=observables,
        precision="float64",
        state=state,
        n_samples=samples,
        solver=solver or cqjax.Kraus(),
        nonfinite=nonfinite,
    )


def test_excess_dephasing_is_the_saturated_trajectory_with_damped_coherence():
    lam, gc = -1.0, 0.5
    sat = lam**2 / (16 * gc)  # gamma_q at saturation
    initial = InitialState(z_mean=jnp.array([0.3, 0.0]), psi=PLUS)
    pure = _ensemble(
        cqjax.Seed000(lam=lam, gamma_c=gc, gamma_q=sat), initial, 8, state="pure", observables=("purity",), samples=8
    )
    mixed_sat = _ensemble(
        cqjax.Seed000(lam=lam, gamma_c=gc, gamma_q=sat), initial, 8, state="mixed", observables=("purity",), samples=8
    )
    gq = 0.4
    mixed = _ensemble(cqjax.Seed000(lam=lam, gamma_c=gc, gamma_q=gq), initial, 8, observables=("purity",), samples=8)
    assert mixed.info["state"] == "mixed" and pure.info["state"] == "pure"  # auto picks mixed above saturation
    np.testing.assert_allclose(mixed.samples_z, pure.samples_z, atol=1e-12)  # same classical paths
    psi = pure.samples_psi
    rho_pure = psi[..., :, None] * np.conj(psi[..., None, :])
    damp = np.exp(-2 * (2 * gq - lam**2 / (8 * gc)) * pure.t)[None, :]
    np.testing.assert_allclose(mixed.samples_psi[..., 0, 0], rho_pure[..., 0, 0], atol=1e-12)
    np.testing.assert_allclose(mixed.samples_psi[..., 0, 1], rho_pure[..., 0, 1] * damp, atol=1e-12)
    np.testing.assert_allclose(mixed_sat.samples_psi, rho_pure, atol=1e-12)
    # purity conserved iff saturated
    assert np.abs(mixed_sat.mean["purity"] - 1).max() < 1e-12
    assert mixed.mean["purity"][-1] < 0.9


# Seed 000 above saturation from (q0, 0) and |+>: one mixed-state ensemble, checked against the
# exact solution and against its purification (test_purification_..., case seed000).
SEED000_ABOVE = dict(lam=-1.0, gamma_c=0.5, gamma_q=0.3)
Q0 = 0.5
PURIFIED_NAMES = ("p", "p*p", "sz", "sx", "sy", "p*sz", "purity")


@functools.cache
def _seed000_mixed():
    init = InitialState(z_mean=jnp.array([Q0, 0.0]), psi=PLUS)
    return _ensemble(cqjax.Seed000(**SEED000_ABOVE), init, 20_000, observables=PURIFIED_NAMES)


def test_mixed_unravelling_matches_exact_seed000_above_saturation():
    lam, gc, gq, q0 = SEED000_ABOVE["lam"], SEED000_ABOVE["gamma_c"], SEED000_ABOVE["gamma_q"], Q0
    res = _seed000_mixed()
    assert res.info["state"] == "mixed"
    t = res.t
    coh = np.exp(-2j * lam * q0 * t - 4 * gq * t)  # rho_01 of |+>/2 ... times 2: <sx> + i<sy> = 2 rho_10
    exact = {"sx": coh.real, "sy": -coh.imag, "p*sz": -lam * t, "p*p": 2 * gc * t + lam**2 * t**2}
    for name, value in exact.items():
        # Kraus/Cayley discretisation at dt = 0.01: bias O(dt), below 2e-3 here
        assert_close(res.mean[name], value, res.sem[name], bias=2e-3, what=name)


class _DephasedDiosi(cqjax.AbstractDiagonalModel, cqjax.AbstractDissipativeModel):
    """Diosi with extra sx dephasing: excess decoherence that does not commute with H."""

    lam: float = 1.0
    sigma: float = 0.5
    rate: float = 3.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        c = 2 * self.lam * z[0] + 1.0
        return jnp.stack([z[1] ** 2 / 2 + c, z[1] ** 2 / 2 - c])

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * self.sigma

    def dissipators(self, z):
        return jnp.asarray([self.rate], z.dtype), pauli()["sx"][None]

    def operators(self):
        return pauli()


def _min_eig(samples):
    return np.linalg.eigvalsh(samples).min()


def test_kraus_step_keeps_rho_positive_at_coarse_dt_euler_does_not():
    model = _DephasedDiosi()
    init = InitialState(z_mean=jnp.zeros(2), psi=jnp.array([0.6, 0.8j], jnp.complex128))
    kraus = _ensemble(model, init, 256, t1=20.0, dt=0.2, n_saves=100, samples=256, observables=("purity",))
    assert kraus.info["state"] == "mixed"
    assert _min_eig(kraus.samples_psi) > -1e-12  # over 256 trajectories x 100 saves
    assert np.all(kraus.mean["purity"] <= 1 + 1e-12)
    with pytest.raises(cqjax.SimulationError, match="^nonfinite"):  # it diverges: refused by default
        _ensemble(model, init, 256, t1=20.0, dt=0.2, n_saves=100, observables=("purity",), solver=cqjax.EulerMaruyama())
    # by t = 10.6 none is finite (then "exclude" refuses too); by t = 4 most are
    euler = _ensemble(
        model,
        init,
        256,
        t1=4.0,
        dt=0.2,
        n_saves=20,
        samples=256,
        observables=("purity",),
        solver=cqjax.EulerMaruyama(),
        nonfinite="exclude",
    )
    rho = euler.samples_psi.reshape(-1, 2, 2)
    finite = np.all(np.isfinite(rho), axis=(-2, -1))
    assert _min_eig(rho[finite]) < -1e-3  # Euler-Maruyama leaves the positive cone (and then diverges)


class _GeneralDiosi(cqjax.AbstractGeneralModel):
    """Diosi in the general form: L = sz, D1^{0a}_p = -lam, D0 = lam^2 / sigma^2 * scale (scale 1:
    saturated), H = (2 lam q + phi) sz, D1C = (p / m, 0). ``d1_phase`` makes D1 complex."""

    lam: float = 1.0
    phi: float = 2.0
    sigma: float = 1.0
    scale: float = 1.0
    d1_phase: float = 0.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        return (2 * self.lam * z[0] + self.phi) * pauli()["sz"]

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * self.sigma

    def drift(self, z):
        return jnp.stack([z[1], jnp.zeros_like(z[1])])

    def lindblad(self, z):
        d1 = jnp.array([[0.0], [-self.lam * jnp.exp(1j * self.d1_phase)]])
        d0 = jnp.array([[self.scale * self.lam**2 / self.sigma**2]], complex)
        return pauli()["sz"][None], d0, d1

    def operators(self):
        return pauli()


def test_general_form_reproduces_healed_diosi_trajectories():
    init = InitialState(z_mean=jnp.zeros(2), psi=jnp.array([0.8, 0.6], jnp.complex128))
    a = _ensemble(cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0), init, 8, samples=8)
    b = _ensemble(_GeneralDiosi(), init, 8, samples=8)
    assert b.info["state"] == "pure"
    np.testing.assert_allclose(b.samples_z, a.samples_z, atol=1e-10)
    np.testing.assert_allclose(np.abs(b.samples_psi), np.abs(a.samples_psi), atol=1e-10)  # H_C is a global phase


def test_general_form_excess_and_non_hermitian_back_reaction_use_mixed_states():
    init = InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    # 200 trajectories in all three runs: one compiled kernel (the samples are the first 8)
    saturated = _ensemble(_GeneralDiosi(), init, 200, state="mixed", observables=("purity",), samples=8)
    excess = _ensemble(_GeneralDiosi(scale=2.0), init, 200, observables=("purity",), samples=8)
    assert excess.info["state"] == "mixed"
    # excess D0 - D0_sat = lam^2 / sigma^2 = 1 on L = sz: the coherence gains a factor exp(-2 t)
    np.testing.assert_allclose(excess.samples_z, saturated.samples_z, atol=1e-12)
    damp = np.exp(-2.0 * excess.t)[None, :]
    np.testing.assert_allclose(excess.samples_psi[..., 0, 1], saturated.samples_psi[..., 0, 1] * damp, atol=1e-12)
    assert np.abs(saturated.mean["purity"] - 1).max() < 1e-12 and excess.mean["purity"][1] < 0.99
    twisted = _ensemble(_GeneralDiosi(d1_phase=0.7), init, 200, observables=("purity",), samples=8)
    assert twisted.info["state"] == "mixed"
    # at saturation the conditional state stays pure even with complex D1
    assert np.abs(twisted.mean["purity"] - 1).max() < 1e-9
    with pytest.raises(ValueError, match="^state:"):
        _ensemble(_GeneralDiosi(d1_phase=0.7), init, 8, state="pure")


def test_decoherence_below_the_trade_off_is_refused_naming_the_block_condition():
    init = InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    with pytest.raises(ValueError, match=r"complete positivity: the decoherence-diffusion trade-off .* fails by 0\.5"):
        _ensemble(_GeneralDiosi(scale=0.5), init, 8)  # D0 = lam^2 / (2 sigma^2), saturation needs lam^2 / sigma^2
    with pytest.raises(ValueError, match=r"\[\[2 D2, D1\], \[D1\^dag, D0\]\]"):
        _ensemble(cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=0.1), init, 8)
    assert cqjax.check_complete_positivity(_GeneralDiosi(scale=1.0), jnp.zeros((1, 2))) is None


def test_mixed_initial_state_directly_or_sampled_and_no_signalling():
    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    rho = jnp.array([[0.7, 0.2 - 0.1j], [0.2 + 0.1j, 0.3]], jnp.complex128)
    names = ("p", "p*p", "q*p", "sz", "sx", "sy", "p*sz")
    direct = _ensemble(model, InitialState(z_mean=jnp.zeros(2), rho=rho), 20_000, observables=names)
    sampled = _ensemble(
        model, InitialState(z_mean=jnp.zeros(2), rho=rho), 20_000, observables=names, state="pure", seed=1
    )
    assert direct.info["state"] == "mixed" and sampled.info["state"] == "pure"
    for name in names:
        se = np.hypot(direct.sem[name], sampled.sem[name])[1:]  # t > 0: at t = 0 both are exact
        assert_close(direct.mean[name][1:], sampled.mean[name][1:], se, bias=1e-12, what=name)
    # the same classical statistics as a superposition with the same populations (no signalling)
    psi = jnp.array([np.sqrt(0.7), np.sqrt(0.3)], jnp.complex128)
    sup = _ensemble(model, InitialState(z_mean=jnp.zeros(2), psi=psi), 20_000, observables=names, seed=2)
    for name in ("p", "p*p", "q*p", "sz", "p*sz"):
        se = np.hypot(direct.sem[name], sup.sem[name])[1:]
        assert_close(direct.mean[name][1:], sup.mean[name][1:], se, bias=1e-12, what=name)
    # ... while the quantum statistics differ: the superposition has coherence
    assert abs(sup.mean["sx"][1] - direct.mean["sx"][1]) > 10 * np.hypot(sup.sem["sx"][1], direct.sem["sx"][1])


@pytest.mark.parametrize(
    "model, solver, dt, bias",
    [
        (cqjax.Seed000(**SEED000_ABOVE), cqjax.Kraus(), 1e-2, 3e-3),
        (_GeneralDiosi(scale=2.0, d1_phase=0.5), cqjax.Kraus(), 1e-2, 3e-3),
        # the non-Hermitian SSE drift; Euler-Maruyama's O(dt) bias on <sx> is 0.012 at dt = 1e-2, 0.003 at 2.5e-3
        (_GeneralDiosi(scale=2.0, d1_phase=0.5), cqjax.EulerMaruyama(), 2.5e-3, 6e-3),
    ],
    ids=["seed000", "general", "general-euler"],
)
def test_purification_by_extra_classical_noise_has_the_mixed_state_statistics(model, solver, dt, bias):
    """Seed 004 App. B: pure states in an enlarged phase space, the same reduced statistics."""
    init = InitialState(z_mean=jnp.array([Q0, 0.0]), psi=PLUS)
    names = PURIFIED_NAMES
    if isinstance(model, cqjax.Seed000):  # the run test_mixed_unravelling_matches_exact_... checks
        mixed = _seed000_mixed()
        assert dt == 1e-2 and model.gamma_q == SEED000_ABOVE["gamma_q"]
    else:
        mixed = _ensemble(model, init, 20_000, observables=names, dt=dt)
    purified = _ensemble(model, init, 20_000, observables=names, state="purified", seed=1, solver=solver, dt=dt)
    assert mixed.info["state"] == "mixed" and purified.info["state"] == "purified"
    assert np.abs(purified.mean["purity"] - 1).max() < 1e-10 and mixed.mean["purity"][-1] < 0.95
    for name in names[:-1]:
        se = np.hypot(mixed.sem[name], purified.sem[name])[1:]
        # the two integrate the excess channel differently (exact channel vs measurement): O(dt) bias
        assert_close(mixed.mean[name][1:], purified.mean[name][1:], se, bias=bias, what=name)


def test_master_equation_of_a_general_form_model():
    """The lattice takes the general form too: Diosi written as (L, D0, D1) has the same master
    solution; a non-Hermitian back-reaction, which the lattice does not realise, is refused."""
    from cqjax import solve_master

    init = InitialState(z_mean=jnp.zeros(2), psi=jnp.array([0.8, 0.6], jnp.complex128))
    kw = dict(t1=0.5, n_saves=2, cells=(48, 48), observables=("p", "p*p", "sx", "sz"), error_estimate=False)
    a = solve_master(cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0), init, **kw)
    b = solve_master(_GeneralDiosi(), init, **kw)
    for name in kw["observables"]:
        np.testing.assert_allclose(b.mean[name], a.mean[name], atol=1e-12)
    with pytest.raises(ValueError, match="master: .*non-Hermitian back-reaction"):
        solve_master(_GeneralDiosi(d1_phase=0.7), init, **kw)
