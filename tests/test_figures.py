"""Smoke test of scripts/figures.py (``make figures``) at --quick sizes: the PNGs are written and
the numbers behind them are right (the ensemble's decoherence against the trade-off rate, the
final momentum against the exact two-branch mixture, the seed-000 validity map's classical
distance against its exact value)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("cqjax_figures_script", ROOT / "scripts" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_figures(figures, tmp_path):
    names = ["fig2_diosi", "ensemble_diosi", "validity_seed000"]
    made = figures.make(names, tmp_path, quick=True, log=lambda line: None)
    for name in names:
        path, info, _ = made[name]
        assert path == tmp_path / f"{name}.png" and path.read_bytes()[:8] == PNG, name

    info = made["ensemble_diosi"][1]
    n = info["trajectories"]
    # Trade-off rate from the generic formula: Gamma = |dF|^2 / (8 sigma^2) = 2 lam^2 / sigma^2 = 2.
    assert np.allclose(info["gamma"], 2.0, rtol=1e-5)
    # E<sx>(t) = exp(-Gamma t - (2/5) lam^2 sigma^2 t^5 / m^2) <sx>_mf(t) within 5 SE at every save ...
    assert info["sx_max_z"] < 5, info
    # ... and the check has power: without the phase-diffusion factor it fails.
    assert info["sx_max_z_naive"] > 5, info
    # Final p: mean and variance of the exact mixture of the branches; Born weights 1/2.
    assert abs(info["mean_z"]) < 5 and abs(info["var_z"]) < 5, info
    assert abs(info["final_sz_positive"] - 0.5) < 5 * np.sqrt(0.25 / info["kept"]), info
    assert n == figures.QUICK.ensemble

    info = made["validity_seed000"][1]
    # E[(p_healed - p_mf)^2] = 2 gamma_C tau + lam^2 tau^2 sin^2 theta, E[p_healed] = p_mf.
    assert info["msd_max_z"] < 5 and info["mean_max_z"] < 5, info
    assert made["fig2_diosi"][1]["max_norm_error"] < 1e-5


def test_missing_model_is_skipped(figures, tmp_path, monkeypatch):
    monkeypatch.delitem(figures.MODELS, "sqrt_well", raising=False)
    lines = []
    made = figures.make(["fig6_sqrt_well"], tmp_path, quick=True, log=lines.append)
    assert made["fig6_sqrt_well"][0] is None
    assert "skipped: model sqrt_well not available yet" in lines[0]
    assert not (tmp_path / "fig6_sqrt_well.png").exists()
