"""Ensemble of trajectories against the master equation with ``cqjax compare``: the Diosi model
(observables and all four matrix elements of a 2-D histogram) and the seed-000 model at
saturation agree; a master equation with a wrong parameter is caught (exit status 1)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cqjax._cli import main
from cqjax._compare import compare_results, threshold
from cqjax._results import load_results
from test_cli import _config, _toml


def _main(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _write(tmp_path, name, raw):
    path = tmp_path / name
    path.write_text(_toml(raw))
    return str(path)


DIOSI = dict(
    run={"t1": 1.0, "dt": 1e-3, "trajectories": 40_000, "n_saves": 20, "seed": 3, "precision": "float64"},
    initial={"z_mean": [0.0, 0.0], "psi": [[0.8, 0.0], [0.36, 0.48]]},
    observables={"names": ["q", "p", "p*p", "sz", "sx", "sy", "p*sz", "q*sx"]},
    # bin edges away from the initial point: a point on an edge is binned differently by the two
    histogram={"coords": ["q", "p"], "bins": [[-2.4, 2.4, 9], [-5.25, 5.25, 21]]},
    master={"cells": [72, 96]},
)


@pytest.fixture(scope="module")
def diosi_compare(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diosi")
    cfg = _write(tmp, "diosi.toml", _config(**DIOSI))
    code, out, err = _main(["compare", cfg, "--out", str(tmp / "cmp"), "--no-progress"])
    return tmp, cfg, code, out, err


def test_diosi_ensemble_agrees_with_master_on_observables_and_all_matrix_elements(diosi_compare):
    tmp, _, code, out, err = diosi_compare
    assert code == 0, out + err
    assert (tmp / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    last = out.strip().splitlines()[-1]
    assert last.startswith("worst z-score:") and last.endswith("agree")
    for label in ("Re rho_00 (hist)", "Re rho_11 (hist)", "Re rho_01 (hist)", "Im rho_01 (hist)", "q*sx"):
        assert label in out
    run, master = load_results(tmp / "cmp" / "run.npz"), load_results(tmp / "cmp" / "master.npz")
    cmp = compare_results(run, master)
    # every matrix element and saved time after t = 0 took part, on a 2-D histogram
    assert cmp.histogram_z.shape == (21, 9, 21, 2, 2, 2)
    assert cmp.n_comparisons == 8 * 21 + 20 * 9 * 21 * 4
    assert cmp.worst <= cmp.threshold
    # where the lattice is exact (p, sz, p*sz: its drift of p is exact) the ensemble's SE sets the
    # scale; for the coherences the master's first-order error (upwind transport of q) does
    for name in ("p", "sz", "p*sz"):
        assert np.max(master[f"{name}.err"]) < 0.01 * np.median(run[f"{name}.sem"][1:])
    assert np.max(master["sx.err"]) < 0.03


def test_a_wrong_master_equation_is_caught(diosi_compare):
    """phi = 2.1 instead of 2 changes only the phase of the coherence: populations agree, the
    coherences (sx, sy, rho_01) do not."""
    tmp, cfg, *_ = diosi_compare
    wrong = str(tmp / "wrong.npz")
    code, out, err = _main(["master", cfg, "--set", "params.phi=2.1", "--out", wrong, "--no-progress"])
    assert code == 0, err
    code, out, err = _main(["compare", str(tmp / "cmp" / "run.npz"), wrong, "--out", str(tmp / "cmp2")])
    assert code == 1, out
    last = out.strip().splitlines()[-1]
    assert "DISAGREE" in last
    assert any(k in last for k in ("sx", "sy", "rho_01", "q*sx")), last
    cmp = compare_results(load_results(tmp / "cmp" / "run.npz"), load_results(wrong))
    assert cmp.z["sz"].max() < cmp.threshold and cmp.z["p*sz"].max() < cmp.threshold


def test_seed000_at_saturation_agrees_with_its_master_equation(tmp_path):
    raw = _config(
        model="seed000",
        initial={"z_mean": [0.2, 0.0], "z_cov": [[0.25, 0.0], [0.0, 1.0]], "psi": "plus"},
        run={"t1": 1.0, "dt": 1e-3, "trajectories": 40_000, "n_saves": 10, "seed": 5, "precision": "float64"},
        observables={"names": ["p", "p*p", "sz", "sx", "sy", "p*sz", "q*sy"]},
        histogram={"coords": ["p"], "bins": [[-5.0, 5.0, 25]]},
        master={"cells": [48, 96]},
    )
    raw["params"] = {"lam": -1.0, "gamma_c": 0.5, "gamma_q": 0.125}  # replace Diosi's, not merge
    cfg = _write(tmp_path, "seed000.toml", raw)
    code, out, err = _main(["compare", cfg, "--out", str(tmp_path / "cmp"), "--no-progress"])
    assert code == 0, out + err
    master = load_results(tmp_path / "cmp" / "master.npz")
    assert master["min_eig"].min() > -1e-12
    np.testing.assert_allclose(master["trace"] + master["lost"], 1.0, atol=1e-12)


@pytest.mark.parametrize("gamma_q, state", [(0.3, "auto"), (0.125, "mixed")], ids=["above-saturation", "saturated-rho"])
def test_seed000_mixed_state_unravelling_agrees_with_its_master_equation(tmp_path, gamma_q, state):
    """Above saturation the mixed-state unravelling is chosen automatically; at saturation it is forced."""
    raw = _config(
        model="seed000",
        initial={"z_mean": [0.2, 0.0], "z_cov": [[0.25, 0.0], [0.0, 1.0]], "psi": "plus"},
        run={"t1": 1.0, "dt": 5e-3, "trajectories": 20_000, "n_saves": 5, "seed": 6, "precision": "float64",
             "state": state},
        observables={"names": ["p", "p*p", "sz", "sx", "sy", "p*sz", "q*sy", "purity"]},
        histogram={"coords": ["p"], "bins": [[-5.0, 5.0, 25]]},
        master={"cells": [32, 96]},
    )
    raw["params"] = {"lam": -1.0, "gamma_c": 0.5, "gamma_q": gamma_q}
    cfg = _write(tmp_path, "seed000.toml", raw)
    code, out, err = _main(["compare", cfg, "--out", str(tmp_path / "cmp"), "--no-progress"])
    assert code == 0, out + err
    assert "(mixed states)" in out
    run = load_results(tmp_path / "cmp" / "run.npz")
    purity = run["purity.mean"]
    assert (purity[-1] < 0.9) if gamma_q > 0.125 else (abs(purity - 1).max() < 1e-10)


def test_jump_unravelling_agrees_with_the_jump_qubit_master_equation(tmp_path):
    raw = _config(
        model="jump_qubit",
        initial={"z_mean": [0.0, 0.0], "z_cov": [[0.04, 0.0], [0.0, 0.04]], "psi": [[0.8, 0.0], [0.6, 0.0]]},
        run={"t1": 0.5, "dt": 1e-2, "trajectories": 20_000, "n_saves": 5, "seed": 8, "precision": "float64"},
        observables={"names": ["q", "p", "p*p", "sz", "sx", "sy", "p*sz"]},
        histogram={"coords": ["p"], "bins": [[-1.05, 1.05, 21]]},
        master={"cells": [64, 128]},
    )
    raw["params"] = {"m": 1.0, "B": 1.0, "omega": 1.0, "tau": 0.1}
    cfg = _write(tmp_path, "jump.toml", raw)
    code, out, err = _main(["compare", cfg, "--out", str(tmp_path / "cmp"), "--no-progress"])
    assert code == 0, out + err
    assert "jump (pure states)" in out


def test_compare_inputs_are_checked(tmp_path, diosi_compare):
    tmp, cfg, *_ = diosi_compare
    run, master = str(tmp / "cmp" / "run.npz"), str(tmp / "cmp" / "master.npz")
    code, _, err = _main(["compare", master, run, "--out", str(tmp_path / "x")])
    assert code == 2 and "ensemble results file" in err
    code, _, err = _main(["compare", run, str(tmp_path / "missing.npz")])
    assert code == 2 and "no such file" in err
    code, _, err = _main(["compare", run, master, "--set", "run.t1=2"])
    assert code == 2 and "--set" in err
    other = _write(tmp_path, "other.toml", _config(**{**DIOSI, "run": {**DIOSI["run"], "n_saves": 10, "trajectories": 100}}))
    code, _, err = _main(["master", other, "--out", str(tmp_path / "m10.npz"), "--no-progress"])
    assert code == 0, err
    code, _, err = _main(["compare", run, str(tmp_path / "m10.npz"), "--out", str(tmp_path / "y")])
    assert code == 2 and "different saved times" in err


def test_threshold_is_bonferroni():
    assert threshold(1, 0.01) == pytest.approx(2.5758, abs=1e-4)
    assert threshold(1000, 0.01) == pytest.approx(4.4172, abs=1e-3)  # Phi^-1(1 - 0.01 / 2000)
    assert threshold(10, 0.01) < threshold(100, 0.01) < threshold(100, 0.001)
