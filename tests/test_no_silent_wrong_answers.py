"""Regression tests: runs that used to finish with exit 0 and a wrong number (issue "no silent
wrong answers", commit aa13c84) now compute right or stop with a one-line reason.

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".

Jump model (seed 003 eqs. 77-80) with m = B = omega = 1, tau = 0.5 from |+> at the origin, t = 0.5:
- an extra Lindblad channel gamma D[sz] (gamma = 2): a jump collapses the qubit for good, so only
  the no-jump branch keeps a coherence, and D[sz] damps it at rate 2 gamma:
  E<sx>(t) = exp(-omega t / tau - 2 gamma t) = e^-3 exactly (was 0.370: the channel was dropped);
- classical noise sigma = 1 on p: p = -+tau B N + sigma W_t with N ~ Poisson(omega t / tau) = Poisson(1),
  so E p^2 = (tau B)^2 (1 + 1) + sigma^2 t = 1.0 exactly (was 0.491: the noise was dropped).
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, qubit

import cqjax
from cqjax import pauli, solve_master

PLUS = qubit(0.5)
T1 = 0.5


class DephasedJumpQubit(cqjax.JumpQubit, cqjax.AbstractDissipativeModel):
    gamma: float = 2.0

    def dissipators(self, z):
        return jnp.array([self.gamma], z.dtype), pauli()["sz"][None].astype(jnp.complex128)


class NoisyJumpQubit(cqjax.JumpQubit):
    sigma: float = 1.0

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * self.sigma


def _ensemble(model, observables, n=20_000, **kw):
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    return cqjax.run_ensemble(
        model, init, t1=T1, dt=0.01, n_saves=5, trajectories=n, observables=observables, precision="float64", **kw
    )


def _master(model, observables):
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    return solve_master(model, init, t1=T1, n_saves=5, observables=observables, cells=(48, 64))


@pytest.mark.slow
def test_jump_trajectories_apply_the_models_extra_lindblad_channels():
    model = DephasedJumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.5)
    exact = np.exp(-model.omega * T1 / model.tau - 2 * model.gamma * T1)
    r = _ensemble(model, ("sx",))
    assert_close(r.mean["sx"][-1], exact, r.sem["sx"][-1], what="E<sx> trajectories")
    m = _master(model, ("sx",))
    assert abs(m.mean["sx"][-1] - exact) <= m.err["sx"][-1] + 1e-3, (m.mean["sx"][-1], exact, m.err["sx"][-1])
    z = abs(r.mean["sx"][-1] - m.mean["sx"][-1]) / np.hypot(r.sem["sx"][-1], m.err["sx"][-1])
    assert z < 5, z


@pytest.mark.slow
def test_jump_trajectories_apply_the_models_classical_noise():
    model = NoisyJumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.5)
    r = _ensemble(model, ("p*p",))
    assert_close(r.mean["p*p"][-1], 1.0, r.sem["p*p"][-1], what="E p^2 trajectories")
    m = _master(model, ("p*p",))
    assert abs(m.mean["p*p"][-1] - 1.0) <= m.err["p*p"][-1] + 1e-3, (m.mean["p*p"][-1], m.err["p*p"][-1])


def test_the_jump_unravelling_refuses_a_solver_it_does_not_use():
    model = cqjax.JumpQubit()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    for solver in (cqjax.Milstein(), cqjax.EulerMaruyama()):
        with pytest.raises(ValueError, match=rf"^solver: the jump unravelling .* '{solver.name}' does not apply"):
            cqjax.run_ensemble(
                model, init, t1=0.1, dt=0.01, n_saves=1, trajectories=4, observables=("p",), solver=solver
            )
        with pytest.raises(ValueError, match="^solver:"):
            cqjax.simulate(
                model,
                jnp.zeros(2),
                PLUS,
                jax.random.key(0),
                t1=0.1,
                dt=0.01,
                n_saves=1,
                unravelling=cqjax.Healed(),
                solver=solver,
            )


class TanhDiosi(cqjax.AbstractGeneralModel):
    """Diosi in the general form (L = sz, D1^{0a}_p = -lam, H = (2 lam q + phi) sz) with the
    decoherence D0 = lam^2 / sigma^2 (1 - 0.8 tanh^2(4 q)): saturated at q = 0, below the trade-off
    (not completely positive) everywhere else."""

    lam: float = 1.0
    phi: float = 2.0
    sigma: float = 1.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        return (2 * self.lam * z[0] + self.phi) * pauli()["sz"].astype(jnp.complex128)

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * self.sigma

    def drift(self, z):
        return jnp.stack([z[1], jnp.zeros_like(z[1])])

    def lindblad(self, z):
        d1 = jnp.array([[0.0], [-self.lam]], jnp.complex128)
        d0 = (self.lam**2 / self.sigma**2 * (1 - 0.8 * jnp.tanh(4 * z[0]) ** 2)).astype(jnp.complex128)
        return pauli()["sz"][None].astype(jnp.complex128), d0.reshape(1, 1), d1

    def operators(self):
        return pauli()


def test_complete_positivity_is_checked_along_the_run_not_only_at_the_start():
    """Used to run with purity 1 (the negative excess decoherence was clipped to 0)."""
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    with pytest.raises(
        cqjax.SimulationError,
        match=r"complete positivity: the decoherence-diffusion trade-off .* "
        r"fails by [0-9.e-]+ at t = 0\.1 on trajectory \d+ \(q = ",
    ):
        cqjax.run_ensemble(
            TanhDiosi(), init, t1=0.5, dt=0.01, n_saves=5, trajectories=100, observables=("sx",), precision="float64"
        )
    with pytest.raises(ValueError, match=r"master: complete positivity: .* at the master grid cell .*allow_non_cp"):
        solve_master(TanhDiosi(), init, t1=0.5, n_saves=5, cells=(32, 32), error_estimate=False)
    r = solve_master(TanhDiosi(), init, t1=0.5, n_saves=5, cells=(32, 32), error_estimate=False, allow_non_cp=True)
    assert not r.completely_positive


class LeakyQubit(cqjax.AbstractModel):
    """Diosi's H plus q (sx + i sy) / 2: Hermitian at q = 0 only."""

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        ops = pauli()
        raising = 0.5 * (ops["sx"] + 1j * ops["sy"])
        return (z[1] ** 2 / 2 * jnp.eye(2) + (2 * z[0] + 2.0) * ops["sz"] + z[0] * raising).astype(jnp.complex128)

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype)

    def operators(self):
        return pauli()


def test_hermiticity_is_checked_along_the_run_and_on_every_master_cell():
    """Used to run to exit 0 in both."""
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    with pytest.raises(cqjax.SimulationError, match=r"Hermiticity: .* not Hermitian at t = 0\.1 on trajectory"):
        cqjax.run_ensemble(
            LeakyQubit(), init, t1=0.5, dt=0.01, n_saves=5, trajectories=100, observables=("sx",), precision="float64"
        )
    with pytest.raises(ValueError, match=r"master: Hermiticity: .* at the master grid cell"):
        solve_master(
            LeakyQubit(),
            init,
            t1=0.5,
            n_saves=5,
            cells=(16, 16),
            extent={"q": (-1, 1), "p": (-3, 3)},
            error_estimate=False,
            allow_non_cp=True,
        )


def test_samples_beyond_one_chunk_are_kept_not_capped():
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    kw = dict(t1=0.1, dt=0.01, n_saves=2, trajectories=12, observables=("p",), precision="float64")
    r = cqjax.run_ensemble(model, init, n_samples=10, chunk_size=4, **kw)
    assert r.samples_z.shape == (10, 3, 2)
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(0), i))(jnp.arange(10))
    sol = jax.vmap(
        lambda k: cqjax.simulate(
            model, jnp.zeros(2), PLUS, k, t1=0.1, dt=0.01, n_saves=2, unravelling=cqjax.Healed(), solver=cqjax.Kraus()
        )
    )(keys)
    np.testing.assert_allclose(r.samples_z, sol.z, atol=1e-12)
    with pytest.raises(ValueError, match=r"^n_samples: must be in 0..trajectories = 12, got 13"):
        cqjax.run_ensemble(model, init, n_samples=13, **kw)


class DecayingQubit(cqjax.AbstractJumpModel):
    """|1> decays to |0> at rate g by the jump sqrt(g) sigma_-, which kicks p by +1; H = p^2/2."""

    g: float = 2.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        return (z[1] ** 2 / 2 * jnp.eye(2)).astype(jnp.complex128)

    def classical_hamiltonian(self, z):
        return z[1] ** 2 / 2

    def jump_channels(self, z):
        lower = jnp.array([[0.0, 1.0], [0.0, 0.0]], jnp.complex128)
        return jnp.sqrt(self.g) * lower[None], jnp.array([[0.0, 1.0]], z.dtype)

    def operators(self):
        return pauli()


def test_a_state_left_without_jump_rate_takes_no_further_jump():
    """Regression: a second jump drawn in the same step from a state with no rate left made the
    trajectory NaN. From |1> exactly one jump happens, with P(by t) = 1 - exp(-g t) at any dt (the
    count per step is Poisson(g dt) while in |1>, and nothing after)."""
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([0.0, 1.0], jnp.complex128))
    n = 4000
    r = cqjax.run_ensemble(
        DecayingQubit(), init, t1=2.0, dt=0.5, n_saves=4, trajectories=n, observables=("p",), precision="float64"
    )
    exact = 1 - np.exp(-2.0 * r.t)
    assert_close(r.mean["p"], exact, np.sqrt(exact * (1 - exact) / n) + 1e-12, what="P(decayed)")
    assert np.all((r.samples_z[..., 1] == 0) | (r.samples_z[..., 1] == 1))


def test_an_absorbing_rule_outside_the_absorbing_kind_is_refused_not_ignored():
    class Walled(cqjax.Diosi):
        def inside(self, z):
            return z[0] > 0

    init = cqjax.InitialState(z_mean=jnp.array([1.0, 0.0]), psi=PLUS)
    with pytest.raises(
        ValueError,
        match=r"model.inside: Walled defines an absorbing rule but is not a "
        r"cqjax.AbstractAbsorbingModel",
    ):
        cqjax.run_ensemble(Walled(), init, t1=0.1, dt=0.01, n_saves=1, trajectories=4, observables=("q",))


def test_more_trajectories_than_the_key_scheme_covers_are_refused():
    """Keys fold in two 32-bit words: indices up to 2^62 - 1 are distinct (trajectory 2^32 + i once had
    the key of trajectory i); beyond that a run is refused."""
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=PLUS)
    with pytest.raises(ValueError, match=r"^trajectories: must be in 1..2\^62 .* would repeat trajectories"):
        cqjax.run_ensemble(cqjax.Diosi(), init, t1=0.1, dt=0.01, n_saves=1, trajectories=2**62 + 1, observables=("q",))
