"""Cheaper noise for ensemble statistics: ``run.noise`` (gaussian | three-point | rademacher) and
``run.prng`` (threefry | rbg).

Seed 000: I. Layton, "Fixing semi-classical physics from first principles: how to derive effective
classical-quantum dynamics from open quantum theory".

- The increments have the moments they promise: mean 0 and variance 1 for all; E xi^3 = 0,
  E xi^4 = 3 and E xi^5 = 0 for three-point; the values +-1 for rademacher; no correlation
  between the increments packed into one random word.
- With each noise (and the rbg keys) the healed Diosi moments and the seed-000 mixed-state
  moments agree with the exact values (cqjax.analysis.exact; seed 000's closed form as in
  test_mixed_state.py) within 5 SE + the Kraus step's weak O(dt) bias, stated as in
  test_diosi_physics.py and test_mixed_state.py: the step is weak order 1 with any increments
  of mean 0, variance 1 and third moment 0, so its bias is of the same order for all three.
- Config and CLI: bad names are refused with a one-line error; the choice is recorded.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, config_dict, qubit, toml_text

import cqjax
from cqjax.analysis import diosi_coherence, diosi_p_moments
from cqjax.cli import main
from cqjax.dynamics._noise import NOISES, PRNGS, increments, prng_impl

N_DRAW = 1 << 20


def _sample(noise, prng, shape=(N_DRAW // 64, 64)):
    """N_DRAW increments as the runner draws them: one key per trajectory, vmapped, 64 steps each."""
    keys = jax.random.split(jax.random.key(11, impl=prng_impl(prng)), shape[0])
    draw = jax.jit(jax.vmap(lambda k: increments(k, shape[1:], jnp.float64, noise)))
    return np.asarray(draw(keys))


@pytest.mark.parametrize("prng", PRNGS)
@pytest.mark.parametrize("noise", NOISES)
def test_increments_have_the_normal_moments_they_promise(noise, prng):
    xi = _sample(noise, prng)
    n = xi.size
    assert xi.shape == (N_DRAW // 64, 64) and xi.dtype == np.float64

    def moment(k, exact, bias=0.0):
        v = xi**k
        assert_close(v.mean(), exact, v.std() / np.sqrt(n) + 1e-15, bias, what=f"{noise}/{prng} E xi^{k}")

    moment(1, 0.0)
    moment(2, 1.0)
    moment(3, 0.0)
    if noise != "rademacher":  # three-point: 16-bit probabilities, E xi^4 = 3 (1 - 3e-5)
        moment(4, 3.0, bias=1e-4)
        moment(5, 0.0)
    # increments sharing a random word (2 per word for three-point, 32 for rademacher) are independent
    for lag in (1, 2, 16, 31, 32):
        prod = xi[:, :-lag] * xi[:, lag:]
        assert_close(prod.mean(), 0.0, prod.std() / np.sqrt(prod.size), what=f"{noise} lag-{lag} correlation")
    if noise == "rademacher":
        np.testing.assert_array_equal(np.abs(xi), 1.0)
    if noise == "three-point":
        a = np.abs(xi).max()
        assert set(np.unique(xi)) == {-a, 0.0, a} and a == pytest.approx(np.sqrt(3), rel=2e-5)
        zero = (xi == 0).mean()
        assert_close(zero, 2 / 3, np.sqrt(2 / 9 / n), 1e-4, what="P(xi = 0)")


def test_unknown_names_are_refused_and_the_jump_unravelling_keeps_gaussian_noise():
    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5))
    kw = dict(t1=0.02, dt=0.01, n_saves=1, trajectories=4, observables=("p",))
    with pytest.raises(
        ValueError,
        match=r"^noise: must be one of \['gaussian', 'three-point', 'rademacher'\], "
        r"got 'uniform'$",
    ):
        cqjax.run_ensemble(model, init, noise="uniform", **kw)
    with pytest.raises(ValueError, match=r"^prng: must be one of \['threefry', 'rbg'\], got 'philox'$"):
        cqjax.run_ensemble(model, init, prng="philox", **kw)
    # the jump step draws its classical Wiener increments itself, from its per-step key (refused
    # when the kernel is traced, before any step: JAX appends a traceback note, the message is one line)
    jumpy = cqjax.JumpQubit(m=1.0, B=1.0, omega=1.0, tau=0.1)
    with pytest.raises(ValueError, match=r"^noise: the jump unravelling .* use 'gaussian', got 'rademacher'\n"):
        cqjax.run_ensemble(jumpy, init, noise="rademacher", **kw)


def test_simulate_reproduces_trajectory_i_of_a_run_with_the_same_noise():
    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    psi0 = qubit(0.7, 0.3)
    run = cqjax.run_ensemble(
        model,
        cqjax.InitialState(z_mean=jnp.zeros(2), psi=psi0),
        t1=0.2,
        dt=0.01,
        n_saves=4,
        trajectories=8,
        seed=3,
        observables=("p",),
        precision="float64",
        noise="rademacher",
        n_samples=3,
    )
    assert run.info["noise"] == "rademacher" and run.info["prng"] == "threefry"
    key = cqjax.trajectory_key(jax.random.key(3), 2)
    one = lambda noise: cqjax.simulate(
        model,
        jnp.zeros(2),
        psi0,
        key,
        t1=0.2,
        dt=0.01,
        n_saves=4,
        unravelling=cqjax.Healed(),
        solver=cqjax.Kraus(),
        noise=noise,
    )
    sol = one("rademacher")
    np.testing.assert_allclose(np.asarray(sol.z), run.samples_z[2], atol=1e-12)
    np.testing.assert_allclose(np.asarray(sol.psi), run.samples_psi[2], atol=1e-12)
    assert np.abs(np.asarray(one("gaussian").z) - run.samples_z[2]).max() > 1e-3  # the noise is not ignored


# Gaussian threefry increments are the default of test_diosi_physics.py and test_mixed_state.py.
CASES = [
    ("three-point", "rbg"),
    ("rademacher", "threefry"),
    pytest.param("three-point", "threefry", marks=pytest.mark.slow),
    pytest.param("gaussian", "rbg", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("noise, prng", CASES)
def test_healed_diosi_moments_with_cheap_noise(noise, prng):
    """test_diosi_physics.py's healed E<sz>, E p, Var p, E<sx>, E<sy> with its stated biases: the
    Kraus step's weak bias in E<sz>, (lam/sigma)^2 T dt, carried into E p (2 lam T times it) and
    Var p (4 lam^2 T^2 times it); 20 dt for the coherences."""
    lam, sigma, m, phi, t1, dt = 1.0, 1.0, 1.0, 2.0, 0.5, 1e-3
    z0, psi0, sz0 = np.array([0.2, 1.0]), qubit(0.7, 0.5), 0.4
    model = cqjax.Diosi(m=m, lam=lam, phi=phi, sigma=sigma)
    r = cqjax.run_ensemble(
        model,
        cqjax.InitialState(z_mean=jnp.asarray(z0), psi=psi0),
        t1=t1,
        dt=dt,
        n_saves=5,
        trajectories=20_000,
        seed=4,
        precision="float64",
        observables=("p", "p*p", "sz", "sx", "sy"),
        noise=noise,
        prng=prng,
    )
    assert (r.info["noise"], r.info["prng"]) == (noise, prng)
    t, what = r.t, f"{noise}/{prng}"
    bias_sz = (lam / sigma) ** 2 * t1 * dt
    assert_close(r.mean["sz"], sz0, r.sem["sz"] + 1e-12, bias_sz, what=f"{what} E<sz>")
    mean_p, var_p = diosi_p_moments(t, z0[1], 0.0, sz0, lam, sigma)
    assert_close(r.mean["p"], mean_p, r.sem["p"] + 1e-12, 2 * lam * t1 * bias_sz, what=f"{what} E p")
    var_est = r.mean["p*p"] - r.mean["p"] ** 2
    assert_close(
        var_est,
        var_p,
        r.sem["p*p"] + 2 * np.abs(r.mean["p"]) * r.sem["p"] + 1e-12,
        4 * lam**2 * t1**2 * bias_sz,
        what=f"{what} Var p",
    )
    c = diosi_coherence(t, psi0, z0, lam, sigma, m, phi)
    assert_close(r.mean["sx"], 2 * c.real, r.sem["sx"] + 1e-12, 20 * dt, what=f"{what} E<sx>")
    assert_close(r.mean["sy"], -2 * c.imag, r.sem["sy"] + 1e-12, 20 * dt, what=f"{what} E<sy>")


@pytest.mark.parametrize("noise, prng", CASES)
def test_seed000_mixed_state_moments_with_cheap_noise(noise, prng):
    """test_mixed_state.py's seed 000 above saturation (mixed states) against its exact solution;
    bias 2e-3: the Kraus/Cayley discretisation at dt = 0.01, O(dt)."""
    lam, gc, gq, q0 = -1.0, 0.5, 0.3, 0.5
    plus = jnp.array([1.0, 1.0], jnp.complex128) / np.sqrt(2)
    r = cqjax.run_ensemble(
        cqjax.Seed000(lam=lam, gamma_c=gc, gamma_q=gq),
        cqjax.InitialState(z_mean=jnp.array([q0, 0.0]), psi=plus),
        t1=1.0,
        dt=1e-2,
        n_saves=4,
        trajectories=20_000,
        seed=0,
        precision="float64",
        observables=("sx", "sy", "p*sz", "p*p"),
        noise=noise,
        prng=prng,
    )
    assert r.info["state"] == "mixed"
    t = r.t
    coh = np.exp(-2j * lam * q0 * t - 4 * gq * t)
    exact = {"sx": coh.real, "sy": -coh.imag, "p*sz": -lam * t, "p*p": 2 * gc * t + lam**2 * t**2}
    for name, value in exact.items():
        assert_close(r.mean[name], value, r.sem[name], bias=2e-3, what=f"{noise}/{prng} {name}")


# ------------------------------------------------------------------------------------------
# Config and CLI.


@pytest.mark.parametrize("key, value", [("noise", "normal"), ("prng", "philox"), ("noise", 1)])
def test_config_refuses_unknown_noise_and_prng_in_one_line(key, value):
    raw = config_dict(run={key: value})
    with pytest.raises(cqjax.ConfigError) as info:
        cqjax.parse_config(raw)
    message = str(info.value)
    assert message.startswith(f"run.{key}:") and "\n" not in message, message


def test_config_defaults_and_choices_reach_the_runner():
    cfg = cqjax.parse_config(config_dict())
    assert (cfg.noise, cfg.prng) == ("gaussian", "threefry")
    assert cfg.resolved["run"]["noise"] == "gaussian" and cfg.resolved["run"]["prng"] == "threefry"
    cfg = cqjax.parse_config(config_dict(run={"noise": "rademacher", "prng": "rbg"}))
    assert cfg.run_kwargs()["noise"] == "rademacher" and cfg.run_kwargs()["prng"] == "rbg"


def test_cli_run_records_the_noise_and_prng(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        toml_text(
            config_dict(
                run={"noise": "three-point", "trajectories": 200}, histogram=None, observables={"names": ["p", "sz"]}
            )
        )
    )
    out = tmp_path / "r.npz"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress", "--set", "run.prng=rbg"]) == 0, (
        capsys.readouterr().err
    )
    with np.load(out, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["noise"] == "three-point" and meta["prng"] == "rbg"
    assert meta["config"]["run"]["noise"] == "three-point" and meta["config"]["run"]["prng"] == "rbg"
    assert main(["run", str(cfg), "--out", str(tmp_path / "bad.npz"), "--no-progress", "--set", "run.noise=gauss"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cqjax: error: run.noise:") and len(err.splitlines()) == 1, err
