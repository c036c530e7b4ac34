"""Paths as data: run.paths keeps the first N trajectories every run.path_stride steps, whatever the
chunks (devices: tests/test_scale_out.py), through a checkpoint, in the results file and the front
door, in the record format that 'cqjax fit --data' reads."""

import importlib.util
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import qubit

import cqjax
from cqjax.cli import main

FIT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "diosi_fit.toml"
MODEL = cqjax.Diosi()
INIT = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=0.1 * jnp.eye(2), psi=qubit(0.7))
KW = dict(t1=0.2, dt=0.01, n_saves=4, trajectories=12, seed=3, precision="float64", observables=("p", "sz", "p*sz"))


def _run(**extra):
    return cqjax.run_ensemble(MODEL, INIT, **{**KW, **extra})


@pytest.fixture(scope="module")
def whole():
    return _run(paths=5, path_stride=1, chunk_size=12)


@pytest.fixture(scope="module")
def split():
    return _run(paths=5, path_stride=5, chunk_size=2)  # the 5 paths come from three chunks


def test_paths_are_the_first_trajectories_whatever_the_chunks_and_stride(whole, split):
    assert set(whole.paths) == {"t", "z", "sz", "p*sz"}  # 'p' is a column of z
    np.testing.assert_allclose(whole.paths["t"], np.arange(21) * 0.01, atol=1e-15)
    np.testing.assert_allclose(split.paths["t"], np.arange(5) * 0.05, atol=1e-15)
    assert whole.paths["z"].shape == (5, 21, 2) and split.paths["sz"].shape == (5, 5)
    for k in whole.paths:
        if k != "t":  # the same noise: every 5th point of the stride-1 paths
            np.testing.assert_array_equal(split.paths[k], whole.paths[k][:, ::5], err_msg=k)
    np.testing.assert_array_equal(split.paths["z"][:4], split.samples_z)  # stride = steps per save
    np.testing.assert_allclose(whole.paths["sz"][:, 0], 0.4, atol=1e-12)  # <sz> of qubit(0.7) at t = 0
    np.testing.assert_allclose(whole.paths["p*sz"], whole.paths["z"][..., 1] * whole.paths["sz"], atol=1e-12)
    step = np.diff(whole.paths["z"][..., 0], axis=1)  # dq = p dt / m, Euler-Maruyama, every step
    np.testing.assert_allclose(step, 0.01 * whole.paths["z"][:, :-1, 1], atol=1e-12)
    np.testing.assert_allclose(split.mean["p"], whole.mean["p"], rtol=1e-12, atol=1e-15)
    assert whole.ess is None  # unweighted


def test_paths_survive_a_checkpoint_and_resume(split, tmp_path):
    ck = tmp_path / "ck.npz"
    _run(paths=5, path_stride=5, chunk_size=2, checkpoint=ck, checkpoint_seconds=0)
    resumed = _run(paths=5, path_stride=5, chunk_size=2, checkpoint=ck, resume=True)  # every chunk done: from disk
    assert resumed.info["resumed_from"] == 12
    for k in split.paths:
        np.testing.assert_array_equal(resumed.paths[k], split.paths[k], err_msg=k)


@pytest.mark.parametrize(
    "extra, message",
    [
        (dict(paths=-1), "paths: must be an integer >= 0"),
        (dict(paths=13), r"paths: must be in 0..trajectories = 12"),
        (dict(paths=2, path_stride=0), "path_stride: must be an integer >= 1"),
        (dict(paths=2, path_stride=3), r"path_stride: 3 does not divide the steps between saves .* = 5\)"),
        (dict(paths=True), "paths: must be an integer"),
    ],
)
def test_bad_paths_are_refused(extra, message):
    with pytest.raises(ValueError, match=message):
        _run(**extra)


def test_paths_that_do_not_fit_in_memory_are_refused(monkeypatch):
    from cqjax.ensemble import runner

    monkeypatch.setattr(runner, "host_memory", lambda: 10_000)
    with pytest.raises(ValueError, match=r"run.paths: needs about .* keep fewer run.paths or a larger run.path_stride"):
        _run(paths=12, path_stride=1)


def test_front_door_paths_save_and_load(whole, tmp_path):
    ens = cqjax.run(MODEL, qubit(0.7), (jnp.zeros(2), 0.1 * jnp.eye(2)), **KW, paths=5, chunk_size=12, progress=False)
    np.testing.assert_array_equal(ens.paths["z"], whole.paths["z"])  # path_stride 1 by default
    back = cqjax.load(ens.save(tmp_path / "r.npz"))
    assert set(back.paths) == set(ens.paths)
    for k in ens.paths:
        np.testing.assert_array_equal(back.paths[k], ens.paths[k])
    data = cqjax.load_paths(tmp_path / "r.npz", MODEL, dt=0.01)  # the results file is a record
    np.testing.assert_array_equal(data.z, ens.paths["z"])
    if importlib.util.find_spec("xarray") is not None:
        ds = ens.to_xarray()
        assert ds["paths_z"].dims == ("path", "path_t", "coord") and ds["paths_sz"].shape == (5, 21)


def test_cqjax_run_paths_are_data_for_cqjax_fit(tmp_path, capsys):
    results, fitted = tmp_path / "r.npz", tmp_path / "fit.json"
    run = ["run", str(FIT_CONFIG), "--set", "run.paths=8", "--out", str(results), "--no-progress"]
    assert main(run) == 0
    assert "paths: 8 x 101 times" in capsys.readouterr().out
    rec = cqjax.load_results(results)
    assert rec["paths.z"].shape == (8, 101, 2) and list(rec["paths.coords"]) == ["q", "p"]
    fit = ["fit", str(FIT_CONFIG), "--data", str(results), "--free", "lam", "--dt", "0.01", "--out", str(fitted)]
    assert main(fit) == 0, capsys.readouterr().err
    result = json.loads(fitted.read_text())
    assert result["converged"] and abs(result["estimates"]["lam"] - 0.5) < 3 * result["stderr"]["lam"]


def test_bad_path_stride_in_a_config_exits_2(tmp_path, capsys):
    args = ["run", str(FIT_CONFIG), "--set", "run.paths=2", "--set", "run.path_stride=3"]
    assert main([*args, "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cqjax: error: run.path_stride: 3 does not divide") and err.count("\n") == 1
