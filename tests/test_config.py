"""Strict validation of TOML run configurations (cqjax.io.config).

Every invalid configuration must raise ``cqjax.ConfigError`` (a ``ValueError``) whose one-line
message starts with the offending field, e.g. ``run.dt: must be ...``.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

import cqjax
from cqjax.io.config import apply_overrides
from cqjax.master.grid import default_cells

REPO = Path(__file__).resolve().parents[1]

# A small version of configs/diosi_fig2.toml.
BASE_TOML = """
model = "diosi"

[params]
m = 1.0
lam = 1.0
phi = 2.0
sigma = 1.0

[initial]
z_mean = [0.0, 0.0]
psi = "plus"

[run]
t1 = 0.1
dt = 0.01
trajectories = 200
n_saves = 5
seed = 0
unravelling = "healed"
method = "kraus"
precision = "float32"

[observables]
names = ["q", "p", "p*p", "sz", "sx", "p*sz", "purity", "norm_error"]

[histogram]
coords = ["p"]
bins = [[-6.0, 6.0, 60]]
"""

DELETE = object()


@pytest.fixture
def base() -> dict:
    return tomllib.loads(BASE_TOML)


def _set(raw: dict, path: str, value) -> dict:
    """Set (or with DELETE, remove) the dotted key ``path`` in ``raw``."""
    *parents, last = path.split(".")
    node = raw
    for k in parents:
        node = node.setdefault(k, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


# ------------------------------------------------------------------------------------------
# Valid configurations.


def test_base_config_parses(base):
    cfg = cqjax.parse_config(base)
    assert isinstance(cfg, cqjax.RunConfig)
    assert isinstance(cfg.model, cqjax.Diosi)
    assert float(cfg.model.phi) == 2.0
    assert cfg.t1 == 0.1 and cfg.dt == 0.01 and cfg.n_saves == 5
    assert cfg.trajectories == 200 and cfg.seed == 0
    assert cfg.unravelling.name == "healed" and cfg.solver.name == "kraus"
    assert cfg.precision == "float32"
    assert cfg.observables == ("q", "p", "p*p", "sz", "sx", "p*sz", "purity", "norm_error")
    assert cfg.histogram == cqjax.HistogramSpec(("p",), ((-6.0, 6.0, 60),))
    np.testing.assert_allclose(np.asarray(cfg.initial.psi), [2**-0.5, 2**-0.5])
    np.testing.assert_array_equal(np.asarray(cfg.initial.z_mean), [0.0, 0.0])
    assert cfg.initial.z_cov is None
    kwargs = cfg.run_kwargs()
    assert kwargs["trajectories"] == 200 and kwargs["histogram"] is cfg.histogram
    # defaults are filled in and recorded
    assert cfg.chunk_size is None and cfg.samples == 4
    assert cfg.resolved["run"]["samples"] == 4
    assert cfg.resolved["model"] == "diosi"
    assert cfg.resolved["params"] == {"m": 1.0, "lam": 1.0, "phi": 2.0, "sigma": 1.0}


def test_optional_sections_and_defaults(base):
    del base["histogram"]
    del base["params"]  # every Diosi parameter has a default
    for key in ("n_saves", "seed", "unravelling", "method", "precision"):
        del base["run"][key]
    base["run"]["t1"] = 1  # an integer where a float is expected is accepted
    cfg = cqjax.parse_config(base)
    assert cfg.histogram is None and "histogram" not in cfg.resolved
    assert isinstance(cfg.t1, float) and cfg.t1 == 1.0
    assert cfg.n_saves == 100 and cfg.seed == 0
    assert cfg.unravelling.name == "healed" and cfg.solver.name == "kraus"
    assert cfg.precision == "float32"


def test_z_cov_and_explicit_psi(base):
    base["initial"]["z_cov"] = [[0.5, 0.1], [0.1, 0.25]]
    base["initial"]["psi"] = [[0.0, 1.0], [1.0, 0.0]]  # (i|0> + |1>) / sqrt 2
    cfg = cqjax.parse_config(base)
    np.testing.assert_allclose(np.asarray(cfg.initial.z_cov), [[0.5, 0.1], [0.1, 0.25]])
    np.testing.assert_allclose(np.asarray(cfg.initial.psi), np.array([1j, 1.0]) / np.sqrt(2))
    assert cfg.resolved["initial"]["z_cov"] == [[0.5, 0.1], [0.1, 0.25]]


def test_psi_is_normalised(base):
    base["initial"]["psi"] = [[3, 0], [4, 0]]
    cfg = cqjax.parse_config(base)
    psi = np.asarray(cfg.initial.psi)
    assert np.linalg.norm(psi) == pytest.approx(1.0)
    np.testing.assert_allclose(psi, [0.6, 0.8])
    np.testing.assert_allclose(cfg.resolved["initial"]["psi"], [[0.6, 0.0], [0.8, 0.0]])


@pytest.mark.parametrize("name", ["zero", "one", "plus", "minus"])
def test_named_states(base, name):
    base["initial"]["psi"] = name
    psi = np.asarray(cqjax.parse_config(base).initial.psi)
    assert np.linalg.norm(psi) == pytest.approx(1.0)


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = cqjax.load_config(path)
    assert cfg.trajectories >= 1 and cfg.observables


def test_overrides_values():
    raw = {"run": {"t1": 1.0}}
    apply_overrides(
        raw,
        [
            "run.trajectories=300",  # TOML integer
            "run.dt=1e-2",  # TOML float
            "run.method='euler-maruyama'",  # TOML string
            "run.unravelling=mean-field",  # bare word -> string
            "initial.z_mean=[1.0, -0.5]",  # TOML list, new section
            'observables.names=["q", "sz"]',
            " params.lam = 0.5 ",  # whitespace around key and value
        ],
    )
    assert raw == {
        "run": {"t1": 1.0, "trajectories": 300, "dt": 0.01, "method": "euler-maruyama", "unravelling": "mean-field"},
        "initial": {"z_mean": [1.0, -0.5]},
        "observables": {"names": ["q", "sz"]},
        "params": {"lam": 0.5},
    }
    assert isinstance(raw["run"]["trajectories"], int)


def test_overrides_are_validated_and_recorded(base):
    raw = apply_overrides(
        copy.deepcopy(base),
        [
            "run.trajectories=300",
            "run.unravelling=mean-field",
            "run.method=euler-maruyama",
            "run.precision=float64",
            "run.chunk_size=64",
            "initial.z_mean=[1.0, -0.5]",
            "initial.psi=one",
            "params.lam=0.5",
            'observables.names=["q", "sz"]',
            "histogram.coords=['q', 'p']",
            "histogram.bins=[[-1, 1, 4], [-2, 2, 8]]",
        ],
    )
    cfg = cqjax.parse_config(raw)
    assert cfg.trajectories == 300 and cfg.chunk_size == 64
    assert isinstance(cfg.unravelling, cqjax.MeanField)
    assert isinstance(cfg.solver, cqjax.EulerMaruyama)
    assert cfg.precision == "float64"
    assert float(cfg.model.lam) == 0.5
    assert cfg.observables == ("q", "sz")
    assert cfg.histogram.coords == ("q", "p") and cfg.histogram.bins == ((-1.0, 1.0, 4), (-2.0, 2.0, 8))
    r = cfg.resolved
    assert r["run"]["trajectories"] == 300
    assert r["run"]["unravelling"] == "mean-field"
    assert r["run"]["method"] == "euler-maruyama"
    assert r["run"]["precision"] == "float64"
    assert r["params"]["lam"] == 0.5
    assert r["initial"]["z_mean"] == [1.0, -0.5]
    assert r["initial"]["psi"] == [[0.0, 0.0], [1.0, 0.0]]
    assert r["observables"]["names"] == ["q", "sz"]
    assert r["histogram"] == {"coords": ["q", "p"], "bins": [[-1.0, 1.0, 4], [-2.0, 2.0, 8]]}


def test_load_config_with_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(BASE_TOML)
    cfg = cqjax.load_config(path, ["run.trajectories=300", "run.unravelling=mean-field"])
    assert cfg.trajectories == 300 and cfg.unravelling.name == "mean-field"
    assert cfg.resolved["run"]["trajectories"] == 300
    assert cfg.resolved["run"]["unravelling"] == "mean-field"
    # the overrides did not touch the file
    assert cqjax.load_config(str(path)).trajectories == 200


@pytest.mark.parametrize(
    "override, field",
    [
        ("run.dt", "--set"),  # no '='
        ("=3", "--set"),  # no key
        ("run.dt.x=1", "--set run.dt.x"),  # run.dt is not a table
    ],
)
def test_bad_overrides(base, override, field):
    with pytest.raises(cqjax.ConfigError) as info:
        apply_overrides(base, [override])
    assert str(info.value).startswith(field)


# ------------------------------------------------------------------------------------------
# Invalid configurations: (dotted key to change, new value or DELETE, expected field).

INVALID = {
    "unknown top-level key": ("extra", 1, "extra"),
    "unknown run key": ("run.dtt", 0.01, "run.dtt"),
    "unknown initial key": ("initial.z", [0.0], "initial.z"),
    "unknown param": ("params.mass", 1.0, "params.mass"),
    "trajectories not int": ("run.trajectories", "many", "run.trajectories"),
    "trajectories fractional": ("run.trajectories", 100.5, "run.trajectories"),
    "trajectories inf": ("run.trajectories", math.inf, "run.trajectories"),
    "trajectories bool": ("run.trajectories", True, "run.trajectories"),
    "dt string": ("run.dt", "x", "run.dt"),
    "param bool": ("params.lam", True, "params.lam"),
    "param string": ("params.lam", "1", "params.lam"),
    "param nan": ("params.sigma", math.nan, "params.sigma"),
    "section not a table": ("run", 3, "run"),
    "model not a string": ("model", 1, "model"),
    "dt zero": ("run.dt", 0.0, "run.dt"),
    "dt negative": ("run.dt", -0.01, "run.dt"),
    "dt inf": ("run.dt", math.inf, "run.dt"),
    "t1 negative": ("run.t1", -0.1, "run.t1"),
    "t1 not multiple of dt": ("run.t1", 0.105, "run.t1"),
    "t1 shorter than dt": ("run.t1", 0.004, "run.t1"),
    "n_saves not dividing": ("run.n_saves", 3, "run.n_saves"),
    "n_saves zero": ("run.n_saves", 0, "run.n_saves"),
    "trajectories zero": ("run.trajectories", 0, "run.trajectories"),
    "trajectories negative": ("run.trajectories", -5, "run.trajectories"),
    "chunk_size zero": ("run.chunk_size", 0, "run.chunk_size"),
    "samples negative": ("run.samples", -1, "run.samples"),
    "seed negative": ("run.seed", -1, "run.seed"),
    "unknown unravelling": ("run.unravelling", "unhealed", "run.unravelling"),
    "unknown method": ("run.method", "rk4", "run.method"),
    "unknown precision": ("run.precision", "float16", "run.precision"),
    "unknown state": ("run.state", "quantum", "run.state"),
    "psi and rho both": ("initial.rho", [[[1, 0], [0, 0]], [[0, 0], [0, 0]]], "initial.psi"),
    "psi zero": ("initial.psi", [[0, 0], [0, 0]], "initial.psi"),
    "psi three amplitudes": ("initial.psi", [[1, 0], [0, 0], [0, 0]], "initial.psi"),
    "psi one amplitude": ("initial.psi", [[1, 0]], "initial.psi"),
    "psi amplitude not [re, im]": ("initial.psi", [[1, 0, 0], [0, 0]], "initial.psi"),
    "psi amplitude not numbers": ("initial.psi", [["a", 0], [0, 0]], "initial.psi"),
    "psi wrong type": ("initial.psi", 1, "initial.psi"),
    "unknown named state": ("initial.psi", "up", "initial.psi"),
    "z_mean too long": ("initial.z_mean", [0.0, 0.0, 0.0], "initial.z_mean"),
    "z_mean too short": ("initial.z_mean", [0.0], "initial.z_mean"),
    "z_mean not numbers": ("initial.z_mean", ["0", 0.0], "initial.z_mean"),
    "z_cov not symmetric": ("initial.z_cov", [[1.0, 0.5], [0.0, 1.0]], "initial.z_cov"),
    "z_cov not PSD": ("initial.z_cov", [[1.0, 0.0], [0.0, -1.0]], "initial.z_cov"),
    "z_cov not PSD off-diagonal": ("initial.z_cov", [[1.0, 2.0], [2.0, 1.0]], "initial.z_cov"),
    "z_cov wrong shape": ("initial.z_cov", [[1.0, 0.0]], "initial.z_cov"),
    "unknown observable factor": ("observables.names", ["q", "x"], "observables.names"),
    "two operators": ("observables.names", ["sx*sz"], "observables.names"),
    "no observables": ("observables.names", [], "observables.names"),
    "observable not a string": ("observables.names", [1], "observables.names"),
    "histogram unknown coord": ("histogram.coords", ["x"], "histogram.coords"),
    "histogram lo > hi": ("histogram.bins", [[6.0, -6.0, 60]], "histogram.bins"),
    "histogram lo == hi": ("histogram.bins", [[1.0, 1.0, 10]], "histogram.bins"),
    "histogram zero bins": ("histogram.bins", [[-6.0, 6.0, 0]], "histogram.bins"),
    "histogram float bins": ("histogram.bins", [[-6.0, 6.0, 6.5]], "histogram.bins"),
    "histogram entry too short": ("histogram.bins", [[-6.0, 6.0]], "histogram.bins"),
    "histogram bins/coords mismatch": ("histogram.bins", [[-6, 6, 6], [-6, 6, 6]], "histogram.bins"),
    "histogram unknown key": ("histogram.range", 1, "histogram.range"),
    "missing run.t1": ("run.t1", DELETE, "run.t1"),
    "missing run.dt": ("run.dt", DELETE, "run.dt"),
    "missing run.trajectories": ("run.trajectories", DELETE, "run.trajectories"),
    "missing initial.psi": ("initial.psi", DELETE, "initial.psi"),
    "missing observables.names": ("observables.names", DELETE, "observables.names"),
    "missing model": ("model", DELETE, "model"),
    "unknown model": ("model", "nosuchmodel", "model"),
    "model module missing": ("model", "no_such_pkg_xyz.mod:Model", "model"),
    "model file missing": ("model", "/nonexistent/dir/m.py:Model", "model"),
    "model not a model class": ("model", "cqjax:ConfigError", "model"),
    "master not a table": ("master", 3, "master"),
    "master unknown key": ("master.x", [0.0, 1.0], "master.x"),
    "master cells one number": ("master.cells", [64], "master.cells"),
    "master cells zero": ("master.cells", [0, 64], "master.cells"),
    "master cells fractional": ("master.cells", [64.5, 64], "master.cells"),
    "master dt negative": ("master.dt", -1e-3, "master.dt"),
    "master dt string": ("master.dt", "auto", "master.dt"),
    "master extent reversed": ("master.p", [1.0, -1.0], "master.p"),
    "master extent one number": ("master.q", [1.0], "master.q"),
    "master extent not numbers": ("master.q", ["a", 1.0], "master.q"),
    "master error_estimate not bool": ("master.error_estimate", 1, "master.error_estimate"),
    "master save_density zero": ("master.save_density", 0, "master.save_density"),
    "master save_density not times": ("master.save_density", ["a"], "master.save_density"),
    "master save_density negative time": ("master.save_density", [-0.5], "master.save_density"),
}


@pytest.mark.parametrize("path, value, field", list(INVALID.values()), ids=list(INVALID))
def test_invalid(base, path, value, field):
    raw = _set(base, path, value)
    with pytest.raises(cqjax.ConfigError) as info:
        cqjax.parse_config(raw)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(field + ":"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    "override, field",
    [
        ("run.dt=0", "run.dt"),
        ("run.trajectories=many", "run.trajectories"),  # bare word -> a string, not an int
        ("run.unravelling=unhealed", "run.unravelling"),
        ("initial.psi=[[0, 0], [0, 0]]", "initial.psi"),
        ("params.lam=true", "params.lam"),
        ("run.n_saves=3", "run.n_saves"),
    ],
)
def test_invalid_through_overrides(tmp_path, override, field):
    path = tmp_path / "c.toml"
    path.write_text(BASE_TOML)
    with pytest.raises(cqjax.ConfigError) as info:
        cqjax.load_config(path, [override])
    assert str(info.value).startswith(field + ":")


def test_missing_file(tmp_path):
    with pytest.raises(cqjax.ConfigError) as info:
        cqjax.load_config(tmp_path / "nope.toml")
    assert str(info.value).startswith("config:")


def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run\nt1 = ")
    with pytest.raises(cqjax.ConfigError) as info:
        cqjax.load_config(path)
    assert str(info.value).startswith("config:")


def test_master_section_parses(base):
    raw = _set(copy.deepcopy(base), "master", {"cells": [32, 48], "dt": 1e-3, "p": [-5, 5], "error_estimate": False})
    cfg = cqjax.parse_config(raw)
    assert cfg.master.cells == (32, 48) and cfg.master.dt == 1e-3
    assert cfg.master.extent == {"p": (-5.0, 5.0)} and cfg.master.error_estimate is False
    assert cfg.resolved["master"]["p"] == [-5.0, 5.0]
    kw = cfg.master_kwargs()
    assert kw["cells"] == (32, 48) and kw["t1"] == cfg.t1 and kw["observables"] == cfg.observables
    defaults = cqjax.parse_config(copy.deepcopy(base)).master
    assert defaults.cells is None and defaults.dt is None and defaults.extent == {}  # per number of axes:
    assert default_cells(2) == (128, 128) and default_cells(4) == (24, 24, 24, 24)
    saves = _set(copy.deepcopy(base), "master", {"save_density": [0.0, 0.2]})
    assert cqjax.parse_config(saves).master_kwargs()["save_density"] == (0.0, 0.2)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"gamma_c": -0.1}, "params: gamma_c"),
        ({"gamma_q": -1.0}, "params: gamma_q"),
        ({"hbar": 0.0}, "params: hbar"),
    ],
)
def test_seed000_parameters_are_checked(base, params, field):
    raw = copy.deepcopy(base)
    raw["model"] = "seed000"
    raw["params"] = params
    with pytest.raises(cqjax.ConfigError, match="^" + field):
        cqjax.parse_config(raw)


RHO_HALF = [[[0.5, 0.0], [0.25, -0.1]], [[0.25, 0.1], [0.5, 0.0]]]


@pytest.mark.parametrize(
    "rho, message",
    [
        ([[[0.7, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.2, 0.0]]], "trace is 0.9, must be 1"),
        ([[[0.5, 0.0], [0.2, 0.0]], [[0.3, 0.0], [0.5, 0.0]]], "not Hermitian"),
        ([[[0.5, 0.0], [0.9, 0.0]], [[0.9, 0.0], [0.5, 0.0]]], "not positive semi-definite"),
        ([[[1.0, 0.0]], [[0.0, 0.0]]], "2 x 2 matrix"),
        ([[[1.0, 0.0], [0.0]], [[0.0, 0.0], [0.0, 0.0]]], "[re, im]"),
    ],
)
def test_initial_rho_is_validated(base, rho, message):
    del base["initial"]["psi"]
    base["initial"]["rho"] = rho
    with pytest.raises(cqjax.ConfigError, match=r"^initial\.rho: ") as err:
        cqjax.parse_config(base)
    assert message in str(err.value)


def test_initial_rho_and_state_are_parsed(base):
    del base["initial"]["psi"]
    base["initial"]["rho"] = RHO_HALF
    base["run"]["state"] = "mixed"
    cfg = cqjax.parse_config(base)
    np.testing.assert_allclose(np.asarray(cfg.initial.rho), [[0.5, 0.25 - 0.1j], [0.25 + 0.1j, 0.5]])
    assert cfg.initial.psi is None and cfg.state == "mixed" and cfg.run_kwargs()["state"] == "mixed"
    assert cfg.resolved["initial"]["rho"] == RHO_HALF


def test_engine_errors_name_the_argument_and_the_config_names_its_key(base):
    """One check, two vocabularies: a Python call names the argument (``dt``), the config layer
    reports the same check under its key (``run.dt``; ``master.dt`` in a master job)."""
    from cqjax.io.config import config_errors

    with pytest.raises(cqjax.InputError, match=r"^t1: 0\.105 is not a multiple of dt = 0\.01$") as info:
        cqjax.TimeGrid.make(0.105, 0.01, 1)
    assert info.value.field == "t1" and not isinstance(info.value, cqjax.ConfigError)
    with pytest.raises(cqjax.ConfigError, match=r"^run\.t1: 0\.105 is not a multiple of run\.dt = 0\.01$") as info:
        with config_errors("run"):
            cqjax.TimeGrid.make(0.105, 0.01, 1)
    assert info.value.field == "run.t1"
    with pytest.raises(cqjax.ConfigError, match=r"^master\.dt: must be"):
        with config_errors("master"):
            raise cqjax.InputError("dt", "must be > 0, got 0")
    with pytest.raises(cqjax.ConfigError, match=r"^model\.hamiltonian\(z\): not Hermitian$"):  # no key: as it is
        with config_errors("run"):
            raise cqjax.InputError("model.hamiltonian(z)", "not Hermitian")
    with pytest.raises(cqjax.SimulationError, match=r'^run\.nonfinite = "fail": .*; run\.nonfinite = "exclude"'):
        with config_errors("run"):
            raise cqjax.SimulationError('nonfinite = "fail": 3 became NaN; nonfinite = "exclude" takes the rest')
    raw = _set(base, "run.samples", 10**9)  # more samples than trajectories: the engine's check
    with pytest.raises(cqjax.ConfigError, match=r"^run\.samples: must be in 0\.\.run\.trajectories = "):
        cqjax.parse_config(raw)
