"""The seed-003 oscillator with momentum jumps against exact results.

J. Oppenheim, "A postquantum theory of classical gravity?", Sec. IV.B (decomposition eq. 18,
jump realisation eq. 68): H = p^2/2m + B q omega (a^dag a + a a^dag)/2 with the jump operators
sqrt(c/tau) a and sqrt(c/tau) a^dag, each kicking p by -kick = -tau B omega / (2c). The quantum
state alone follows d rho/dt = -i[B q H^(m), rho] + (c/tau)(D[a] + D[a^dag]) rho, so <n> grows
at c/tau, and p changes only by kicks ({p, h^00} = 0 for h^00 = p^2/2m), at the total rate
(c/tau)<2n + 1>. From |n0> at p0 = 0 (untruncated), with N(t) the number of jumps:
    E n(t) = n0 + c t / tau,   E N(t) = (c/tau)(2 n0 t + c t^2 / tau + t),
    E p(t) = -kick E N(t) = -B omega (n0 t + c t^2 / (2 tau) + t/2),
and from |0> the populations are thermal with mean nbar = c t / tau: P_n = nbar^n / (1 + nbar)^(n+1).
A Fock state stays a Fock state: a trajectory is a birth-death walk on n (up-rate (c/tau)(n+1),
down-rate (c/tau) n). All of this is linear in the initial populations.

Stated biases at t = 0.5 (m = B = omega = c = 1, tau = 0.5, 12 levels, dt = 0.01):
- truncation: the truncated walk is reflected at the top level; ``_walk`` solves its population
  equations exactly (independently of the engine). The probability of reaching the top level by
  t = 0.5 is 7.1e-4 from |0> and 0.017 from |2>; the bias of E p is 2.1e-4 and 7.2e-3, of E n
  6.8e-4 and 0.021 (not negligible from |2>), so the difference enters the tolerance.
- time step: the jump step draws the number of jumps with the rate at the start of the step,
  and that rate grows with n: an O(dt) bias. For Fock states the scheme is itself a discrete walk
  whose expectations can be summed exactly: at t = 0.5 its bias is 0.57 dt (E p) and 0.18 dt
  (E n) from |0>, 0.28 dt and 0.48 dt from |2>, at most 0.29 dt on a population. We allow dt on
  E p and E n and dt / 2 on the populations.
The old engine, which counted the force {p, Tr H / d} on top of the jumps, gave E p(0.5) = -3.5
from |0> instead of -0.5; the tolerances below are ~0.1 and the tests check that they are.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from jax.scipy.linalg import expm  # float64: tests/conftest.py enables x64

import cqjax
from cqjax import generator

pytestmark = pytest.mark.optimized  # long runs: XLA's optimisations pay (tests/conftest.py)

C, TAU, B, OMEGA = 1.0, 0.5, 1.0, 1.0
KICK = TAU * B * OMEGA / (2 * C)  # 0.25: a sum of kicks is exact in binary floating point
LEVELS, T1, DT, N_SAVES = 12, 0.5, 0.01, 5
WEIGHTS = {0: 0.4, 2: 0.6}  # the ensemble starts from the mixture 0.4 |0><0| + 0.6 |2><2|
TRAJECTORIES = 6000


def _exact(n0, t):
    """(E n, E N, E p) of the untruncated model from |n0> at p0 = 0."""
    t = np.asarray(t, float)
    en = n0 + C * t / TAU
    e_jumps = (C / TAU) * (2 * n0 * t + C * t**2 / TAU + t)
    return en, e_jumps, -KICK * e_jumps


def _walk(n0, ts, levels=LEVELS):
    """The truncated walk solved exactly: populations (T, levels), E n, E N, E p and the
    probability of having reached the top level, at the times ``ts``."""
    r = C / TAU
    up = r * (np.arange(levels) + 1.0)
    up[-1] = 0.0  # the truncated a^dag annihilates the top level
    down = r * np.arange(levels, dtype=float)
    gen = np.diag(-(up + down)) + np.diag(up[:-1], -1) + np.diag(down[1:], 1)  # gen[j, i]: rate i -> j
    aug = np.zeros((levels + 1, levels + 1))  # the last entry accumulates E N = int sum_n P_n (up_n + down_n)
    aug[:levels, :levels] = gen
    aug[levels, :levels] = up + down
    absorbing = gen.copy()
    absorbing[:, -1] = 0.0  # the top level made absorbing: its population = P(reached it)
    start = np.zeros(levels + 1)
    start[n0] = 1.0
    pops, jumps, top = [], [], []
    for t in ts:
        x = np.asarray(expm(jnp.asarray(aug * t))) @ start
        pops.append(x[:levels])
        jumps.append(x[levels])
        top.append((np.asarray(expm(jnp.asarray(absorbing * t))) @ start[:levels])[-1])
    pops, jumps = np.array(pops), np.array(jumps)
    return {"P": pops, "n": pops @ np.arange(levels), "N": jumps, "p": -KICK * jumps, "top": np.array(top)}


def _fock(k, levels=LEVELS):
    return jnp.asarray(np.eye(levels, dtype=complex)[k])


# --------------------------------------------------------------------------------------------
# The model itself.


def test_hamiltonian_is_the_jump_decomposition_and_the_mean_force_is_the_coupling():
    model = cqjax.JumpOscillator(m=2.0, B=0.7, omega=1.3, tau=0.4, c=0.9, levels=LEVELS)
    z = jnp.array([0.8, -0.3])
    q, p = 0.8, -0.3
    H = np.asarray(model.hamiltonian(z))
    ops, shifts = (np.asarray(x) for x in model.jump_channels(z))
    a = np.diag(np.sqrt(np.arange(1.0, LEVELS)), 1)
    # seed 003 eq. 18: H = h^00 I + sum_k h^kk L_k^dag L_k with L_k = sqrt(tau) ops_k, h^kk = B q omega / 2c
    hkk = 0.7 * q * 1.3 / (2 * 0.9)
    decomposed = p**2 / 4.0 * np.eye(LEVELS) + hkk * 0.4 * sum(o.conj().T @ o for o in ops)
    np.testing.assert_allclose(H, decomposed, atol=1e-12)
    np.testing.assert_allclose(ops[0], np.sqrt(0.9 / 0.4) * a, atol=1e-12)
    np.testing.assert_allclose(ops[1], np.sqrt(0.9 / 0.4) * a.T, atol=1e-12)
    # it is p^2/2m + B q omega (n + 1/2) except at the top level (the truncated a a^dag)
    n = np.arange(LEVELS)
    diff = np.diag(H).real - (p**2 / 4.0 + 0.7 * q * 1.3 * (n + 0.5))
    np.testing.assert_allclose(diff[:-1], 0.0, atol=1e-12)
    assert diff[-1] == pytest.approx(-0.7 * q * 1.3 * LEVELS / 2)
    # eq. 68: the shift is the flow of h^kk over the time tau: (tau dh/dp, -tau dh/dq) = (0, -tau B omega / 2c)
    np.testing.assert_allclose(shifts, [[0.0, -0.4 * 0.7 * 1.3 / 1.8]] * 2, atol=1e-12)
    # the drift is {Z, h^00} only: dq = p/m, dp = 0 (the force is carried by the jumps)
    g = generator(model, z)
    np.testing.assert_allclose(np.asarray(g.drift), [p / 2.0, 0.0], atol=1e-12)
    assert float(jnp.max(jnp.abs(g.force))) == 0.0
    # mean force of the jumps in a Fock state below the top: sum_k |L_k n|^2 shift_k = -B omega (n + 1/2)
    rates = np.einsum("kij,kij->kj", ops.conj(), ops).real  # (k, level): <n|L_k^dag L_k|n>
    force = rates.T @ shifts[:, 1]
    np.testing.assert_allclose(force[:-1], -0.7 * 1.3 * (n[:-1] + 0.5), atol=1e-12)
    np.testing.assert_allclose(rates.sum(0)[:-1], 0.9 / 0.4 * (2 * n[:-1] + 1), atol=1e-12)  # total rate
    # and the mean-field force {p, H} (no jumps) is the same operator, top level included
    g_mf = generator(model, z, jumps=False)
    total = np.asarray(g_mf.force[1]) + float(g_mf.drift[1]) * np.eye(LEVELS)
    np.testing.assert_allclose(np.diag(total).real, force, atol=1e-12)


def test_operators_and_named_states():
    model = cqjax.JumpOscillator(levels=5)
    ops = {k: np.asarray(v) for k, v in model.operators().items()}
    assert set(ops) == {"n", "x", "y"}
    for name, op in ops.items():
        assert op.shape == (5, 5)
        np.testing.assert_allclose(op, op.conj().T, atol=1e-15, err_msg=name)
    np.testing.assert_allclose(np.diag(ops["n"]).real, np.arange(5))
    xy = ops["x"] @ ops["y"] - ops["y"] @ ops["x"]  # [x, y] = i, but for the truncation at the top level
    np.testing.assert_allclose(np.diag(xy)[:-1], 1j, atol=1e-12)
    states = model.named_states()
    for name, k in (("ground", 0), ("one", 1), ("two", 2), ("fock_4", 4)):
        np.testing.assert_array_equal(states[name], np.eye(5)[k])
    assert "fock_5" not in states and "two" not in cqjax.JumpOscillator(levels=2).named_states()


@pytest.mark.parametrize("levels", [1, 0, 1000, 2.5, True, "12"])
def test_levels_are_validated(levels):
    with pytest.raises(ValueError, match="levels"):
        cqjax.JumpOscillator(levels=levels)


@pytest.mark.parametrize("name", ["m", "tau", "c"])
def test_positive_parameters(name):
    with pytest.raises(ValueError, match=name):
        cqjax.JumpOscillator(**{name: 0.0})


def test_config_loads_with_the_ground_state():
    from pathlib import Path

    cfg = cqjax.load_config(Path(__file__).resolve().parent.parent / "configs" / "jump_oscillator.toml")
    assert isinstance(cfg.model, cqjax.JumpOscillator) and cfg.model.levels == LEVELS
    np.testing.assert_array_equal(np.asarray(cfg.initial.psi), np.eye(LEVELS)[0])


# --------------------------------------------------------------------------------------------
# Jump trajectories: one ensemble from the mixture of |0> and |2>; every trajectory is saved, so
# the two initial states can be told apart and checked separately.


@pytest.fixture(scope="module")
def ensemble():
    model = cqjax.JumpOscillator(levels=LEVELS)  # m = B = omega = c = 1, tau = 0.5
    rho = sum(w * np.outer(np.eye(LEVELS)[k], np.eye(LEVELS)[k]) for k, w in WEIGHTS.items())
    init = cqjax.InitialState(z_mean=jnp.zeros(2), rho=jnp.asarray(rho, jnp.complex128))
    res = cqjax.run_ensemble(
        model,
        init,
        t1=T1,
        dt=DT,
        n_saves=N_SAVES,
        trajectories=TRAJECTORIES,
        observables=("p", "n"),
        precision="float64",
        n_samples=TRAJECTORIES,
        seed=5,
    )
    assert res.info["unravelling"] == "jump" and res.samples_z.shape == (TRAJECTORIES, N_SAVES + 1, 2)
    pop0 = np.abs(res.samples_psi[:, 0]) ** 2  # (n, levels) at t = 0
    start = np.argmax(pop0, axis=1)
    assert np.all(np.abs(pop0.max(axis=1) - 1) < 1e-12) and set(start.tolist()) <= set(WEIGHTS), (
        "each trajectory starts in |0> or |2> (a pure-state run samples an eigenvector of rho)"
    )
    return res, start


def _truncation_bias(what, ts):
    """|truncated - untruncated| for the mixture and per initial state (what: 'n' or 'p')."""
    idx = {"n": 0, "p": 2}[what]
    per = {k: np.abs(_walk(k, ts)[what] - _exact(k, ts)[idx]) for k in WEIGHTS}
    return sum(WEIGHTS[k] * per[k] for k in WEIGHTS), per


@pytest.mark.slow
def test_mean_momentum_and_heating(ensemble):
    res, _ = ensemble
    t = res.t
    nbar0 = sum(k * w for k, w in WEIGHTS.items())  # the exact results are linear in n0
    en, _, ep = _exact(nbar0, t)
    bias_p, _ = _truncation_bias("p", t)
    bias_n, _ = _truncation_bias("n", t)
    assert 5 * res.sem["p"][-1] + bias_p[-1] + DT < 0.1 and 5 * res.sem["n"][-1] + bias_n[-1] + DT < 0.2
    # the biases grow with t: their values at t = 0.5 bound them at every saved time
    assert_close(res.mean["p"], ep, res.sem["p"], bias=bias_p.max() + DT, what="E p(t)")
    assert_close(res.mean["n"], en, res.sem["n"], bias=bias_n.max() + DT, what="E n(t) = n0 + c t / tau")


@pytest.mark.slow
@pytest.mark.parametrize("n0", sorted(WEIGHTS))
def test_each_initial_state(ensemble, n0):
    res, start = ensemble
    mine = start == n0
    p = res.samples_z[mine, -1, 1]
    n = (np.abs(res.samples_psi[mine, -1]) ** 2) @ np.arange(LEVELS)
    en, _, ep = _exact(n0, T1)
    _, bias_p = _truncation_bias("p", [T1])
    _, bias_n = _truncation_bias("n", [T1])
    sp, sn = p.std() / math.sqrt(p.size), n.std() / math.sqrt(n.size)
    assert 5 * sp + bias_p[n0][0] + DT < 0.12
    assert_close(p.mean(), ep, sp, bias=bias_p[n0][0] + DT, what=f"E p(0.5) from |{n0}>")
    assert_close(n.mean(), en, sn, bias=bias_n[n0][0] + DT, what=f"E n(0.5) from |{n0}>")


@pytest.mark.slow
def test_p_changes_only_by_whole_kicks_and_states_stay_fock(ensemble):
    """{p, h^00} = 0, so p_t - p_0 = -kick x (number of jumps) exactly, every jump changes n by
    one: N >= |n_t - n0| with the same parity; the number of jumps never decreases."""
    res, start = ensemble
    counts = -res.samples_z[:, :, 1] / KICK  # p0 = 0
    np.testing.assert_array_equal(counts, np.rint(counts))
    counts = np.rint(counts).astype(int)
    assert np.all(np.diff(counts, axis=1) >= 0)
    pops = np.abs(res.samples_psi) ** 2
    assert np.all(np.abs(pops.max(axis=-1) - 1) < 1e-9), "a Fock state stays a Fock state"
    level = np.argmax(pops, axis=-1)
    moved = np.abs(level - start[:, None])
    assert np.all(counts >= moved) and np.all((counts - moved) % 2 == 0)
    assert np.any(counts[:, -1] > moved[:, -1])  # up-and-down walks occur


@pytest.mark.slow
@pytest.mark.parametrize("n0", sorted(WEIGHTS))
def test_final_populations(ensemble, n0):
    """The walk's law at t = 0.5: the Born-rule choice between a and a^dag at every jump."""
    res, start = ensemble
    mine = start == n0
    level = np.argmax(np.abs(res.samples_psi[mine, -1]) ** 2, axis=-1)
    freq = np.bincount(level, minlength=LEVELS) / mine.sum()
    exact = _walk(n0, [T1])["P"][0]
    if n0 == 0:  # thermal with mean c t / tau = 1, up to the truncation (P(top reached) = 7e-4)
        thermal = 0.5 ** (np.arange(LEVELS) + 1.0)
        np.testing.assert_allclose(exact[:-2], thermal[:-2], atol=1e-3)
    se = np.sqrt(exact * (1 - exact) / mine.sum())
    assert_close(freq, exact, se, bias=DT / 2, what=f"P(n, 0.5) from |{n0}>")


# --------------------------------------------------------------------------------------------
# The master equation. The p-marginal does not depend on m (nothing but the drift dq = p/m does,
# and the coupling's q-dependence only enters the unitary part, which commutes with n), so the
# particle is made infinitely heavy: q stays at 0 and the grid is one cell in q, the p-axis a
# line of cells spaced by the kick.


@pytest.mark.parametrize("n0", sorted(WEIGHTS))
def test_master_equation_gives_the_mean_momentum(n0):
    model = cqjax.JumpOscillator(m=math.inf, levels=LEVELS)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=_fock(n0))
    # cells: one along the conserved q (else the automatic grid's pilot run spans 64 cells of q);
    # the p spacing is then fitted to the kick, so every jump lands on a cell
    res = cqjax.solve_master(model, init, t1=T1, n_saves=N_SAVES, cells=(1, 32), dt=1e-3, observables=("p", "n"))
    assert res.grid.cells[0] == 1 and res.completely_positive
    assert float(np.max(np.abs(res.trace + res.lost - 1))) < 1e-10 and float(res.lost[-1]) < 1e-8
    walk = _walk(n0, res.t)
    en, _, ep = _exact(n0, res.t)
    # the lattice against the truncated walk solved exactly: within its own error estimate
    assert_close(res.mean["p"], walk["p"], res.err["p"], k=1.0, bias=1e-10, what="master E p vs truncated walk")
    assert_close(res.mean["n"], walk["n"], res.err["n"], k=1.0, bias=1e-10, what="master E n vs truncated walk")
    # and against the closed form: plus the truncation bias (a stated 2e-4 / 7e-3 at t = 0.5)
    trunc = float(np.max(np.abs(walk["p"] - ep)))
    assert trunc < (3e-4 if n0 == 0 else 8e-3)
    assert_close(res.mean["p"], ep, res.err["p"], k=1.0, bias=trunc + 1e-10, what="master E p(t)")
    assert float(res.err["p"][-1]) < 0.01
