"""Jump unravelling of the seed-003 qubit (eqs. 77-82): exact Poisson counting, Born rule.

Seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".

Every jump shifts p by -tau B (|0>) or +tau B (|1>); the first jump collapses the state, so all
later jumps share its sign and |p_T - p_0| / (tau B) is the number of jumps N_T. The total rate is
omega / tau whatever the state, so N_T ~ Poisson(omega T / tau) exactly, at any step size: the
test uses rate x dt = 1 and checks the whole law bin by bin (5 SE), the mean and the variance.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close

import cqjax
from cqjax import InitialState


def _final(model, psi, n, *, t1, dt, seed=1):
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(seed), i))(jnp.arange(n))
    run = jax.jit(
        jax.vmap(
            lambda k: cqjax.simulate(
                model, jnp.zeros(2), psi, k, t1=t1, dt=dt, n_saves=1, unravelling=cqjax.Healed(), solver=cqjax.Kraus()
            )
        )
    )
    sol = run(keys)
    return np.asarray(sol.z[:, -1]), np.asarray(sol.psi[:, -1])


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_number_of_jumps_is_exactly_poisson_at_any_step(dt):
    model = cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.1)
    n, t1 = 40_000, 1.0
    z, _ = _final(model, jnp.array([1.0, 1.0], jnp.complex128) / np.sqrt(2), n, t1=t1, dt=dt)
    counts = np.rint(np.abs(z[:, 1]) / 0.1).astype(int)
    lam = 10.0
    assert_close(counts.mean(), lam, counts.std() / np.sqrt(n), what="E N")
    assert_close(counts.var(), lam, np.sqrt(2 * lam**2 + lam) / np.sqrt(n), what="Var N")  # Var of s^2 ~ (mu4 - s^4)/n
    freq = np.bincount(counts, minlength=30)[:30] / n
    pmf = np.array([math.exp(-lam) * lam**k / math.factorial(k) for k in range(30)])
    assert_close(freq, pmf, np.sqrt(pmf * (1 - pmf) / n), bias=1e-12, what="P(N = k)")


def test_born_rule_at_the_first_jump_and_coherence_on_the_no_jump_branch():
    model = cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.5)
    psi = jnp.array([np.sqrt(0.7), np.sqrt(0.3) * 1j], jnp.complex128)
    n, t1 = 20_000, 2.0
    z, out = _final(model, psi, n, t1=t1, dt=0.05)
    pr0 = np.abs(out[:, 0]) ** 2
    jumped = z[:, 1] != 0
    # every trajectory that jumped has collapsed, onto |0> with the Born probability 0.7
    assert np.all((pr0[jumped] < 1e-12) | (pr0[jumped] > 1 - 1e-12))
    up = pr0[jumped] > 0.5
    assert_close(up.mean(), 0.7, np.sqrt(0.21 / jumped.sum()), what="P(|0> | jumped)")
    assert np.all(np.sign(z[jumped, 1]) == np.where(up, -1, 1))  # |0> pushes p down
    # the no-jump branch keeps its populations and has probability exp(-omega t / tau)
    p_none = math.exp(-t1 / 0.5)
    assert_close((~jumped).mean(), p_none, np.sqrt(p_none * (1 - p_none) / n), what="P(no jump)")
    np.testing.assert_allclose(pr0[~jumped], 0.7, atol=1e-12)


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
def test_jump_runs_through_the_ensemble_runner_and_mean_field_feels_the_mean_force():
    model = cqjax.JumpQubit()
    init = InitialState(z_mean=jnp.zeros(2), psi=jnp.array([0.8, 0.6], jnp.complex128))
    res = cqjax.run_ensemble(
        model,
        init,
        t1=1.0,
        dt=0.01,
        n_saves=4,
        trajectories=20_000,
        precision="float64",
        observables=("p", "p*sz", "sz"),
    )
    assert res.info["unravelling"] == "jump"
    omega, b = 1.0, 1.0
    assert_close(res.mean["p"], -omega * b * 0.28 * res.t, res.sem["p"], bias=1e-12, what="E p")  # <sz> = 0.28
    mf = cqjax.run_ensemble(
        model,
        init,
        t1=1.0,
        dt=0.01,
        n_saves=4,
        trajectories=2,
        precision="float64",
        observables=("p", "sz"),
        unravelling=cqjax.MeanField(),
    )
    np.testing.assert_allclose(mf.mean["p"], -omega * b * 0.28 * mf.t, atol=1e-12)  # dp = -B omega <sz> dt
    assert np.all(mf.sem["p"] == 0)
    with pytest.raises(ValueError, match="^state:"):
        cqjax.run_ensemble(model, init, t1=1.0, dt=0.01, n_saves=4, trajectories=2, observables=("p",), state="mixed")


def test_poisson_inversion_in_float32_has_no_runaway_counts():
    """A uniform above the rounded float32 CDF (probability ~1e-7) must not produce the cap of 64."""
    from cqjax.dynamics.jump import poisson_inverse

    n, mean = 2_000_000, 1.0
    counts = np.asarray(
        jax.vmap(lambda k: poisson_inverse(k, jnp.float32(mean)))(jax.random.split(jax.random.key(3), n))
    )
    assert counts.max() < 15  # P(N >= 15) = 2e-13 per draw
    assert_close(counts.mean(), mean, np.sqrt(mean / n), what="E N (float32)")
    assert_close(counts.var(), mean, np.sqrt((2 * mean**2 + mean) / n), what="Var N (float32)")


def _no_jump_generators(n: int, dt: float) -> np.ndarray:
    """-(i H + 1/2 sum_k L_k^dag L_k) dt of the 12-level jump oscillator at n random points."""
    model = cqjax.JumpOscillator(levels=12)

    def gen(z):
        ops, _ = model.jump_channels(z)
        return -dt * (1j * model.hamiltonian(z) + 0.5 * jnp.einsum("kji,kjl->il", jnp.conj(ops), ops))

    return np.asarray(jax.vmap(gen)(jnp.asarray(np.random.default_rng(4).normal(size=(n, 2)))))


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_no_jump_propagator_is_the_matrix_exponential_applied_to_the_state(precision):
    """``expm_multiply`` (Taylor substeps, the jump step's no-jump propagator) equals scipy's
    ``expm(a) @ v`` to rounding (jax's expm is off by 4e-11 on the dt = 0.5 generators): random
    matrices of 1-norm ~0.01 (one substep) to ~30 (30 substeps), and the non-normal generators
    -(i H + 1/2 sum L^dag L) dt of the jump oscillator."""
    from cqjax.operators._ops import expm_multiply

    cdtype, tol = (jnp.complex128, 1e-13) if precision == "float64" else (jnp.complex64, 3e-6)
    rng = np.random.default_rng(3)
    cases = [(rng.normal(size=(20, 12, 12)) + 1j * rng.normal(size=(20, 12, 12))) * s / 12 for s in (0.01, 1.0, 30.0)]
    cases += [_no_jump_generators(20, 0.01), _no_jump_generators(20, 0.5)]
    for a in cases:
        v = rng.normal(size=(20, 12)) + 1j * rng.normal(size=(20, 12))
        exact = np.stack([scipy.linalg.expm(x) @ y for x, y in zip(a, v)])  # scipy's Pade, complex128
        got = np.asarray(jax.jit(jax.vmap(expm_multiply))(jnp.asarray(a, cdtype), jnp.asarray(v, cdtype)))
        err = np.linalg.norm(got - exact, axis=-1) / np.linalg.norm(exact, axis=-1)
        norm = np.abs(a).sum(axis=1).max()  # the largest 1-norm: rounding grows with the substeps
        assert err.max() < tol * max(1.0, norm), (norm, err.max())
