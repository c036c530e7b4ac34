"""The CLI conventions of the front door: ``--version``, ``cqjax models``, ``cqjax init MODEL``
(a template that runs as written), integral floats for integer keys, and model files resolved
from the config file's folder (with the README's "Adding a model" example, public names only)."""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from pathlib import Path

import pytest

import cqjax
from cqjax.cli import main
from cqjax.io.config import load_config, parse_config
from cqjax.models import MODELS

README = Path(__file__).resolve().parents[1] / "README.md"


def _cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as stop:  # argparse's --version
            rc = stop.code
    return rc, out.getvalue(), err.getvalue()


def test_version():
    rc, out, _ = _cli("--version")
    assert rc == 0 and out.strip() == f"cqjax {cqjax.__version__}"


def test_models_lists_every_registered_model():
    rc, out, err = _cli("models")
    assert rc == 0, err
    for name, cls in MODELS.items():
        first = cls.__doc__.strip().splitlines()[0]
        assert f"{name} ({cls.__module__}.{cls.__qualname__}): {first}" in out
    assert "coordinates: q, p; d = 2" in out and "parameters: m = 1.0, lam = 1.0, phi = 2.0, sigma = 1.0" in out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_init_template_is_a_valid_config(name):
    rc, out, err = _cli("init", name)
    assert rc == 0, err
    cfg = parse_config(tomllib.loads(out))
    assert cfg.resolved["model"] == name and cfg.trajectories == 1000


def test_init_then_run_as_written(tmp_path):
    rc, out, err = _cli("init", "diosi")
    (tmp_path / "diosi.toml").write_text(out)
    rc, out, err = _cli("run", str(tmp_path / "diosi.toml"), "--out", str(tmp_path / "r.npz"), "--no-progress")
    assert rc == 0, err
    assert cqjax.load(tmp_path / "r.npz").trajectories == 1000


def test_init_unknown_model_exits_2():
    rc, _, err = _cli("init", "nosuchmodel")
    assert rc == 2 and err.strip().startswith("cqjax: error: init: unknown model 'nosuchmodel'")


def test_integral_floats_for_integer_keys():
    raw = tomllib.loads(_cli("init", "ghz_lattice")[1])
    raw["run"].update(trajectories=1e5, n_saves=10.0, samples=2.0)
    raw["params"]["n"] = 3.0
    raw["initial"]["z_mean"] = [0.0] * 6  # three qubits: (phi_i, pi_i)
    cfg = parse_config(raw)
    assert (cfg.trajectories, cfg.n_saves, cfg.samples, cfg.model.n) == (100000, 10, 2, 3)
    assert all(type(v) is int for v in (cfg.trajectories, cfg.n_saves, cfg.samples, cfg.model.n))
    for key, value in [("run.trajectories", 1.5e3 + 0.5), ("params.n", 3.5)]:
        section, k = key.split(".")
        bad = tomllib.loads(_cli("init", "ghz_lattice")[1])
        bad[section][k] = value
        with pytest.raises(cqjax.ConfigError, match=re.escape(f"{key}: expected an integer")):
            parse_config(bad)


def _readme_model() -> str:
    """The Python block of the README's "Adding a model" section."""
    section = README.read_text().split("## Adding a model", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_model_file_resolved_from_the_config_folder(tmp_path, monkeypatch):
    code = _readme_model()
    assert "cqjax._" not in code and "from cqjax.operators import" in code  # public names only
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "qubit1d.py").write_text(code)
    text = _cli("init", "diosi")[1].replace('model = "diosi"', 'model = "qubit1d.py:Qubit1D"')
    text = text.split("[params]")[0] + "[run]" + text.split("[run]", 1)[1]  # the model's own defaults
    (folder / "run.toml").write_text(text)
    monkeypatch.chdir(tmp_path)  # not the config's folder
    cfg = load_config("project/run.toml")
    assert type(cfg.model).__name__ == "Qubit1D" and cfg.model.g == 0.5
    with pytest.raises(cqjax.ConfigError, match="project/nowhere.py"):
        load_config("project/run.toml", ["model=nowhere.py:Qubit1D"])
