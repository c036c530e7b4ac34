"""Smoke test of scripts/figures.py (``make figures``) at --quick sizes: the PNGs are written, the
figures report the numbers they annotate, and a figure whose model is missing is skipped. The
physics the figures draw (closed forms, the trade-off rate, Bloch vectors) is tested in
tests/test_exact.py against cqjax.analysis directly."""

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
        assert all(np.all(np.isfinite(v)) for v in info.values()), (name, info)

    # The numbers annotated on the figures are there, at the --quick sizes.
    info = made["ensemble_diosi"][1]
    assert info["trajectories"] == figures.QUICK.ensemble and info["kept"] == figures.QUICK.kept
    assert {"gamma", "sx_max_z", "sx_max_z_naive", "mean_z", "var_z", "final_sz_positive"} <= set(info)
    info = made["validity_seed000"][1]
    assert info["states"] == figures.QUICK.thetas and info["trajectories_per_state"] == figures.QUICK.validity
    assert {"msd_max_z", "mean_max_z"} <= set(info)
    assert made["fig2_diosi"][1]["samples"] == figures.QUICK.samples
    assert made["fig2_diosi"][1]["max_norm_error"] < 1e-5


def test_missing_model_is_skipped(figures, tmp_path, monkeypatch):
    monkeypatch.delitem(figures.MODELS, "sqrt_well", raising=False)
    lines = []
    made = figures.make(["fig6_sqrt_well"], tmp_path, quick=True, log=lines.append)
    assert made["fig6_sqrt_well"][0] is None
    assert "skipped: model sqrt_well not available yet" in lines[0]
    assert not (tmp_path / "fig6_sqrt_well.png").exists()
