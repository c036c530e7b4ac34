"""Ensemble of trajectories against the master equation with ``cqjax compare``: the Diosi model
(observables and all four matrix elements of a 2-D histogram) and the seed-000 model at
saturation agree; a master equation with a wrong parameter is caught (exit status 1); and
what cannot be compared (NaN, nothing in common, mass lost off the master's grid, excluded
trajectories) never reads "agree"."""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pytest
from helpers import config_dict, optimised, toml_text

from cqjax import compare_results, load_results, plot_comparison
from cqjax.analysis.compare import threshold
from cqjax.cli import main


def _main(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _write(tmp_path, name, raw):
    path = tmp_path / name
    path.write_text(toml_text(raw))
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
    cfg = _write(tmp, "diosi.toml", config_dict(**DIOSI))
    with optimised():  # a long run: XLA's optimisations pay (tests/conftest.py)
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


def test_linear_unravelling_agrees_with_the_master_equation(diosi_compare):
    """The linear unravelling (seed 004 App. E: no back-reaction on the path, the state's trace as
    the path's weight) against the same master equation: its weighted means and histogram agree
    (z-scores with its own SE, wider than the healed run's: the effective sample size falls)."""
    tmp, cfg, *_ = diosi_compare
    linear = str(tmp / "linear.npz")
    sets = ["--set", "run.unravelling=linear", "--set", "run.trajectories=20000"]
    code, out, err = _main(["run", cfg, *sets, "--out", linear, "--no-progress"])
    assert code == 0, out + err
    code, out, err = _main(["compare", linear, str(tmp / "cmp" / "master.npz"), "--out", str(tmp / "cmp3")])
    assert code == 0 and out.strip().endswith("agree"), out + err
    cmp = compare_results(load_results(linear), load_results(tmp / "cmp" / "master.npz"))
    assert cmp.n_comparisons == 8 * 21 + 20 * 9 * 21 * 4 and cmp.worst <= cmp.threshold
    ess = load_results(linear)["ess"]
    assert ess[0] == pytest.approx(20000) and ess[-1] < 0.5 * 20000  # the weights did spread


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
def test_seed000_at_saturation_agrees_with_its_master_equation(tmp_path):
    raw = config_dict(
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
    raw = config_dict(
        model="seed000",
        initial={"z_mean": [0.2, 0.0], "z_cov": [[0.25, 0.0], [0.0, 1.0]], "psi": "plus"},
        run={
            "t1": 1.0,
            "dt": 5e-3,
            "trajectories": 20_000,
            "n_saves": 5,
            "seed": 6,
            "precision": "float64",
            "state": state,
        },
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
    raw = config_dict(
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
    run_section = {**DIOSI["run"], "n_saves": 10, "trajectories": 100}
    other = _write(tmp_path, "other.toml", config_dict(**{**DIOSI, "run": run_section}))
    code, _, err = _main(["master", other, "--out", str(tmp_path / "m10.npz"), "--no-progress"])
    assert code == 0, err
    code, _, err = _main(["compare", run, str(tmp_path / "m10.npz"), "--out", str(tmp_path / "y")])
    assert code == 2 and "different saved times" in err


def test_threshold_is_bonferroni():
    assert threshold(1, 0.01) == pytest.approx(2.5758, abs=1e-4)
    assert threshold(1000, 0.01) == pytest.approx(4.4172, abs=1e-3)  # Phi^-1(1 - 0.01 / 2000)
    assert threshold(10, 0.01) < threshold(100, 0.01) < threshold(100, 0.001)


def _pair(histogram: bool = True):
    """A synthetic ensemble and master file (as ``load_results`` returns them) that agree exactly:
    observable p on 5 saved times and a 4-bin histogram of a qubit."""
    t = np.linspace(0.0, 1.0, 5)
    run = {
        "t": t,
        "p.mean": np.sin(t),
        "p.sem": np.full(5, 0.01),
        "nonfinite": np.zeros(5),
        "coords": np.array(["q", "p"]),
        "meta": {"trajectories": 10_000, "config": {"run": {"precision": "float64"}}},
    }
    master = {
        "t": t,
        "p.mean": np.sin(t),
        "p.err": np.zeros(5),
        "coords": np.array(["q", "p"]),
        "grid.coords": np.array(["q", "p"]),
        "min_eig": np.zeros(5),
        "trace": np.ones(5),
        "lost": np.zeros(5),
        "lost.sides": np.zeros((5, 2, 2)),
        "meta": {"completely_positive": True},
    }
    if histogram:
        density = np.zeros((5, 4, 2, 2), complex)
        density[..., 0, 0], density[..., 1, 1] = 0.3, 0.2
        density[..., 0, 1], density[..., 1, 0] = 0.1 + 0.05j, 0.1 - 0.05j
        hist = {
            "histogram.coords": np.array(["p"]),
            "histogram.edges.p": np.linspace(-1.0, 1.0, 5),
            "histogram.density": density,
        }
        run.update(hist, **{"histogram.sem": np.full_like(density, 0.01 + 0.01j), "histogram.outside": np.zeros(5)})
        master.update(hist, **{"histogram.density": density.copy(), "histogram.err": np.zeros_like(density)})
    return run, master


def _save(path, results: dict) -> str:
    arrays = {k: v for k, v in results.items() if k != "meta"}
    np.savez(path, meta=np.array(json.dumps(results["meta"])), **arrays)
    return str(path)


def test_synthetic_pair_agrees():
    run, master = _pair()
    cmp = compare_results(run, master)
    assert cmp.agree and cmp.problems == [] and cmp.n_comparisons == 5 + 4 * 4 * 4  # 4 bins x 4 elements x 4 times
    assert cmp.report().splitlines()[-1].endswith(": agree")


def test_a_nan_ensemble_mean_is_a_problem_not_skipped():
    run, master = _pair()
    run["p.mean"][2] = np.nan  # z there is NaN, which nanargmax used to skip
    cmp = compare_results(run, master)
    assert not cmp.agree
    assert cmp.problems == ["p: not finite (ensemble mean, z-score), first at t = 0.5: cannot be compared"]
    assert np.isnan(cmp.worst) and cmp.worst_where == "p at t = 0.5, not finite"
    report = cmp.report()
    assert "problem: p: not finite" in report
    assert report.splitlines()[-1].endswith("cannot agree: 1 problem (see above)")
    # a NaN in a histogram entry after t = 0, and an infinite master error (its z would be 0)
    run, master = _pair()
    run["histogram.density"][3, 1, 0, 1] = complex(np.nan, np.nan)  # Re and Im
    master["p.err"][4] = np.inf
    cmp = compare_results(run, master)
    assert not cmp.agree and len(cmp.problems) == 2
    assert "p: not finite (master err), first at t = 1" in cmp.problems[0]
    assert cmp.problems[1].startswith(
        "histogram: 2 entries not finite (ensemble density, z-score), first Re rho_01, bin (1,) at t = 0.75"
    )
    assert ", not finite" in cmp.worst_where and "histogram" in cmp.worst_where


def test_nothing_compared_is_a_problem():
    run, master = _pair(histogram=False)
    run["q.mean"], run["q.sem"] = run.pop("p.mean"), run.pop("p.sem")  # no observable in common
    cmp = compare_results(run, master)
    assert cmp.n_comparisons == 0 and not cmp.agree
    assert cmp.skipped == ["q"] and len(cmp.problems) == 1 and "nothing was compared" in cmp.problems[0]
    assert "not compared: q" in cmp.report() and "cannot agree" in cmp.report()


def test_mass_lost_off_the_master_grid_is_a_problem_above_max_lost():
    run, master = _pair()
    master["lost"] = np.linspace(0.0, 0.44, 5)
    master["lost.sides"][-1, 1, 0] = 0.44  # through the low side of p
    cmp = compare_results(run, master)
    assert not cmp.agree and len(cmp.problems) == 1
    assert "0.44" in cmp.problems[0] and "low side of 'p'" in cmp.problems[0] and "widen the grid" in cmp.problems[0]
    assert compare_results(run, master, max_lost=0.5).agree
    master["lost"] = np.full(5, 1e-5)
    assert compare_results(run, master).agree


def test_excluded_trajectories_are_a_problem():
    run, master = _pair()
    run["meta"]["excluded_trajectories"] = 3
    cmp = compare_results(run, master)
    assert not cmp.agree
    assert cmp.problems == [
        "the ensemble excluded 3 non-finite trajectories: its statistics are conditioned on finiteness, not comparable"
    ]
    run["meta"]["excluded_trajectories"] = 0
    assert compare_results(run, master).agree
    # an older file without the meta key: its nonfinite counts
    del run["meta"]["excluded_trajectories"]
    run["nonfinite"][3:] = 2
    assert "excluded 2 non-finite" in compare_results(run, master).problems[0]


def test_a_master_that_is_not_completely_positive_is_noted_not_a_problem():
    run, master = _pair()
    master["meta"]["completely_positive"] = False
    cmp = compare_results(run, master)
    assert cmp.agree and "note: the master's generator is not completely positive" in cmp.report()


def test_the_figure_of_an_all_nan_comparison_has_no_warning_and_does_not_say_agree(tmp_path, monkeypatch):
    run, master = _pair()
    run["p.mean"][:] = np.nan
    cmp = compare_results(run, master)
    titles = []
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle", lambda self, text, **kw: titles.append(text))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        path = plot_comparison(run, master, cmp, tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert "cannot agree: 1 problem" in titles[0] and "(agree)" not in titles[0]


def test_cli_compare_exits_1_on_a_problem_and_checks_max_lost(tmp_path):
    run, master = _pair()
    run["p.mean"][2] = np.nan
    master["lost"] = np.full(5, 0.01)
    run_path, master_path = _save(tmp_path / "run.npz", run), _save(tmp_path / "master.npz", master)
    code, out, err = _main(["compare", run_path, master_path, "--out", str(tmp_path / "cmp")])
    assert code == 1, out + err
    assert "problem: p: not finite (ensemble mean, z-score), first at t = 0.5" in out
    assert "problem: the master lost up to 0.01 of its mass off the grid" in out
    assert out.strip().splitlines()[-1].endswith("cannot agree: 2 problems (see above)")
    assert (tmp_path / "cmp" / "compare.png").exists()  # written anyway, to look at
    code, out, err = _main(
        [
            "compare",
            _save(tmp_path / "ok.npz", _pair()[0]),
            master_path,
            "--out",
            str(tmp_path / "cmp"),
            "--max-lost",
            "0.02",
        ]
    )
    assert code == 0, out + err
    for bad in ("0", "2", "nan"):
        code, _, err = _main(["compare", run_path, master_path, "--out", str(tmp_path / "cmp"), "--max-lost", bad])
        assert code == 2 and "--max-lost" in err and len(err.strip().splitlines()) == 1
