"""Tests for cqjax.plot_results on synthetic results files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cqjax import plot_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FIGURES = {"phase_space.png", "bloch.png", "observables.png", "histogram.png"}


def _density(x: np.ndarray, t: np.ndarray, d: int) -> np.ndarray:
    """Smooth Hermitian density (T, b, d, d) built from Gaussians in x."""
    rho = np.zeros((t.size, x.size, d, d), dtype=complex)
    for a in range(d):
        centre = np.cos(t[:, None] + a)
        rho[:, :, a, a] = np.exp(-((x - centre) ** 2)) / (d * np.sqrt(np.pi))
    for a in range(d):
        for b in range(a + 1, d):
            coh = 0.5 * np.sqrt(rho[:, :, a, a].real * rho[:, :, b, b].real)
            rho[:, :, a, b] = coh * np.exp(1j * t[:, None])
            rho[:, :, b, a] = rho[:, :, a, b].conj()
    return rho


def _write_results(
    path: Path,
    *,
    coords: tuple[str, ...] = ("q", "p"),
    d: int = 2,
    k: int = 3,
    histogram: tuple[str, ...] = (),
    with_t: bool = True,
    with_meta: bool = True,
) -> Path:
    """Write a small synthetic cqjax results file and return its path."""
    rng = np.random.default_rng(0)
    n_times, n = 21, len(coords)
    t = np.linspace(0.0, 1.5 * np.pi, n_times)
    data: dict[str, np.ndarray] = {"coords": np.array(coords)}
    if with_t:
        data["t"] = t
    if with_meta:
        data["meta"] = np.array(json.dumps({"model": "toy", "config": {"dt": 0.1}}))
    for name, mean in {
        "q": np.cos(t),
        "p": -np.sin(t),
        "p*p": np.sin(t) ** 2,
        "sz": np.cos(2 * t),
        "purity": 1 - 0.1 * t / t[-1],
    }.items():
        data[f"{name}.mean"] = mean
        data[f"{name}.sem"] = 0.05 * (1 + 0.5 * np.abs(np.sin(t)))

    if k:
        m = n // 2
        phase = rng.uniform(0, 2 * np.pi, (k, 1, m))
        amp = rng.uniform(0.5, 1.5, (k, 1, m))
        q = amp * np.cos(t[None, :, None] + phase)
        p = -amp * np.sin(t[None, :, None] + phase)
        data["samples.z"] = np.concatenate([q, p], axis=-1)
        psi = rng.normal(size=(k, 1, d)) + 1j * rng.normal(size=(k, 1, d))
        energies = np.arange(d)
        psi = psi * np.exp(-1j * energies * t[None, :, None])
        data["samples.psi"] = 2.0 * psi  # deliberately unnormalised

    if histogram:
        edges = {c: np.linspace(-3.0, 3.0, 25 + 4 * i) for i, c in enumerate(histogram)}
        x = [0.5 * (e[1:] + e[:-1]) for e in edges.values()]
        rho = _density(x[0], t, d)
        if len(histogram) == 2:
            weight = np.exp(-(x[1] ** 2)) / np.sqrt(np.pi)
            rho = rho[:, :, None] * weight[None, None, :, None, None]
        data["histogram.density"] = rho
        data["histogram.sem"] = 0.02 * (np.abs(rho.real) + 1j * np.abs(rho.imag)) + 1e-3 * (1 + 1j)
        data["histogram.coords"] = np.array(histogram)
        for c, e in edges.items():
            data[f"histogram.edges.{c}"] = e
        data["histogram.outside"] = np.linspace(0.0, 0.01, n_times)

    np.savez(path, **data)
    return path


def _assert_pngs(written: list[Path], out_dir: Path, expected: set[str]) -> None:
    assert all(isinstance(p, Path) for p in written)
    assert {p.name for p in written} == expected
    assert {p.name for p in out_dir.iterdir()} == expected
    for p in written:
        assert p.parent == out_dir
        content = p.read_bytes()
        assert len(content) > len(PNG_SIGNATURE)
        assert content[:8] == PNG_SIGNATURE


def test_one_coordinate_histogram(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", histogram=("q",))
    out = tmp_path / "figs" / "nested"  # must be created
    written = plot_results(results, out)
    _assert_pngs(written, out, ALL_FIGURES)


def test_two_coordinate_histogram(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", coords=("x", "y", "z", "px", "py", "pz"), histogram=("x", "y"))
    written = plot_results(str(results), str(tmp_path / "figs"))
    _assert_pngs(written, tmp_path / "figs", ALL_FIGURES)


def test_no_samples_no_histogram_no_meta(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", k=0, with_meta=False)
    written = plot_results(results, tmp_path / "figs")
    _assert_pngs(written, tmp_path / "figs", {"observables.png"})


def test_no_bloch_sphere_unless_qubit(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", d=3, histogram=("q",))
    written = plot_results(results, tmp_path / "figs")
    _assert_pngs(written, tmp_path / "figs", ALL_FIGURES - {"bloch.png"})


def test_missing_times_raises(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", with_t=False)
    with pytest.raises(ValueError, match="'t'"):
        plot_results(results, tmp_path / "figs")
