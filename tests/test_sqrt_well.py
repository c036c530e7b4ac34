"""The sqrt(q) well / barrier (seed 004 C.3, Fig. 6) and its absorbing rule at q <= 0.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".

- Mean field from |+>: <sz> = 0 stays (the populations only rotate), so there is no force,
  p = -1 and q = 1 - t: every trajectory is stopped at the first step past t = 1.
- Healed: E[<sz>] is a martingale (stopping keeps it one), so E<sz>(t) = 0 within 5 SE; the
  trajectories that reach q = 0 are those collapsed onto |0>, the branch whose potential
  +lam sqrt(q) is a well at q = 0 (energy 1.5 from (1, -1)); the |1> branch (-lam sqrt q) turns
  back at q = 0.25 without noise. The collapse rate lam^2 / (8 gamma^2) = 0.5 is slow, so they
  arrive part-collapsed: E[<sz> | stopped] > 0 > E[<sz> | not stopped]. A stopped trajectory
  is frozen where it stopped.
"""

import jax.numpy as jnp
import numpy as np
from helpers import assert_close, batch, sz_of

import cqjax
from cqjax import InitialState

PLUS = jnp.array([1.0, 1.0], jnp.complex128) / np.sqrt(2)


def test_mean_field_moves_freely_and_is_stopped_at_t_equal_one():
    model = cqjax.SqrtWell(m=1.0, lam=1.0, gamma=0.5)
    res = cqjax.run_ensemble(
        model,
        InitialState(z_mean=jnp.array([1.0, -1.0]), psi=PLUS),
        t1=2.0,
        dt=1e-3,
        n_saves=20,
        trajectories=2,
        precision="float64",
        unravelling=cqjax.MeanField(),
        observables=("q", "p", "sz", "stopped"),
    )
    before = res.t < 1.0 - 1e-9
    np.testing.assert_allclose(res.mean["q"][before], 1.0 - res.t[before], atol=1e-9)
    np.testing.assert_allclose(res.mean["p"], -1.0, atol=1e-12)
    assert np.all(res.stopped[before] == 0) and np.all(res.stopped[~before][1:] == 1)
    np.testing.assert_allclose(res.mean["stopped"], res.stopped)
    assert res.mean["q"][-1] <= 0 and res.mean["q"][-1] > -2e-3  # frozen one step past q = 0


def test_healed_stopping_born_rule_and_frozen_states():
    model = cqjax.SqrtWell(m=1.0, lam=1.0, gamma=0.5)
    n = 2000
    sol = batch(model, jnp.array([1.0, -1.0]), PLUS, n, t1=2.0, dt=1e-3, n_saves=20, seed=3)
    z, psi = np.asarray(sol.z), np.asarray(sol.psi)
    sz = sz_of(psi)
    stopped = z[:, :, 0] <= 0
    # once stopped, always stopped and frozen
    assert np.all(stopped[:, 1:] >= stopped[:, :-1])
    first = np.argmax(stopped, axis=1)
    for i in np.flatnonzero(stopped[:, -1])[:50]:
        np.testing.assert_array_equal(z[i, first[i] :], np.broadcast_to(z[i, first[i]], z[i, first[i] :].shape))
    # E<sz> is a martingale
    assert_close(sz.mean(0)[1:], 0.0, sz.std(0)[1:] / np.sqrt(n), what="E<sz>")
    # the stopped trajectories fell into the well of |0>
    end = stopped[:, -1]
    assert 0.2 < end.mean() < 0.8
    # the collapse rate Gamma = lam^2 / (8 gamma^2) = 0.5 is slow, so they are stopped part-collapsed
    se = sz[:, -1].std() / np.sqrt(end.sum())
    assert sz[end, -1].mean() > 0.3 and sz[end, -1].mean() > 10 * se, sz[end, -1].mean()
    assert sz[~end, -1].mean() < -0.3, sz[~end, -1].mean()


def test_cli_reports_the_fraction_stopped(tmp_path):
    import contextlib
    import io

    from cqjax.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(
            [
                "run",
                "configs/sqrt_well_fig6.toml",
                "--set",
                "run.trajectories=200",
                "--set",
                "run.dt=1e-3",
                "--out",
                str(tmp_path / "r.npz"),
                "--no-progress",
            ]
        )
    assert code == 0
    assert "were stopped by the model's absorbing rule" in err.getvalue()
    data = np.load(tmp_path / "r.npz")
    assert data["stopped"][-1] > 0 and np.allclose(data["stopped"], data["stopped.mean"])
