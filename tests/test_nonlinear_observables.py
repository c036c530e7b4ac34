"""Statistics that are not linear in rho: per-trajectory products of expectations (``<sz>^2``).

The collapse law E[<sz>_t^2] of the healed Diosi model (seed 004 eq. C.8; I. Layton, J. Oppenheim
and Z. Weller-Davies, "A healthier semi-classical dynamics") from ``run_ensemble`` against the
quadrature ``cqjax.analysis.diosi_mean_sz_squared``; the parser keeps ``<sz>^2`` apart from the
linear ``sz*sz``-type products; the master equation and ``compare`` skip these names, saying so.
"""

from __future__ import annotations

import contextlib
import io

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, config_dict, qubit, toml_text

import cqjax
from cqjax import compare_results, parse_observable
from cqjax.analysis import diosi_mean_sz_squared
from cqjax.cli import main


def test_collapse_law_e_sz_squared_against_exact():
    """E<sz>_t^2 from the streamed statistics; bias: twice the Kraus step's weak bias in E<sz>
    ((lam/sigma)^2 T dt, measured in tests/test_integrators.py) as in tests/test_diosi_physics.py."""
    lam, sigma, t1, dt, sz0 = 1.0, 1.0, 0.5, 2e-3, 0.6
    model = cqjax.Diosi(m=1.0, lam=lam, phi=0.0, sigma=sigma)
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.8))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=t1,
        dt=dt,
        n_saves=5,
        trajectories=4_000,
        seed=5,
        observables=("sz", "<sz>^2", "<sz>^4", "<sz>*<sx>"),
        precision="float64",
    )
    exact = [diosi_mean_sz_squared(t, sz0, lam, sigma) for t in r.t]
    bias = 2 * (lam / sigma) ** 2 * t1 * dt
    assert_close(r.mean["<sz>^2"], exact, r.sem["<sz>^2"] + 1e-12, bias, what="E<sz>_t^2")
    assert r.mean["<sz>^2"][0] == pytest.approx(sz0**2) and r.mean["<sz>^2"][-1] > sz0**2 + 10 * r.sem["<sz>^2"][-1]
    # Jensen: E<sz>^4 >= (E<sz>^2)^2, strictly once the trajectories spread.
    assert np.all(r.mean["<sz>^4"][1:] > r.mean["<sz>^2"][1:] ** 2)


def test_values_on_a_state_and_the_names_kept_apart():
    model = cqjax.Diosi()
    psi = qubit(0.8, 0.3)
    sz, sx = 0.6, 2 * np.sqrt(0.8 * 0.2) * np.cos(0.3)
    z = jnp.array([0.5, 2.0])
    rho = jnp.outer(psi, jnp.conj(psi)) * 3.0  # a density matrix of trace 3: normalised by the observable
    for name, want in (("<sz>^2", sz**2), ("<sz>*<sx>", sz * sx), ("p*<sz>^3", 2.0 * sz**3), ("<sx>^2*q", 0.5 * sx**2)):
        obs = parse_observable(name, model)
        assert not obs.linear
        assert float(obs(z, psi * 2.0)) == pytest.approx(want, rel=1e-12)
        assert float(obs(z, rho)) == pytest.approx(want, rel=1e-12)
    assert parse_observable("p*sz", model).linear and not parse_observable("purity", model).linear
    with pytest.raises(ValueError, match="two operators"):
        parse_observable("sz*sz", model)  # the linear product of operators is a different thing
    with pytest.raises(ValueError, match="linear in rho, write 'p\\*sz'"):
        parse_observable("p*<sz>", model)
    with pytest.raises(ValueError, match="mixes an operator"):
        parse_observable("sx*<sz>^2", model)
    with pytest.raises(ValueError, match="unbalanced"):
        parse_observable("<sz^2", model)
    with pytest.raises(ValueError, match="unknown operator 'p'"):
        parse_observable("<p>^2", model)


def test_pauli_strings_inside_brackets():
    model = cqjax.GHZLattice(n=3)
    obs = parse_observable("<sz_1*sz_2>^2", model)
    psi = jnp.zeros(8, complex).at[0].set(0.6).at[3].set(0.8)  # 0.6|000> + 0.8|011>: <sz_1 sz_2> = 0.36 - 0.64
    assert float(obs(jnp.zeros(6), psi)) == pytest.approx((0.36 - 0.64) ** 2)
    with pytest.raises(ValueError, match="anticommute"):
        parse_observable("<sz_1*sx_1>^2", model)


def _files(names: dict[str, float]) -> tuple[dict, dict]:
    """A synthetic ensemble file and master file (as ``load_results`` returns them) that agree exactly."""
    t = np.array([0.0, 1.0])
    run = {"t": t, "nonfinite": np.zeros(2), "coords": np.array(["q", "p"])}
    run["meta"] = {"trajectories": 10_000, "config": {"run": {"precision": "float64"}}}
    master = {"t": t, "coords": np.array(["q", "p"]), "grid.coords": np.array(["q", "p"]), "min_eig": np.zeros(2)}
    master.update(trace=np.ones(2), lost=np.zeros(2), meta={"completely_positive": True})
    master["lost.sides"] = np.zeros((2, 2, 2))
    for name, value in names.items():
        run[f"{name}.mean"], run[f"{name}.sem"] = np.full(2, value), np.full(2, 0.01)
        master[f"{name}.mean"], master[f"{name}.err"] = np.full(2, value), np.zeros(2)  # even if a file claims it
    return run, master


def test_compare_never_agrees_about_a_product_of_expectations():
    cmp = compare_results(*_files({"<sz>^2": 0.5}))
    assert not cmp.agree and "<sz>^2" not in cmp.z
    assert "not linear in the CQ state" in cmp.report() and any("nothing was compared" in p for p in cmp.problems)
    cmp = compare_results(*_files({"<sz>^2": 0.5, "sz": 0.6}))
    assert cmp.agree and list(cmp.z) == ["sz"] and any("<sz>^2 (not linear" in s for s in cmp.skipped)


def test_master_skips_them_and_says_so(tmp_path):
    raw = config_dict(
        run={"t1": 0.1, "dt": 0.01, "n_saves": 2},
        observables={"names": ["sz", "<sz>^2"]},
        histogram=None,
        master={"cells": [8, 16], "error_estimate": False},
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml_text(raw))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["master", str(cfg), "--out", str(tmp_path / "m.npz"), "--no-progress"])
    assert code == 0
    assert "not computed (trajectory statistics, not linear in varrho): <sz>^2" in out.getvalue()
    data = np.load(tmp_path / "m.npz")
    assert "sz.mean" in data.files and "<sz>^2.mean" not in data.files
