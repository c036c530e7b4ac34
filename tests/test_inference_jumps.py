"""The quantum filter of a jump model's record (seed 003 sec. IV): it reproduces the jump
trajectories' states, its log-likelihood is the product of the Poisson/Born step probabilities, it
is differentiable, maximum likelihood recovers the jump rate, and a record that is not a path of
the model is refused."""

import functools
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax.inference.maximum_likelihood import _value_and_grad

PLUS = jnp.array([1.0, 1.0]) / 2**0.5
INIT = cqjax.InitialState(z_mean=jnp.array([0.3, 0.0]), psi=PLUS)
TRUE = cqjax.JumpQubit(omega=1.0, tau=0.5, B=1.0)  # total jump rate omega / tau = 2, shifts -+tau B = -+0.5
DT = 0.01


PATHS = 256


@functools.cache
def record():
    """256 jump trajectories of 100 steps (one shape for every test: one compilation of each function)."""
    return cqjax.simulate_paths(TRUE, INIT, t1=1.0, dt=DT, paths=PATHS, seed=5)


def test_filter_reproduces_the_jump_trajectories_states():
    data, states = record()
    filtered, loglik = cqjax.filter_paths(TRUE, data.t, data.z, PLUS)
    assert states.shape == (PATHS, 101, 2) and filtered.shape == (PATHS, 101, 2, 2)
    assert np.sum(np.abs(np.diff(data.z[..., 1], axis=1)) > 0.1) >= PATHS  # jumps in the record
    np.testing.assert_allclose(filtered, np.einsum("nti,ntj->ntij", states, np.conj(states)), rtol=0, atol=1e-12)
    assert np.all(np.isfinite(loglik))


def test_loglik_is_the_sum_of_poisson_born_step_probabilities():
    """A hand-written loop over the steps, with the simulation's own states: n jumps of channel k in
    a step have probability exp(-W dt) (W dt)^n / n! |<k|psi>|^2 (after one jump the state is |k>),
    none exp(-W dt), W = omega / tau (seed 003 eqs. 78-79)."""
    data, states = record()
    _, loglik = cqjax.filter_paths(TRUE, data.t, data.z, PLUS, keep_states=False)
    rate, shift = 1.0 / 0.5, 0.5
    pops = np.abs(np.asarray(states)) ** 2  # (N, T, 2)
    direct = np.zeros(PATHS)
    for k in range(100):
        jumps = np.round(-(data.z[:, k + 1, 1] - data.z[:, k, 1]) / shift)  # > 0: up (p -= tau B), < 0: down
        n = np.abs(jumps)
        pop = np.where(jumps > 0, pops[:, k, 0], np.where(jumps < 0, pops[:, k, 1], 1.0))
        factorial = np.array([math.factorial(int(m)) for m in n])
        direct += -rate * DT + n * np.log(rate * DT) - np.log(factorial) + np.log(pop)
    assert np.max(np.abs(np.diff(data.z[..., 1], axis=1))) > 1.5 * shift  # a step with two jumps
    np.testing.assert_allclose(loglik, direct, rtol=1e-12)
    # a record stored in float32 (as a float32 run keeps its paths) is still a path of the model
    rounded = data.z.astype(np.float32).astype(np.float64)
    _, loglik32 = cqjax.filter_paths(TRUE, data.t, rounded, PLUS, keep_states=False)
    np.testing.assert_allclose(loglik32, direct, rtol=1e-12)


def test_loglik_gradient_matches_finite_differences():
    """d/d omega, and the derivative along (tau e^s, B e^-s), which keeps the shifts tau B that the
    jump sizes fix; the jump sizes depend on tau and B, the rate on omega / tau."""
    data, _ = record()
    names = ("omega", "tau", "B")
    args = (TRUE, names, jnp.array([False] * 3), jnp.asarray(data.t), jnp.asarray(data.z), PLUS + 0j, 1.0)
    u = jnp.array([1.3, 0.5, 1.0])
    _, grad = _value_and_grad(u, *args)
    f = lambda v: float(_value_and_grad(v, *args)[0])
    h = 1e-6
    fd = (f(u.at[0].add(h)) - f(u.at[0].add(-h))) / (2 * h)
    assert abs(float(grad[0]) - fd) < 1e-6 * max(1.0, abs(fd))
    along = lambda s: u * jnp.array([1.0, np.exp(s), np.exp(-s)])
    fd_along = (f(along(h)) - f(along(-h))) / (2 * h)
    assert abs(float(grad[1] * u[1] - grad[2] * u[2]) - fd_along) < 1e-6 * max(1.0, abs(fd_along))
    assert abs(fd_along) > 1.0  # tau moves the rate


def test_ml_recovers_the_jump_rate_within_3_se():
    """omega enters through the rate omega / tau only: the estimate is tau N_jumps / T_total and its
    standard error omega / sqrt(N_jumps)."""
    data, _ = record()
    result = cqjax.fit(cqjax.JumpQubit(omega=0.5, tau=0.5, B=1.0), data, ("omega",), state0=PLUS)
    n_jumps = np.sum(np.abs(np.round(np.diff(data.z[..., 1], axis=1) / 0.5)))
    est, se = result.estimates["omega"], result.stderr["omega"]
    assert result.converged and abs(est - 1.0) < 3 * se, result.report()
    np.testing.assert_allclose(est, 0.5 * n_jumps / (PATHS * 1.0), rtol=1e-6)
    np.testing.assert_allclose(se, est / np.sqrt(n_jumps), rtol=1e-3)
    with pytest.raises(ValueError, match=r"^free: B change the jump shifts of JumpQubit"):
        cqjax.fit(TRUE, data, ("B",), state0=PLUS)


def test_a_jump_of_the_wrong_size_is_refused():
    data, _ = record()
    z = np.array(data.z[0])
    k = int(np.argmax(np.abs(np.diff(z[:, 1])) > 0.1))  # the first jump of path 0
    z[k + 1 :, 1] += 0.1 * np.sign(z[k + 1, 1] - z[k, 1])  # 1.2 tau B
    with pytest.raises(ValueError, match=rf"^filter: step {k} \(t = .*not a path of this model") as err:
        cqjax.filter(TRUE, data.t, z, PLUS)
    assert "\n" not in str(err.value)
    _, loglik = jax.jit(cqjax.filter)(TRUE, data.t, z, PLUS)  # traced: probability zero
    assert loglik == -np.inf
    with pytest.raises(ValueError, match=r"^max_jumps: must be an integer >= 1, got 0$"):
        cqjax.filter(TRUE, data.t, z, PLUS, max_jumps=0)
    with pytest.raises(ValueError, match=r"^filter: path 0, step"):
        cqjax.filter_paths(TRUE, data.t, np.concatenate([z[None], data.z[1:]]), PLUS)


def test_indistinguishable_channels_mix_the_state():
    """jump_oscillator: a and a^dag shift p by the same kick, so a jump from |1> leaves the mixture
    (1/3)|0><0| + (2/3)|2><2| (Born weights n : n + 1), which a pure trajectory does not show; the
    no-jump evolution over the rest of the step weights |n> by exp(-(c/tau)(2n + 1) dt). The record:
    p = 0 until a jump at step 4 sets it to -kick, q then moves by p dt a step."""
    model = cqjax.JumpOscillator(levels=4, tau=0.5)  # c = 1: rate c / tau = 2, kick = tau B omega / 2c = 0.25
    p = np.where(np.arange(11) > 4, -0.25, 0.0)
    q = np.concatenate([[0.0], np.cumsum(p[1:] * DT)])
    filtered, loglik = cqjax.filter(model, np.arange(11) * DT, np.stack([q, p], 1), jnp.eye(4)[1])
    weights = np.array([1 / 3, 0, 2 / 3 * np.exp(-2 * 4 * DT), 0])
    np.testing.assert_allclose(np.real(np.diag(filtered[5])), weights / weights.sum(), atol=1e-12)
    np.testing.assert_allclose(filtered[:5, 1, 1], 1.0, atol=1e-12)
    # log P: exp(-W dt) with W = 2 <2n + 1> over the steps without a jump, 2 dt <n + n + 1> e^(-W dt) for the jump
    assert np.isfinite(loglik)
    w_before, w_jump = 2 * 3, 2 * 3
    purity = np.real(np.trace(filtered[-1] @ filtered[-1]))
    assert purity < 0.99
    expected = -4 * w_before * DT + np.log(w_jump * DT) - w_jump * DT
    rho = weights / weights.sum()
    for _ in range(5):  # later steps: W = 2 <2n + 1> in the evolving mixture of |0> and |2>
        w = 2 * (rho[0] * 1 + rho[2] * 5)
        expected -= w * DT
        rho = rho * np.exp(-2 * np.array([1, 3, 5, 7]) * DT)
        rho = rho / rho.sum()
    np.testing.assert_allclose(loglik, expected, rtol=1e-12)


class NoisyJumpQubit(cqjax.AbstractDiagonalModel, cqjax.AbstractJumpModel):
    """H = p^2/2 + b q sz with jumps sqrt(rate) P_up, sqrt(rate) P_dn shifting p by -+shift, and
    classical noise sigma dW on p (q deterministic)."""

    rate: float = 2.0
    shift: float = 0.5
    b: float = 1.0
    sigma: float = 0.1
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        k = z[1] ** 2 / 2
        return jnp.stack([k + self.b * z[0], k - self.b * z[0]])

    def classical_hamiltonian(self, z):
        return z[1] ** 2 / 2

    def jump_channels(self, z):
        r = jnp.sqrt(jnp.asarray(self.rate, z.dtype))
        ops = r * jnp.stack([jnp.diag(jnp.array([1.0, 0.0], z.dtype)), jnp.diag(jnp.array([0.0, 1.0], z.dtype))])
        s = jnp.asarray(self.shift, z.dtype)
        return ops, jnp.stack([jnp.stack([0 * s, -s]), jnp.stack([0 * s, s])])

    def noise(self, z):
        return jnp.stack([jnp.zeros_like(z[0]), jnp.asarray(self.sigma, z.dtype) * jnp.ones_like(z[0])])[:, None]

    def operators(self):
        return cqjax.pauli()


def test_classical_noise_mixes_the_sequences_by_their_gaussian_density():
    """With noise 0.1 sqrt(dt) = 0.01 on p and jumps of 0.5 the sequences separate (50 standard
    deviations): the filter reproduces the trajectories' states, and log P is the Poisson/Born
    probability of the nearest sequence times the Gaussian density of dp - S (q: dq = p dt exactly)."""
    model = NoisyJumpQubit()
    data, states = cqjax.simulate_paths(model, INIT, t1=0.3, dt=DT, paths=4, seed=2)
    filtered, loglik = cqjax.filter_paths(model, data.t, data.z, PLUS)
    np.testing.assert_allclose(filtered, np.einsum("nti,ntj->ntij", states, np.conj(states)), rtol=0, atol=1e-12)
    dp = np.diff(data.z[..., 1], axis=1)
    jumps = np.round(-dp / 0.5)
    assert np.any(jumps != 0)
    pops = np.abs(np.asarray(states[:, :-1])) ** 2
    n = np.abs(jumps)
    pop = np.where(jumps > 0, pops[..., 0], np.where(jumps < 0, pops[..., 1], 1.0))
    var = 0.1**2 * DT
    log_factorial = np.vectorize(math.lgamma)(n + 1)
    gauss = -((dp + 0.5 * jumps) ** 2) / (2 * var) - 0.5 * np.log(2 * np.pi * var)
    direct = -2 * DT + n * np.log(2 * DT) - log_factorial + np.log(pop) + gauss
    np.testing.assert_allclose(loglik, direct.sum(axis=1), rtol=1e-10)
    # smooth in the shift (no classification with noise): jax.grad against central differences
    f = lambda s: jnp.sum(cqjax.filter_paths(eqx.tree_at(lambda m: m.shift, model, s), data.t, data.z, PLUS)[1])
    h = 1e-6
    fd = (float(f(jnp.asarray(0.5 + h))) - float(f(jnp.asarray(0.5 - h)))) / (2 * h)
    assert abs(float(jax.grad(f)(jnp.asarray(0.5))) - fd) < 1e-5 * max(1.0, abs(fd))
