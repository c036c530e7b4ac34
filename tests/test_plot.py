"""Tests of cqjax.plot on synthetic results files of every shipped kind (cheap: no engine runs):
the files written, every PNG's pixel size, layouts that stay bounded for many observables and large
d, the rounding floor, plain axes near 1, the master's error band, jumps drawn as jumps, and
``cqjax plot`` of a GHZ-shaped (n = 5, d = 32) results file in seconds."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import cqjax.plot as cplot
from cqjax import plot_results
from cqjax.cli import main as cli_main

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
    n_times: int = 21,
    extra_observables: int = 0,
    mixed: bool = False,
) -> Path:
    """Write a small synthetic cqjax results file and return its path (``extra_observables`` more
    names o0, o1, ...; ``mixed``: density-matrix samples ``samples.rho``)."""
    rng = np.random.default_rng(0)
    n = len(coords)
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
        **{f"o{i}": np.cos(t + i) for i in range(extra_observables)},
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
        if mixed:
            psi = psi / np.linalg.norm(psi, axis=-1, keepdims=True)
            data["samples.rho"] = 0.8 * psi[..., :, None] * psi[..., None, :].conj() + 0.1 * np.eye(d)
        else:
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


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, path
    return struct.unpack(">II", head[16:24])


MAX_PIXELS = 4000  # each side of every PNG


def _ghz_like(path: Path) -> Path:
    """A results file shaped like ``cqjax run configs/ghz_fig4.toml`` (n = 5 qubits: d = 32, ten
    coordinates, 13 observables, a 40-bin histogram over pi_1, 61 saved times, 4 samples)."""
    coords = tuple(f"phi_{i}" for i in range(1, 6)) + tuple(f"pi_{i}" for i in range(1, 6))
    return _write_results(path, coords=coords, d=32, k=4, histogram=("pi_1",), n_times=61, extra_observables=8)


KINDS = {  # the kinds of results cqjax writes, small
    "diosi_1d_histogram": dict(histogram=("q",)),  # pure qubit samples, a 1-D histogram
    "mixed_2d_histogram": dict(coords=("x", "y", "z", "px", "py", "pz"), histogram=("x", "y"), mixed=True),
    "qutrit_no_meta": dict(d=3, with_meta=False),  # no Bloch sphere for d = 3
    "many_observables": dict(k=0, extra_observables=30),  # observables only, more than a figure shows
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[Path]]:
    """The figures of every kind, written once for the tests below."""
    root = tmp_path_factory.mktemp("plots")
    out = {}
    for kind, kw in KINDS.items():
        out[kind] = plot_results(_write_results(root / f"{kind}.npz", **kw), root / kind)
    return out


def test_files_written_per_kind(written) -> None:
    expected = {
        "diosi_1d_histogram": ALL_FIGURES,
        "mixed_2d_histogram": ALL_FIGURES,
        "qutrit_no_meta": {"phase_space.png", "observables.png"},
        "many_observables": {"observables.png"},
    }
    for kind, names in expected.items():
        _assert_pngs(written[kind], written[kind][0].parent, names)


def test_every_png_has_a_sane_pixel_size(written) -> None:
    for kind, paths in written.items():
        for path in paths:
            width, height = _png_size(path)
            assert 200 <= width <= MAX_PIXELS and 150 <= height <= MAX_PIXELS, (kind, path.name, width, height)


def test_cqjax_plot_of_ghz_results_takes_seconds_and_stays_small(tmp_path, capsys) -> None:
    results = _ghz_like(tmp_path / "ghz.npz")
    start = time.perf_counter()
    assert cli_main(["plot", str(results), "--out", str(tmp_path / "figs")]) == 0
    seconds = time.perf_counter() - start
    names = {Path(line).name for line in capsys.readouterr().out.split()}
    assert names == {"phase_space.png", "observables.png", "histogram.png"}  # d = 32: no Bloch sphere
    for name in names:
        width, height = _png_size(tmp_path / "figs" / name)
        assert width <= MAX_PIXELS and height <= MAX_PIXELS, (name, width, height)
    assert seconds < 30, seconds  # 148 s before (528 histogram panels in one row); ~3 s unloaded


def test_large_d_draws_the_largest_elements_only() -> None:
    t = np.linspace(0, 1, 5)
    x = np.linspace(-2, 2, 40)
    rho = np.zeros((5, 40, 32, 32), complex)
    bump = np.exp(-(x**2))
    rho[:, :, 0, 0] = rho[:, :, 31, 31] = 0.5 * bump
    rho[:, :, 0, 31] = rho[:, :, 31, 0] = 0.4 * bump * np.exp(-t[:, None])
    rho[:, :, 3, 3] = 1e-3 * bump  # small but present
    chosen = cplot.histogram.select_elements(rho, np.full(40, 0.1))
    assert chosen == [(0, 0), (3, 3), (31, 31), (0, 31)]  # zero-weight elements left out
    assert cplot.histogram.select_elements(rho[..., :2, :2], np.full(40, 0.1)) == [(0, 0), (1, 1), (0, 1)]


def test_histogram_title_names_every_time_drawn(tmp_path) -> None:
    data = cqjax_load(_write_results(tmp_path / "r.npz", histogram=("q",)))
    fig = cplot.histogram_figure(data)
    title = fig._suptitle.get_text()
    for j in cplot.histogram.time_indices(data["t"].size):
        assert f"{data['t'][j]:.3g}" in title
    assert "band: ±2 SE at t = 4.71" in title


def cqjax_load(path: Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_rounding_noise_near_1_is_drawn_flat_without_offset(tmp_path) -> None:
    t = np.linspace(0, 1, 11)
    noise = 1e-8 * np.random.default_rng(1).normal(size=t.size)
    data = {"t": t, "purity.mean": 1 + noise, "purity.sem": np.full(11, 1e-9), "sy.mean": noise, "p.mean": t}
    fig = cplot.observables_figure(data)
    FigureCanvasAgg(fig).draw()
    purity, sy, p = fig.axes[:3]
    floor = cplot._style.rounding_floor({})
    for ax in (purity, sy):
        lo, hi = ax.get_ylim()
        assert hi - lo == pytest.approx(2 * floor, rel=1e-3)  # the floor, not the noise
        assert any("axis floor" in text.get_text() for text in ax.texts)
        assert "+" not in ax.yaxis.get_major_formatter().get_offset()  # no additive offset
    assert purity.yaxis.get_major_formatter().get_offset() == ""  # 1.000000, not "+1" over 1e-8
    assert not p.texts  # a quantity that moves keeps its own range
    assert p.get_ylim()[1] - p.get_ylim()[0] > 0.5


def test_master_error_band_and_line_above_the_ensemble(tmp_path) -> None:
    from cqjax.analysis.compare import compare_results

    t = np.linspace(0, 1, 6)
    names = [f"o{i}" for i in range(7)]
    run = {"t": t, "meta": {}}
    master = {"t": t, "meta": {}, "min_eig": np.zeros(6), "lost": np.zeros(6)}
    for i, name in enumerate(names):
        run[f"{name}.mean"], run[f"{name}.sem"] = np.cos(t + i) + 0.01, np.full(6, 0.02)
        master[f"{name}.mean"], master[f"{name}.err"] = np.cos(t + i), np.full(6, 0.01)
    fig = cplot.comparison_figure(run, master, compare_results(run, master))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 7 and fig.axes[0].get_gridspec().ncols == 4  # a grid, not one row of 7
    ax = visible[0]
    labels = {artist.get_label(): artist for artist in ax.get_children()}
    assert "master ± err" in labels and "ensemble ± 2 SE" in labels
    assert labels["master"].get_zorder() > labels["ensemble ± 2 SE"].get_zorder()
    assert ax.get_ylabel() == "<o0>"


def test_jumps_are_drawn_as_jumps_not_chords() -> None:
    from matplotlib.figure import Figure

    t = np.linspace(0, 1, 50)
    theta = np.where(t < 0.5, np.pi / 2 + 0.05 * np.sin(20 * t), 0.0)  # |+> wobbling, then a jump to |0>
    r = np.stack([np.sin(theta), np.zeros_like(t), np.cos(theta)], axis=-1)
    ax = Figure().add_subplot(projection="3d")
    assert cplot.draw_bloch_path(ax, r, "C0") == 1
    for line in ax.lines:
        x, y, z = line.get_data_3d()
        steps = np.linalg.norm(np.diff(np.stack([x, y, z], -1), axis=0), axis=-1)
        assert steps.size == 0 or steps.max() < 0.2  # no chord through the ball


def test_conserved_coordinate_is_drawn_against_t(tmp_path) -> None:
    t = np.linspace(0, 1, 11)
    z = np.zeros((2, 11, 2))
    z[..., 0] = [[0.3], [-0.2]]  # q conserved
    z[..., 1] = np.sin(t)[None] * [[1.0], [2.0]]
    fig = cplot.phase_space_figure({"t": t, "coords": np.array(["q", "p"]), "samples.z": z})
    assert fig.axes[0].get_xlabel() == "t" and "q is conserved" in fig.axes[0].get_title()


def test_result_objects_and_backend_untouched(tmp_path) -> None:
    import matplotlib

    backend = matplotlib.get_backend()

    class Result:  # the attributes of EnsembleResult that plotting reads
        t = np.linspace(0, 1, 5)
        mean = {"p": np.linspace(0, 1, 5)}
        sem = {"p": np.full(5, 0.1)}
        coords = ("q", "p")
        samples_z = np.zeros((0, 5, 2))
        samples_psi = np.zeros((0, 5, 2), complex)
        histogram = None

    figures = cplot.results_figures(Result())
    assert list(figures) == ["observables.png"]
    assert matplotlib.get_backend() == backend


def test_missing_times_raises(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "res.npz", with_t=False)
    with pytest.raises(ValueError, match="'t'"):
        plot_results(results, tmp_path / "figs")
