"""The command line: ``cqjax run`` / ``cqjax plot`` in-process via ``cqjax.cli.main`` and once
through ``python -m cqjax``. Runs are tiny (a few hundred trajectories, 10-20 steps, CPU)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import OBSERVABLES, config_dict, toml_text

from cqjax.cli import main

FIGURES = {"phase_space.png", "bloch.png", "observables.png", "histogram.png"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write(path: Path, raw: dict) -> str:
    path.write_text(toml_text(raw))
    return str(path)


def _error_line(err: str, field: str) -> str:
    """The single ``cqjax: error: <field>...`` line of stderr (and no traceback)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("cqjax: error:")]
    assert len(errors) == 1, err
    assert errors[0] == lines[-1], err
    assert errors[0].startswith(f"cqjax: error: {field}"), errors[0]
    return errors[0]


# ------------------------------------------------------------------------------------------
# (1) round trip: run -> results file -> plot.


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("round_trip")
    cfg = _write(tmp / "run.toml", config_dict())
    out = tmp / "sub" / "res.npz"  # a folder that does not exist yet
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["run", cfg, "--out", str(out), "--no-progress"])
    return dict(rc=rc, out=out, stdout=stdout.getvalue(), stderr=stderr.getvalue(), tmp=tmp)


def test_run_exit_code(round_trip):
    assert round_trip["rc"] == 0, round_trip["stderr"]
    assert "Traceback" not in round_trip["stderr"]
    assert round_trip["out"].is_file()


def test_run_summary(round_trip):
    text = round_trip["stdout"]
    assert "model diosi" in text and "healed (pure states) / kraus" in text
    assert "500 trajectories x 20 steps" in text
    rows = {line.split()[0] for line in text.splitlines() if line.strip()}
    for name in OBSERVABLES:
        assert name in rows, name
    assert "trajectory-steps/s" in text
    assert f"results: {round_trip['out']}" in text


def test_results_arrays(round_trip):
    with np.load(round_trip["out"], allow_pickle=False) as data:
        d = {k: data[k] for k in data.files}
    np.testing.assert_allclose(d["t"], [0.0, 0.05, 0.1, 0.15, 0.2], atol=1e-12)
    assert list(d["coords"]) == ["q", "p"]
    for name in OBSERVABLES:
        for stat in ("mean", "sem"):
            arr = d[f"{name}.{stat}"]
            assert arr.shape == (5,) and np.all(np.isfinite(arr)), (name, stat)
        assert np.all(d[f"{name}.sem"] >= 0)
    # t = 0: the fixed point (0, 0) and |+>
    for name in ("q", "p", "p*p", "sz", "p*sz"):
        assert d[f"{name}.mean"][0] == pytest.approx(0.0, abs=1e-6)
        assert d[f"{name}.sem"][0] == pytest.approx(0.0, abs=1e-6)
    assert d["sx.mean"][0] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(d["purity.mean"], 1.0, atol=1e-5)
    assert np.all(d["norm_error.mean"] < 1e-4)
    assert d["p*p.mean"][-1] > 0
    assert d["samples.z"].shape == (3, 5, 2)
    assert d["samples.psi"].shape == (3, 5, 2)
    assert np.iscomplexobj(d["samples.psi"])
    np.testing.assert_array_equal(d["nonfinite"], 0)
    assert d["histogram.density"].shape == (5, 12, 2, 2)
    assert d["histogram.sem"].shape == (5, 12, 2, 2)
    assert d["histogram.outside"].shape == (5,)
    assert list(d["histogram.coords"]) == ["p"]
    np.testing.assert_allclose(d["histogram.edges.p"], np.linspace(-3, 3, 13))
    # the density integrates (trace over the qubit, sum over bins) to the probability inside
    inside = np.trace(d["histogram.density"], axis1=-2, axis2=-1).real.sum(axis=1) * 0.5
    np.testing.assert_allclose(inside + d["histogram.outside"], 1.0, atol=1e-5)


def test_results_meta(round_trip):
    with np.load(round_trip["out"], allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    for key in ("config", "environment", "compile_seconds", "run_seconds", "trajectory_steps_per_second"):
        assert key in meta, key
    env = meta["environment"]
    assert {"cqjax", "jax", "numpy"} <= set(env["versions"])
    assert env["versions"]["jax"]
    assert {"platform", "kind", "count"} <= set(env["device"])
    assert meta["compile_seconds"] >= 0 and meta["run_seconds"] >= 0
    assert meta["trajectory_steps_per_second"] > 0
    config = meta["config"]
    assert config["model"] == "diosi"
    assert config["run"]["trajectories"] == 500 and config["run"]["seed"] == 7
    assert config["run"]["unravelling"] == "healed"
    assert config["observables"]["names"] == OBSERVABLES
    assert config["histogram"] == {"coords": ["p"], "bins": [[-3.0, 3.0, 12]]}
    assert meta["trajectories"] == 500 and meta["steps"] == 20


def test_plot(round_trip, capsys):
    folder = round_trip["tmp"] / "figs"
    assert main(["plot", str(round_trip["out"]), "--out", str(folder)]) == 0
    written = {p.name for p in folder.iterdir()}
    assert FIGURES <= written
    for name in FIGURES:
        data = (folder / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    printed = capsys.readouterr().out
    for name in FIGURES:
        assert name in printed


# ------------------------------------------------------------------------------------------
# (2) --set overrides.


def test_set_overrides_are_honoured(tmp_path, capsys):
    cfg = _write(tmp_path / "c.toml", config_dict(histogram=None))
    out = tmp_path / "r.npz"
    rc = main(
        [
            "run",
            cfg,
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "run.trajectories=300",
            "--set",
            "run.unravelling=mean-field",
            "--set",
            'observables.names=["p", "sz"]',
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "300 trajectories" in captured.out and "mean-field" in captured.out
    with np.load(out, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        files = set(data.files)
    assert meta["config"]["run"]["trajectories"] == 300
    assert meta["config"]["run"]["unravelling"] == "mean-field"
    assert meta["trajectories"] == 300
    assert {"p.mean", "p.sem", "sz.mean", "sz.sem"} <= files
    assert "q.mean" not in files and not any(k.startswith("histogram.") for k in files)


def test_same_seed_same_results(tmp_path, capsys):
    cfg = _write(tmp_path / "c.toml", config_dict())  # the round trip's run: its compiled kernel is reused
    paths = [tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"]
    assert main(["run", cfg, "--out", str(paths[0]), "--no-progress"]) == 0
    assert main(["run", cfg, "--out", str(paths[1]), "--no-progress"]) == 0
    assert main(["run", cfg, "--out", str(paths[2]), "--no-progress", "--set", "run.seed=8"]) == 0
    a, b, c = (np.load(p) for p in paths)
    np.testing.assert_array_equal(a["p.mean"], b["p.mean"])
    np.testing.assert_array_equal(a["samples.z"], b["samples.z"])
    assert not np.array_equal(a["p.mean"], c["p.mean"])


# ------------------------------------------------------------------------------------------
# (3) invalid configurations: exit status 2, one line on stderr, no traceback.


def test_python_m_cqjax_bad_dt(tmp_path):
    cfg = _write(tmp_path / "c.toml", config_dict(run={"dt": 0.0}))
    proc = subprocess.run(
        [sys.executable, "-m", "cqjax", "run", cfg, "--no-progress", "--out", str(tmp_path / "r.npz")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    _error_line(proc.stderr, "run.dt:")
    assert proc.stdout == ""
    assert not (tmp_path / "r.npz").exists()


def test_help_lists_the_subcommands(capsys):
    # in-process: test_python_m_cqjax_bad_dt runs `python -m cqjax` itself
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "plot" in out


@pytest.mark.parametrize(
    "sections, overrides, field",
    [
        ({"run": {"dtt": 0.01}}, [], "run.dtt:"),
        ({"extra": 1}, [], "extra:"),
        ({"initial": {"psi": [[0.0, 0.0], [0.0, 0.0]]}}, [], "initial.psi:"),
        ({"initial": {"psi": [[1.0, 0.0]]}}, [], "initial.psi:"),
        ({"observables": {"names": ["sx*sz"]}}, [], "observables.names:"),
        ({"histogram": {"coords": ["x"]}}, [], "histogram.coords:"),
        ({"model": "nosuchmodel"}, [], "model:"),
        ({}, ["run.t1=0.105"], "run.t1:"),
        ({}, ["run.n_saves=3"], "run.n_saves:"),
        ({}, ["run.trajectories=0"], "run.trajectories:"),
        ({}, ["run.precision=float16"], "run.precision:"),
        ({}, ["run.dt"], "--set:"),
    ],
    ids=[
        "unknown-run-key",
        "unknown-top-key",
        "psi-zero",
        "psi-length",
        "two-operators",
        "histogram-coord",
        "unknown-model",
        "t1-multiple",
        "n_saves",
        "trajectories",
        "precision",
        "set-syntax",
    ],
)
def test_invalid_config_in_process(tmp_path, capsys, sections, overrides, field):
    cfg = _write(tmp_path / "c.toml", config_dict(**sections))
    args = ["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 2
    captured = capsys.readouterr()
    _error_line(captured.err, field)
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""
    assert not (tmp_path / "r.npz").exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml"), "--no-progress"]) == 2
    _error_line(capsys.readouterr().err, "config:")


def test_invalid_toml_file(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[run\nt1 = 1\n")
    assert main(["run", str(path), "--no-progress"]) == 2
    _error_line(capsys.readouterr().err, "config:")


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fly"])
    assert info.value.code == 2


# ------------------------------------------------------------------------------------------
# (4) user models from a file; the positivity refusal.

# No ``from __future__ import annotations`` here: see test_user_model_with_future_annotations.
USER_MODEL = '''
from typing import ClassVar

import jax.numpy as jnp

import cqjax
from cqjax import pauli


class {name}(cqjax.AbstractDiagonalModel):
    """Diosi-like: H = p^2/2m + 2 lam q sz, noise sigma on {noisy} only."""

    m: float = 1.0
    lam: float = 1.0
    sigma: float = 1.0

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        q, p = z[0], z[1]
        kinetic = p**2 / (2 * self.m)
        return jnp.stack([kinetic + 2 * self.lam * q, kinetic - 2 * self.lam * q])

    def noise(self, z):
        s = jnp.asarray(self.sigma, dtype=z.dtype)
        zero = jnp.zeros_like(s)
        return jnp.stack([{column}])[:, None]

    def operators(self):
        return pauli()
'''


def _user_model(tmp_path: Path, noisy: str, *, future: bool = False) -> str:
    column = "zero, s" if noisy == "p" else "s, zero"
    source = USER_MODEL.format(name="MyModel", noisy=noisy, column=column)
    if future:
        source = "from __future__ import annotations\n" + source
    path = tmp_path / f"mymodel_{noisy}{'_future' if future else ''}.py"
    path.write_text(textwrap.dedent(source))
    return f"{path}:MyModel"


def _user_config(spec: str) -> dict:
    raw = config_dict(
        model=spec,
        run={"trajectories": 200, "t1": 0.1, "n_saves": 2},
        observables={"names": ["q", "p", "sz", "p*sz"]},
        histogram=None,
    )
    raw["params"] = {"m": 1.0, "lam": 1.0, "sigma": 1.0}
    return raw


def test_positivity_refusal(tmp_path, capsys):
    spec = _user_model(tmp_path, noisy="q")  # back-reaction on p but no noise on p
    cfg = _write(tmp_path / "c.toml", _user_config(spec))
    assert main(["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    line = _error_line(capsys.readouterr().err, "positivity:")
    assert "['p']" in line and "'q'" not in line
    assert "positive" in line
    assert not (tmp_path / "r.npz").exists()


def test_positivity_not_required_for_mean_field(tmp_path, capsys):
    """Mean-field dynamics is deterministic: no noise is needed, so no refusal."""
    spec = _user_model(tmp_path, noisy="q")
    cfg = _write(tmp_path / "c.toml", _user_config(spec))
    rc = main(["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress", "--set", "run.unravelling=mean-field"])
    assert rc == 0, capsys.readouterr().err


def test_valid_user_model_runs(tmp_path, capsys):
    spec = _user_model(tmp_path, noisy="p")
    cfg = _write(tmp_path / "c.toml", _user_config(spec))
    out = tmp_path / "r.npz"
    rc = main(["run", cfg, "--out", str(out), "--no-progress", "--set", "params.lam=0.5"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"model {spec}" in captured.out
    with np.load(out, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        assert np.all(np.isfinite(data["p*sz.mean"]))
    assert meta["config"]["model"] == spec
    assert meta["config"]["params"] == {"m": 1.0, "lam": 0.5, "sigma": 1.0}


def test_user_model_unknown_param(tmp_path, capsys):
    spec = _user_model(tmp_path, noisy="p")
    raw = _user_config(spec)
    raw["params"]["phi"] = 2.0
    cfg = _write(tmp_path / "c.toml", raw)
    assert main(["run", cfg, "--no-progress", "--out", str(tmp_path / "r.npz")]) == 2
    _error_line(capsys.readouterr().err, "params.phi:")


def test_user_model_with_future_annotations(tmp_path, capsys):
    spec = _user_model(tmp_path, noisy="p", future=True)
    cfg = _write(tmp_path / "c.toml", _user_config(spec))
    rc = main(["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress"])
    assert rc == 0, capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# (5) plot errors.


def test_plot_missing_file(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "figs")]) == 2
    _error_line(capsys.readouterr().err, "results:")
    assert not (tmp_path / "figs").exists()


def test_user_model_with_syntax_error_is_a_config_error(tmp_path, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text("def(:\n")
    cfg = _write(tmp_path / "c.toml", _user_config(f"{bad}:MyModel"))
    assert main(["run", cfg, "--no-progress", "--out", str(tmp_path / "r.npz")]) == 2
    _error_line(capsys.readouterr().err, "model:")


def test_config_that_is_a_directory_is_a_config_error(tmp_path, capsys):
    assert main(["run", str(tmp_path), "--no-progress"]) == 2
    _error_line(capsys.readouterr().err, "config:")


def test_plot_of_a_file_that_is_not_results(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    assert main(["plot", str(bad), "--out", str(tmp_path / "p")]) == 2
    _error_line(capsys.readouterr().err, "results:")


# ------------------------------------------------------------------------------------------
# (4) cqjax master: the results file lines up with cqjax run's; diagnostics are reported.


@pytest.fixture(scope="module")
def master_run(tmp_path_factory, round_trip):
    tmp = tmp_path_factory.mktemp("master")
    cfg = _write(tmp / "m.toml", config_dict(master={"cells": [24, 32]}))
    out = tmp / "m.npz"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["master", cfg, "--out", str(out), "--no-progress"])
    return dict(rc=rc, out=out, stdout=stdout.getvalue(), stderr=stderr.getvalue(), cfg=cfg)


def test_master_results_line_up_with_run(master_run, round_trip):
    assert master_run["rc"] == 0, master_run["stderr"]
    m = np.load(master_run["out"])
    r = np.load(round_trip["out"])
    np.testing.assert_allclose(m["t"], r["t"])
    for name in OBSERVABLES:
        if name in ("purity", "norm_error"):  # properties of trajectories, not of varrho
            assert f"{name}.mean" not in m
            continue
        assert m[f"{name}.mean"].shape == r[f"{name}.mean"].shape
        assert m[f"{name}.err"].shape == r[f"{name}.mean"].shape
    T = len(m["t"])
    nq, np_ = len(m["grid.q"]), len(m["grid.p"])
    assert m["density"].shape == (T, nq, np_, 2, 2) and m["density"].dtype == np.complex64
    assert len(m["grid.edges.q"]) == nq + 1 and len(m["grid.edges.p"]) == np_ + 1
    dv = np.diff(m["grid.edges.q"])[0] * np.diff(m["grid.edges.p"])[0]
    trace = np.real(np.trace(m["density"], axis1=-2, axis2=-1)).sum((1, 2)) * dv
    np.testing.assert_allclose(trace, m["trace"], rtol=1e-6)
    np.testing.assert_allclose(m["trace"] + m["lost"], 1.0, atol=1e-12)
    assert m["min_eig"].shape == (T,) and m["lost.sides"].shape == (T, 2, 2)
    assert m["histogram.density"].shape == r["histogram.density"].shape
    meta = json.loads(str(m["meta"]))
    assert meta["kind"] == "master" and meta["cells"] == [nq, np_]


def test_master_summary(master_run):
    lines = master_run["stdout"].splitlines()
    assert lines[0].startswith("cqjax master: model diosi, grid q in [")
    assert any(line.startswith("min_eig ") and "lost" in line for line in lines)
    assert lines[-1].startswith("results:")


def test_master_reports_lost_mass_and_unstable_dt(master_run, tmp_path, capsys):
    cfg = master_run["cfg"]
    rc = main(["master", cfg, "--out", str(tmp_path / "a.npz"), "--no-progress", "--set", "master.p=[-0.3, 0.3]"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "left the grid" in err and "widen master.p" in err
    rc = main(["master", cfg, "--out", str(tmp_path / "b.npz"), "--no-progress", "--set", "master.dt=0.05"])
    assert rc == 2
    _error_line(capsys.readouterr().err, "master.dt:")


def test_master_notes_where_positivity_fails(tmp_path, capsys):
    raw = config_dict(model="seed000", master={"cells": [1, 64]})
    raw["params"] = {"lam": -1.0, "gamma_c": 0.5, "gamma_q": 0.02}  # below the trade-off
    cfg = _write(tmp_path / "s.toml", raw)
    assert main(["master", cfg, "--out", str(tmp_path / "s.npz"), "--no-progress"]) == 2
    line = _error_line(capsys.readouterr().err, "master: complete positivity:")
    assert "set master.allow_non_cp = true" in line and not (tmp_path / "s.npz").exists()
    assert (
        main(["master", cfg, "--out", str(tmp_path / "s.npz"), "--no-progress", "--set", "master.allow_non_cp=true"])
        == 0
    )
    out = capsys.readouterr()
    assert "not completely positive" in out.out
    assert "varrho is not positive semi-definite" in out.err
    assert np.load(tmp_path / "s.npz")["min_eig"].min() < 0


@pytest.mark.parametrize(
    "params, state, field, message",
    [
        (
            {"lam": -1.0, "gamma_c": 0.5, "gamma_q": 0.02},
            "auto",
            "complete positivity:",
            "trade-off 2 D0 >= D1^dag pinv(D2) D1 fails by",
        ),
        ({"lam": -1.0, "gamma_c": 0.5, "gamma_q": 0.5}, "pure", "run.state:", "above the saturated"),
    ],
)
def test_run_refuses_what_trajectories_cannot_unravel(tmp_path, capsys, params, state, field, message):
    raw = config_dict(model="seed000", run={"state": state})
    raw["params"] = params
    cfg = _write(tmp_path / "c.toml", raw)
    assert main(["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    line = _error_line(capsys.readouterr().err, field)
    assert message in line


def test_run_unravels_jumps_and_excess_decoherence(tmp_path, capsys):
    raw = config_dict(model="jump_qubit")
    raw["params"] = {"m": 1.0, "B": 1.0, "omega": 1.0, "tau": 0.1}
    assert main(["run", _write(tmp_path / "j.toml", raw), "--out", str(tmp_path / "j.npz"), "--no-progress"]) == 0
    assert "jump (pure states)" in capsys.readouterr().out
    raw = config_dict(model="seed000", observables={"names": ["p", "sz", "purity"]})
    raw["params"] = {"lam": -1.0, "gamma_c": 0.5, "gamma_q": 0.5}
    assert main(["run", _write(tmp_path / "s.toml", raw), "--out", str(tmp_path / "s.npz"), "--no-progress"]) == 0
    assert "healed (mixed states)" in capsys.readouterr().out
    data = np.load(tmp_path / "s.npz")
    assert data["samples.rho"].shape[-2:] == (2, 2) and data["purity.mean"][-1] < 0.99
    assert main(["plot", str(tmp_path / "s.npz"), "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "bloch.png").exists()


SQRT_MODEL = "from helpers import RootModel as Root  # the tests folder is on sys.path\n"


def test_nonfinite_trajectories_fail_the_run_or_are_excluded_on_request(tmp_path, capsys):
    (tmp_path / "root.py").write_text(SQRT_MODEL)
    raw = config_dict(
        model=f"{tmp_path / 'root.py'}:Root",
        run={"t1": 2.0, "trajectories": 200},
        initial={"z_mean": [1.0, -1.0]},
        observables={"names": ["q", "sz"]},
        histogram=None,
    )
    raw["params"] = {}
    cfg = _write(tmp_path / "c.toml", raw)
    out = tmp_path / "r.npz"
    assert main(["run", cfg, "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(
        'cqjax: run failed: run.nonfinite = "fail": '
    )
    assert not out.exists()
    assert main(["run", cfg, "--out", str(out), "--no-progress", "--set", "run.nonfinite=exclude"]) == 0
    captured = capsys.readouterr()
    assert "are excluded" in captured.err
    with np.load(out, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        excluded = data["nonfinite"][-1]
        assert np.all(np.isfinite(data["q.mean"])) and excluded > 0
    assert meta["nonfinite_policy"] == "exclude" and meta["excluded_trajectories"] == excluded
    assert main(["run", cfg, "--out", str(out), "--no-progress", "--set", "run.nonfinite=skip"]) == 2
    _error_line(capsys.readouterr().err, "run.nonfinite:")


def test_unwritable_out_is_refused_before_any_computation(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    cfg = _write(tmp_path / "c.toml", config_dict())
    assert main(["run", cfg, "--out", str(blocker / "r.npz"), "--no-progress"]) == 2
    _error_line(capsys.readouterr().err, "--out:")
    raw = config_dict(run={"trajectories": 2**62 + 1})
    assert main(["run", _write(tmp_path / "big.toml", raw), "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    _error_line(capsys.readouterr().err, "run.trajectories:")


def test_a_failed_write_leaves_the_earlier_results_file_intact(tmp_path, monkeypatch):
    from cqjax import _files

    good = tmp_path / "r.npz"
    _files.write_npz(good, {"t": np.arange(3.0)})
    before = good.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(_files.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        _files.write_npz(good, {"t": np.arange(5.0)})
    assert good.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]  # no temporary file left behind
