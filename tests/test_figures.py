"""Smoke test of scripts/figures.py (``make figures``, one module per figure in
scripts/paper_figures/) at --quick sizes: the PNGs are written with sane pixel sizes, the figures
report the numbers they annotate, and a figure whose model is missing is skipped. The physics the
figures draw lives in cqjax.analysis: closed forms, the trade-off rate and Bloch vectors are tested
in tests/test_exact.py, the validity measures and moment z-scores below."""

from __future__ import annotations

import importlib.util
import struct
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
        width, height = struct.unpack(">II", path.read_bytes()[16:24])
        assert width <= 4000 and height <= 4000, (name, width, height)
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


def test_validity_measures_vanish_where_healed_is_mean_field():
    from cqjax.analysis import seed000_validity_measures

    psi = np.array([np.cos(0.3), np.sin(0.3)], complex)
    rho = np.outer(psi, psi.conj())
    runs = {  # 2 states, 3 trajectories, 4 times; every healed trajectory on the mean-field one
        "p": np.broadcast_to(np.arange(4.0) + 1, (2, 3, 4)),
        "p_mf": np.broadcast_to(np.arange(4.0) + 1, (2, 4)),
        "rho": np.broadcast_to(rho, (2, 4, 2, 2)),
        "psi_mf": np.broadcast_to(2 * psi, (2, 4, 2)),  # normalised inside
    }
    m = seed000_validity_measures(runs, p0=0.0)
    for key in ("msd", "mean", "eps_c", "infidelity", "trace_distance"):
        assert np.allclose(m[key], 0.0, atol=1e-12), key
    runs["rho"] = np.broadcast_to(np.diag([np.cos(0.3) ** 2, np.sin(0.3) ** 2]).astype(complex), (2, 4, 2, 2))
    m = seed000_validity_measures(runs, p0=0.0)  # decohered: |rho_01| = sin(0.6)/2 lost
    assert np.allclose(m["trace_distance"], np.sin(0.6) / 2)
    assert np.allclose(m["infidelity"], 2 * np.cos(0.3) ** 2 * np.sin(0.3) ** 2)


def test_moment_z_scores():
    from cqjax.analysis import moment_z_scores

    x = np.random.default_rng(0).normal(1.0, 2.0, 40_000)
    mean_z, var_z = moment_z_scores(x, 1.0, 4.0)
    assert abs(mean_z) < 4 and abs(var_z) < 4
    mean_z, var_z = moment_z_scores(x, 1.1, 4.4)
    assert mean_z < -5 and var_z < -5
