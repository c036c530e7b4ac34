"""Finite classical state spaces (seed 003 eqs. 6, 14-15, J. Oppenheim, "A postquantum theory of
classical gravity?"): the positivity conditions, the exact block ODE against closed forms, and
the jump unravelling against the block ODE (``compare``), on the three-state pointer reading a qubit."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax.analysis.finite import compare_finite
from cqjax.cli import main
from cqjax.ensemble.finite import run_finite
from cqjax.master.finite import finite_generator, solve_finite
from cqjax.models.finite import check_finite_positivity

PSI = np.array([np.sqrt(0.7), np.sqrt(0.3)])
OBS = ("P0", "P1", "P2", "z", "sz", "sx", "z*sz", "P1*sx")
READY = 1


def test_block_ode_closed_form_without_rabi():
    """omega = 0: |<0|psi>|^2 = 0.7 is conserved, so from ready P(z = +1) = 0.7 g/(g + r)
    (1 - e^{-(g + r) t}) (a two-state chain per branch), and the coherence lives only at ready
    and decays at g: E<sx> = 2 Re rho_01(0) e^{-g t}."""
    g, r = 2.0, 1.0
    res = solve_finite(cqjax.PointerQubit(g=g, r=r, omega=0.0), READY, PSI, t1=1.2, n_saves=6, observables=OBS)
    t = res.t
    branch = g / (g + r) * (1 - np.exp(-(g + r) * t))
    np.testing.assert_allclose(res.mean["P2"], 0.7 * branch, atol=1e-12)
    np.testing.assert_allclose(res.mean["P0"], 0.3 * branch, atol=1e-12)
    np.testing.assert_allclose(res.mean["sx"], 2 * PSI[0] * PSI[1] * np.exp(-g * t), atol=1e-12)
    np.testing.assert_allclose(res.mean["P1*sx"], res.mean["sx"], atol=1e-12)
    np.testing.assert_allclose(res.mean["sz"], 0.4, atol=1e-12)
    np.testing.assert_allclose(np.einsum("tzii->t", res.rho).real, 1.0, atol=1e-12)


def test_generator_preserves_trace():
    """sum_z Tr G(x)(z) = 0 for every x (seed 003 eq. 15)."""
    G = finite_generator(cqjax.PointerQubit(g=1.3, r=0.4, omega=0.9))
    trace_row = np.einsum("zij->zij", np.broadcast_to(np.eye(2), (3, 2, 2))).reshape(-1)
    np.testing.assert_allclose(trace_row @ G, 0.0, atol=1e-12)


class _Deficit(cqjax.PointerQubit):
    """lam^ab(ready) with a negative entry on the identity channel: lam + W(z|z) is not PSD."""

    def decoherence(self):
        lam = jnp.zeros((3, 3, 3), complex)
        return lam.at[1, 2, 2].set(-0.5)


@pytest.mark.parametrize(
    "model, message",
    [
        (cqjax.PointerQubit(g=-1.0), r"W\^ab\(z\|z'\) is not positive semi-definite for z = 0, z' = 1"),
        (_Deficit(), r"lam\^ab\(z\) \+ W\^ab\(z\|z\) is not positive semi-definite for z = 1, z' = 1"),
    ],
)
def test_positivity_conditions_refused(model, message):
    with pytest.raises(ValueError, match=message):
        check_finite_positivity(model)
    with pytest.raises(ValueError, match=message):
        solve_finite(model, READY, PSI, t1=1.0, n_saves=1)


@pytest.fixture(scope="module")
def model():
    return cqjax.PointerQubit(g=2.0, r=1.0, omega=1.5)


@pytest.fixture(scope="module")
def ensemble(model):
    return run_finite(model, READY, PSI, t1=1.0, dt=0.025, n_saves=4, trajectories=16384, observables=OBS, seed=1)


def test_jump_unravelling_matches_block_ode(model, ensemble):
    """The waiting-time jump unravelling (jumps at the step's midpoint: weak error O(dt^2), about
    0.006 here against standard errors of 0.004) against the exact block ODE: ``compare_finite``
    agrees (Bonferroni at alpha = 0.01) and every |z| < 5."""
    exact = solve_finite(model, READY, PSI, t1=1.0, n_saves=4, observables=OBS)
    comparison = compare_finite(ensemble, exact)
    assert comparison.agree, comparison.report()
    assert comparison.n_comparisons == len(OBS) * 5 and comparison.worst < 5
    assert ensemble.mean["P2"][-1] > 0.3 and abs(ensemble.mean["sx"][-1]) < 0.2  # something happened


def test_compare_finite_sees_a_wrong_model(model, ensemble):
    """The same ensemble against the block ODE of a pointer that clicks 20% faster: disagree."""
    wrong = solve_finite(cqjax.PointerQubit(g=2.4, r=1.0, omega=1.5), READY, PSI, t1=1.0, n_saves=4, observables=OBS)
    assert not compare_finite(ensemble, wrong).agree


def test_finite_inputs_refused(model):
    with pytest.raises(ValueError, match="z0: a state index in 0..2"):
        solve_finite(model, 3, PSI, t1=1.0, n_saves=1)
    with pytest.raises(ValueError, match="z0: probabilities"):
        solve_finite(model, [0.5, 0.6, 0.0], PSI, t1=1.0, n_saves=1)
    with pytest.raises(ValueError, match="observables: 'q'"):
        solve_finite(model, READY, PSI, t1=1.0, n_saves=1, observables=("q",))
    with pytest.raises(ValueError, match="whole number of steps"):
        run_finite(model, READY, PSI, t1=1.0, dt=0.3, n_saves=1, trajectories=10, observables=("z",))


CONFIG = Path(__file__).resolve().parents[1] / "configs" / "pointer_qubit_compare.toml"


def test_cli_compare_on_the_config(ensemble, tmp_path):
    """``cqjax compare configs/pointer_qubit_compare.toml``: the jump unravelling and the block ODE
    through the results files, exit 0 and the same means as ``run_finite`` (same seed and shapes)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["compare", str(CONFIG), "--out", str(tmp_path), "--no-progress"])
    assert rc == 0, out.getvalue()
    assert "agree" in out.getvalue()
    run = cqjax.load_results(tmp_path / "run.npz")
    np.testing.assert_allclose(run["P2.mean"], ensemble.mean["P2"], rtol=0, atol=1e-12)
    master = cqjax.load_results(tmp_path / "master.npz")
    assert master["meta"]["kind"] == "master" and float(np.min(master["min_eig"])) > -1e-12


@pytest.mark.parametrize(
    "override, message",
    [
        ("initial.z0=3", "initial.z0: a state index in 0..2"),
        ("initial.z0=[0.5, 0.6, 0.0]", "initial.z0:"),
        ("params.g=-1.0", "W\\^ab"),
        ("run.n_saves=3", "run.n_saves: 3 does not divide"),
        ("observables.names=['q']", "observables: 'q'"),
        ("run.method='kraus'", "run.method: unknown key"),
    ],
)
def test_cli_config_refused(override, message, tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["master", str(CONFIG), "--set", override, "--out", str(tmp_path / "m.npz"), "--no-progress"])
    assert rc == 2 and re.search(message, err.getvalue()), err.getvalue()
