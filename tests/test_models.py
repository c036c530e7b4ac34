"""Every shipped config runs, and every model has deterministic mean-field dynamics (seed 004 eqs. 13-14).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

import tomllib
from pathlib import Path

import numpy as np
import pytest

import cqjax
from cqjax import load_config
from cqjax.io.finite_config import FINITE_MODELS
from cqjax.spec.initial import MixtureState

# finite classical state spaces have their own runner and configs (tests/test_finite.py)
MODEL_OF = {
    p: tomllib.loads(p.read_text())["model"]
    for p in sorted(Path(__file__).resolve().parent.parent.joinpath("configs").glob("*.toml"))
}
CONFIGS = [p for p, model in MODEL_OF.items() if model not in FINITE_MODELS]
# the mean-field equations are the model's whatever its parameters: checked once per model, on its
# first config (alphabetically)
MEAN_FIELD = {min(p for p in CONFIGS if MODEL_OF[p] == model) for model in {MODEL_OF[p] for p in CONFIGS}}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_runs_and_every_model_has_deterministic_mean_field(path):
    steps = 4
    overrides = [
        f"run.t1={steps * 1e-3}",
        "run.dt=1e-3",
        f"run.n_saves={steps}",
        "run.trajectories=3",
        "run.precision='float64'",
        "run.samples=1",
    ]
    cfg = load_config(path, overrides)
    kwargs = cfg.run_kwargs()
    kwargs["histogram"] = None
    res = cqjax.run_ensemble(cfg.model, cfg.initial, **kwargs)
    assert all(np.all(np.isfinite(v)) for v in res.mean.values()) and res.nonfinite.max() == 0
    if path not in MEAN_FIELD:
        return
    kwargs["unravelling"] = cqjax.MeanField()
    first = cfg.initial.components[0] if isinstance(cfg.initial, MixtureState) else cfg.initial
    point = first if first.z_cov is None else cqjax.InitialState(z_mean=first.z_mean, psi=first.psi, rho=first.rho)
    mf = cqjax.run_ensemble(cfg.model, point, **kwargs)
    assert all(np.all(np.isfinite(v)) for v in mf.mean.values()) and mf.nonfinite.max() == 0
    assert max(np.abs(s).max() for s in mf.sem.values()) < 1e-10  # three identical deterministic trajectories
