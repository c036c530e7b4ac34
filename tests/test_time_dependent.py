"""Time-dependent coefficients (seed 004 App. H, Layton, Oppenheim and Weller-Davies): the explicit-t
form equals the clock-coordinate form trajectory by trajectory, and ``DrivenDiosi`` (lam(t) = lam0
cos(omega t)) matches its exact moments (``driven_diosi_exact``) in trajectories and the master equation.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import cqjax
from cqjax import pauli
from cqjax.analysis.exact import driven_diosi_exact
from cqjax.master._clock import clocked_initial

LAM0, OMEGA, M, PHI, SIGMA = 1.0, 3.0, 1.0, 0.5, 1.0
Z0 = np.array([0.2, 0.1])
PLUS = jnp.array([1.0, 1.0], jnp.complex128) / np.sqrt(2)


class DrivenDense(cqjax.AbstractTimeDependentModel, cqjax.AbstractDissipativeModel):
    """A dense model whose H, sigma and extra Lindblad channel all depend on t."""

    lam: float = 0.8
    t: float = 0.25
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        P = {k: v.astype(jnp.complex128) for k, v in pauli().items()}
        return (z[1] ** 2 / 2) * jnp.eye(2) + self.lam * jnp.cos(2 * self.t) * z[0] * P["sz"] + self.t * P["sx"]

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * (1.0 + 0.5 * jnp.sin(3 * self.t))

    def dissipators(self, z):
        return jnp.array([0.3 * self.t**2]), pauli()["sy"].astype(jnp.complex128)[None]

    def operators(self):
        return pauli()


def _paths(model, z0, n=32, t1=0.4, dt=0.01, solver=None):
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(5), i))(jnp.arange(n))
    one = lambda k: cqjax.simulate(  # noqa: E731
        model, z0, PLUS, k, t1=t1, dt=dt, n_saves=5, unravelling=cqjax.Healed(), solver=solver or cqjax.Kraus()
    )
    return jax.jit(jax.vmap(one))(keys)


@pytest.mark.parametrize(
    "model", [cqjax.DrivenDiosi(lam0=LAM0, omega=OMEGA, phi=PHI, t=0.1), DrivenDense()], ids=["diagonal", "dense"]
)
def test_explicit_t_equals_clock_form_trajectory_by_trajectory(model):
    """Same keys, float64: the explicit-t run and the clock-coordinate run (tau from model.t,
    d tau = dt) agree to rounding on every trajectory, point and state, at every saved time."""
    explicit = _paths(model, jnp.asarray(Z0))
    init = clocked_initial(model, cqjax.InitialState(z_mean=jnp.asarray(Z0), psi=PLUS))
    clock = _paths(cqjax.clocked(model), jnp.asarray(init.z_mean))
    np.testing.assert_allclose(clock.z[..., [0, 2]], explicit.z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clock.psi, explicit.psi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clock.z[..., 1], float(model.t) + clock.ts, rtol=0, atol=1e-12)  # tau = t
    assert np.all(clock.z[..., 3] == 0)  # p_tau is a spectator
    # the clock really advances (tau = t above), so the explicit-t run evaluates its coefficients at t too


OBS = ["sx", "sy", "p", "p*p", "p*sz"]


@pytest.fixture(scope="module")
def model():
    return cqjax.DrivenDiosi(m=M, lam0=LAM0, omega=OMEGA, phi=PHI, sigma=SIGMA)


@pytest.fixture(scope="module")
def ensemble(model):
    return cqjax.run(
        model, PLUS, Z0, dt=0.002, t1=0.8, n_saves=4, trajectories=3000, observables=OBS, precision="float64", seed=3
    )


def test_driven_diosi_run_matches_exact(ensemble):
    """lam(t) = cos(3t) changes sign at t = 0.52: E[p sz] = -2 Lam(t) turns back, the coherence
    decays by exp(-2 int lam^2 / sigma^2). Bias: the Kraus step's O(dt) weak error, about dt."""
    for k, t in enumerate(np.asarray(ensemble.t)):
        if t == 0:
            continue
        exact = driven_diosi_exact(t, Z0, LAM0, OMEGA, M, PHI, SIGMA)
        for name in OBS:
            assert_close(ensemble.mean[name][k], exact[name], ensemble.sem[name][k] + 1e-12, 0.005, what=f"{name}({t})")


# measured |master - exact| at t = 0.8 on this grid: sx 0.017, sy 0.031, p 0.0013, p*p 0.106, p*sz 0.0095;
# with twice the tau cells p*p 0.065, p*sz 0.006 (first order in the tau spacing: the upwind clock
# spreads tau by sqrt(t h_tau) around t, which averages lam(tau) = cos(3 tau) over that spread)
MASTER_TOL = {"sx": 0.04, "sy": 0.05, "p": 0.005, "p*p": 0.15, "p*sz": 0.02}


def test_driven_diosi_master_clock_form_matches_exact(model):
    """The master equation integrates the clock form (a tau axis, cells in the order q, tau, p,
    p_tau; p_tau one cell): the exact moments to its discretisation error (first order in the
    tau spacing, ``MASTER_TOL``). Cells odd around the initial point, so that it is a cell centre."""
    h = 1.5 / 64
    extent = {"q": (-2.6, 3.0), "p": (-4.1, 4.3), "tau": (-0.5 * h, 1.5 - 0.5 * h), "p_tau": (-0.5, 0.5)}
    master = cqjax.master(
        model, PLUS, Z0, t1=0.8, n_saves=4, observables=OBS, cells=(17, 64, 33, 1), extent=extent, error_estimate=False
    )
    assert master.grid.cells == (17, 64, 33, 1) and master.lost[-1] < 3e-3
    for k, t in enumerate(np.asarray(master.t)):
        exact = driven_diosi_exact(t, Z0, LAM0, OMEGA, M, PHI, SIGMA) if t > 0 else None
        for name in OBS:
            if exact is not None:
                assert abs(master.mean[name][k] - exact[name]) < MASTER_TOL[name], (name, t, master.mean[name][k])


def test_time_dependent_refusals():
    with pytest.raises(ValueError, match="not a time-dependent model"):
        cqjax.clocked(cqjax.Diosi())
    with pytest.raises(ValueError, match="time-dependent coefficients"):
        cqjax.filter(cqjax.DrivenDiosi(), jnp.zeros((3,)), jnp.zeros((3, 2)), PLUS)


def test_channels_that_appear_later_choose_mixed_states():
    """DrivenDense from t = 0 has its extra channel's rate 0.3 t^2 = 0 at the start: the automatic
    choice must still be the mixed-state unravelling (a pure-state run would drop the channel)."""
    r = cqjax.run_ensemble(
        DrivenDense(t=0.0),
        cqjax.InitialState(z_mean=jnp.asarray(Z0), psi=PLUS),
        t1=0.1,
        dt=0.05,
        n_saves=1,
        trajectories=4,
        observables=("sx",),
        precision="float64",
    )
    assert r.info["state"] == "mixed"
