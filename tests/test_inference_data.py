"""Records as data: the npz/CSV loader's one-line errors, and 'cqjax fit' end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from inference_cases import diosi_record

import cqjax
from cqjax.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "diosi_fit.toml"


def _npz(tmp_path, **arrays):
    path = tmp_path / "paths.npz"
    np.savez(path, **arrays)
    return path


def test_npz_and_csv_round_trip(tmp_path):
    data, _ = diosi_record()
    path = cqjax.save_paths(data, tmp_path / "rec.npz")
    back = cqjax.load_paths(path, cqjax.Diosi(), dt=0.01)
    np.testing.assert_array_equal(back.z, data.z)
    csv = tmp_path / "rec.csv"
    rows = np.column_stack([data.t, data.z[0, :, 1], data.z[0, :, 0]])  # columns in any order
    np.savetxt(csv, rows, delimiter=",", header="t,p,q", comments="", fmt="%.17g")
    one = cqjax.load_paths(csv, cqjax.Diosi(), dt=0.01)
    np.testing.assert_array_equal(one.z[0], data.z[0])


@pytest.mark.parametrize(
    "arrays, dt, message",
    [
        ({"paths.t": np.arange(3.0)}, None, "no array 'paths.z'"),
        ({"paths.t": np.arange(3.0), "paths.z": np.zeros((2, 4, 2))}, None, r"paths.z must have shape \(N, 3, 2\)"),
        ({"paths.t": np.arange(3.0), "paths.z": np.zeros((2, 3, 3))}, None, r"paths.z must have shape"),
        (
            {"paths.t": np.array([0.0, 1.0, 1.0]), "paths.z": np.zeros((1, 3, 2))},
            None,
            "not strictly increasing at index 2",
        ),
        (
            {"paths.t": np.arange(3.0), "paths.z": np.where(np.arange(6).reshape(1, 3, 2) == 3, np.nan, 0.0)},
            None,
            "NaN/inf at path 0, time index 1, coordinate 'p'",
        ),
        (
            {"paths.t": np.array([0.0, 0.01, 0.03]), "paths.z": np.zeros((1, 3, 2))},
            0.01,
            "time step 0.02 at index 2 does not match dt = 0.01",
        ),
        (
            {"paths.t": np.arange(3.0), "paths.z": np.zeros((1, 3, 2)), "paths.coords": np.array(["x", "p"])},
            None,
            "coordinates .* do not match the model's",
        ),
    ],
)
def test_bad_npz_files_get_one_line_errors(tmp_path, arrays, dt, message):
    path = _npz(tmp_path, **arrays)
    with pytest.raises(cqjax.DataError, match=message) as err:
        cqjax.load_paths(path, cqjax.Diosi(), dt=dt)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_bad_csv_files(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("t,q\n0,0\n0.01,0\n")
    with pytest.raises(cqjax.DataError, match="column 'p' .*coordinate of Diosi.* is missing"):
        cqjax.load_paths(path, cqjax.Diosi())
    path.write_text("t,q,p\n0,0,0\n0.01,0,abc\n")
    with pytest.raises(cqjax.DataError, match="line 3, column 'p': not a number"):
        cqjax.load_paths(path, cqjax.Diosi())
    with pytest.raises(cqjax.DataError, match="no such file"):
        cqjax.load_paths(tmp_path / "missing.csv", cqjax.Diosi())


def test_cli_fit_round_trip(tmp_path, capsys):
    data, _ = diosi_record()
    rec = cqjax.save_paths(data, tmp_path / "rec.npz")
    out = tmp_path / "fit.json"
    code = main(["fit", str(CONFIG), "--data", str(rec), "--free", "lam,sigma", "--dt", "0.01", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    result = json.loads(out.read_text())
    assert set(result) >= {"estimates", "stderr", "covariance", "loglik", "converged", "iterations"}
    assert result["converged"] and np.shape(result["covariance"]) == (2, 2)
    direct = cqjax.fit(cqjax.Diosi(lam=0.5, sigma=2.0), data, ("lam", "sigma"), state0=np.array([1.0, 1.0]) / 2**0.5)
    for name in ("lam", "sigma"):
        assert result["estimates"][name] == pytest.approx(direct.estimates[name], rel=1e-8)
        assert f"{name}" in printed and "+-" in printed


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--free", "lam,mass"], "free: 'mass' is not a parameter of Diosi"),
        (["--free", "lam", "--dt", "0.02"], "does not match dt = 0.02"),
    ],
)
def test_cli_fit_bad_input_exits_2(tmp_path, capsys, extra, message):
    rec = _npz(tmp_path, **{"paths.t": np.arange(3) * 0.01, "paths.z": np.zeros((1, 3, 2))})
    code = main(["fit", str(CONFIG), "--data", str(rec), "--out", str(tmp_path / "f.json"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "f.json").exists()


def test_cli_fit_bad_data_file_exits_2(tmp_path, capsys):
    bad = _npz(tmp_path, **{"paths.t": np.array([0.0, 0.01, 0.01]), "paths.z": np.zeros((1, 3, 2))})
    code = main(["fit", str(CONFIG), "--data", str(bad), "--free", "lam"])
    err = capsys.readouterr().err
    assert code == 2 and "not strictly increasing" in err and err.count("\n") == 1
