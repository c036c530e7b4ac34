"""The front door (``cqjax.run``, ``cqjax.master``, ``cqjax.compare``, ``cqjax.load``): the same
numbers as the config path, inputs from QuTiP-like objects, results as objects (save/load, xarray,
plot), the compile cache and sweeps. Runs share the shapes of the CLI tests (500 trajectories, 20
steps, 4 saves: tests/helpers.py) so the chunk kernel compiles once per session."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest
from helpers import OBSERVABLES, config_dict

import cqjax
from cqjax.io.config import parse_config
from cqjax.operators import pauli_string, sigmax, sigmaz

PLUS = np.array([1.0, 1.0]) / np.sqrt(2)
RUN = dict(t1=0.2, dt=0.01, n_saves=4, trajectories=500, seed=7, samples=3, progress=False)
HIST = {"p": (-3.0, 3.0, 12)}
MASTER = dict(t1=0.2, n_saves=4, cells=(16, 16), extent={"q": (-1.0, 1.0), "p": (-3.0, 3.0)}, progress=False)


class FakeQobj:
    """What the front door uses of a QuTiP ``Qobj``: ``.full()``, a (d, 1) ket or a (d, d) matrix."""

    def __init__(self, data):
        self.data = np.asarray(data, complex)

    def full(self):
        return self.data


class ArrayOnly:
    """An object with only ``__array__`` (a dynamiqs/JAX-like array)."""

    def __init__(self, data):
        self.data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


class CompileCounter:
    """Counts XLA compilations (JAX's backend-compile events) while active."""

    def __init__(self):
        from jax._src import monitoring

        self.count, self.active = 0, False
        monitoring.register_event_duration_secs_listener(self._event)

    def _event(self, event, duration, **kwargs):
        if self.active and event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


@pytest.fixture(scope="module")
def counter():
    return CompileCounter()


@pytest.fixture(scope="module")
def config_run():
    cfg = parse_config(config_dict())
    return cqjax.run_ensemble(cfg.model, cfg.initial, **cfg.run_kwargs())


@pytest.fixture(scope="module")
def front():
    ket = FakeQobj(PLUS[:, None])  # a QuTiP ket is (d, 1)
    return cqjax.run(cqjax.Diosi(), ket, [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **RUN)


@pytest.fixture(scope="module")
def master():
    obs = {"p": "p", "sz": "sz", "X": FakeQobj(np.asarray(sigmax()))}
    return cqjax.master(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=obs, histogram=HIST, **MASTER)


def _same(a, b):
    """Equal dataclass fields: arrays exactly, dicts of arrays key by key."""
    for f in dataclasses.fields(b):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("compile_seconds", "run_seconds", "meta", "info"):
            continue
        if isinstance(x, dict):
            assert x.keys() == y.keys(), f.name
            for k in x:
                np.testing.assert_array_equal(np.asarray(x[k]), np.asarray(y[k]), err_msg=f"{f.name}[{k}]")
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


def test_front_door_gives_the_config_path_numbers(front, config_run):
    assert isinstance(front, cqjax.Ensemble) and isinstance(front, cqjax.EnsembleResult)
    _same(front, config_run)


def test_array_state_and_compile_cache(front, counter):
    """The same shapes again (a state given by __array__, other parameter values): no compilation."""
    counter.active = True
    try:
        again = cqjax.run(
            cqjax.Diosi(lam=1.0), ArrayOnly(PLUS), [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **RUN
        )
        other = cqjax.run(
            cqjax.Diosi(lam=0.5), ArrayOnly(PLUS), [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **RUN
        )
    finally:
        counter.active = False
    assert counter.count == 0
    _same(again, front)
    assert not np.array_equal(other.mean["p"], front.mean["p"])


def test_sweep_is_one_vmapped_job_compiled_once(front, counter):
    """A sweep compiles its vmapped kernel once (a second sweep of other values compiles nothing),
    and each point gives the single run's statistics, to the rounding of a batched kernel."""
    run = lambda lams: cqjax.run(  # noqa: E731
        cqjax.Diosi(), PLUS, [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, params={"lam": lams}, **RUN
    )
    sweep = run([0.5, 1.0])
    counter.active = True
    try:
        again = run([0.7, 1.3])
    finally:
        counter.active = False
    assert counter.count == 0 and len(sweep) == 2 and len(again) == 2
    assert sweep[1].info["sweep_points"] == 2 and sweep[0].meta["config"]["params"]["lam"] == 0.5
    single = cqjax.run(cqjax.Diosi(lam=0.5), PLUS, [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **RUN)
    for point, alone in ((sweep[1], front), (sweep[0], single)):
        for k in alone.mean:
            np.testing.assert_allclose(point.mean[k], alone.mean[k], rtol=1e-5, atol=1e-6, err_msg=k)
            np.testing.assert_allclose(point.sem[k], alone.sem[k], rtol=1e-4, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(point.histogram["density"], alone.histogram["density"], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(point.counted, alone.counted)
    assert not np.allclose(sweep[0].mean["p*sz"], sweep[1].mean["p*sz"])
    with pytest.raises(ValueError, match="params.nope"):
        cqjax.run(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=["p"], params={"nope": [1.0]}, **RUN)
    with pytest.raises(ValueError, match="params: every parameter needs the same number"):
        cqjax.run(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=["p"], params={"lam": [1.0], "sigma": [1, 2]}, **RUN)


def test_sweep_refuses_points_with_different_dynamics():
    """Points that need different state representations (pure below saturation, mixed above) are
    refused, not run with one of them."""
    with pytest.raises(ValueError, match="params: the sweep's points need different dynamics"):
        cqjax.run(cqjax.Seed000(), PLUS, [0.0, 0.0], observables=["p"], params={"gamma_q": [0.125, 1.0]}, **RUN)


def test_operator_and_function_observables(front):
    """sz as a name, a matrix, a Pauli string and a function f(z, rho): the same numbers."""
    obs = {"sz": "sz", "Z": sigmaz(), "Zs": pauli_string("Z"), "fz": lambda z, rho: rho[0, 0] - rho[1, 1]}
    res = cqjax.run(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=obs, **RUN)
    np.testing.assert_array_equal(res.mean["sz"], front.mean["sz"])
    for name in ("Z", "Zs", "fz"):
        np.testing.assert_allclose(res.mean[name], res.mean["sz"], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(res.sem[name], res.sem["sz"], atol=1e-6, err_msg=name)


def test_inputs_refused_with_the_field():
    d = cqjax.Diosi()
    for kwargs, field in [
        (dict(state0=np.ones(3), z0=[0.0, 0.0]), "state0"),
        (dict(state0=np.array([[1.0, 1.0], [0.0, 0.0]]), z0=[0.0, 0.0]), "state0"),  # not Hermitian
        (dict(state0=PLUS, z0=[0.0]), "z0"),
        (dict(state0=PLUS, z0=([0.0, 0.0], [[1.0, 2.0], [0.0, 1.0]])), "z0"),  # covariance not symmetric
        (dict(state0=PLUS, z0=[0.0, 0.0], observables=[np.eye(3)]), "observables"),
        (dict(state0=PLUS, z0=[0.0, 0.0], tsave=[0.0, 0.1, 0.3]), "tsave"),
    ]:
        kw = dict(observables=["p"], t1=0.2, dt=0.01, trajectories=10) | kwargs
        if "tsave" in kwargs:
            kw.pop("t1")
        with pytest.raises(ValueError, match=field):
            cqjax.run(d, **kw)
    with pytest.raises(ValueError, match="trajectories only"):
        cqjax.master(d, PLUS, [0.0, 0.0], observables=[lambda z, rho: z[0]], t1=0.2)


def test_density_matrix_and_gaussian_inputs():
    from cqjax.front._inputs import initial_state

    rho = np.outer(PLUS, PLUS)
    init = initial_state(cqjax.Diosi(), FakeQobj(2 * rho), ([1.0, 0.0], np.eye(2)))
    np.testing.assert_allclose(np.asarray(init.rho), rho)  # normalised to trace one
    np.testing.assert_allclose(np.asarray(init.z_cov), np.eye(2))
    assert init.psi is None


def test_tsave_is_t1_and_n_saves(front):
    res = cqjax.run(
        cqjax.Diosi(),
        PLUS,
        [0.0, 0.0],
        observables=OBSERVABLES,
        histogram=HIST,
        tsave=np.linspace(0, 0.2, 5),
        **{k: v for k, v in RUN.items() if k not in ("t1", "n_saves")},
    )
    _same(res, front)


def test_ensemble_save_load_round_trip(front, tmp_path):
    path = front.save(tmp_path / "run.npz")
    back = cqjax.load(path)
    assert type(back) is cqjax.Ensemble
    _same(back, front)
    assert back.info == front.info
    assert (back.compile_seconds, back.run_seconds) == (front.compile_seconds, front.run_seconds)
    again = cqjax.load(back.save(tmp_path / "again.npz"))
    _same(again, front)


def test_master_front_door_and_round_trip(master, tmp_path):
    cfg = parse_config(config_dict(observables={"names": ["p", "sz", "sx"]}))
    ref = cqjax.solve_master(cfg.model, cfg.initial, **(cfg.master_kwargs() | MASTER))
    np.testing.assert_array_equal(master.mean["p"], ref.mean["p"])
    np.testing.assert_array_equal(master.mean["X"], ref.mean["sx"])
    np.testing.assert_array_equal(master.err["X"], ref.err["sx"])
    back = cqjax.load(master.save(tmp_path / "master.npz"))
    assert type(back) is cqjax.Master and back.grid == master.grid
    assert back.info == master.info and back.completely_positive == master.completely_positive
    np.testing.assert_allclose(back.masses, master.masses, rtol=1e-6, atol=1e-7)  # stored in complex64
    for f in ("t", "min_eig", "trace", "lost", "lost_sides"):
        np.testing.assert_array_equal(getattr(back, f), getattr(master, f), err_msg=f)
    for k in master.mean:
        np.testing.assert_array_equal(back.mean[k], master.mean[k])
        np.testing.assert_array_equal(back.err[k], master.err[k])
    assert (back.steps, back.dt) == (master.steps, master.dt)


def test_compare_in_memory_equals_compare_of_files(front, master, tmp_path):
    in_memory = cqjax.compare(front, master, figure=tmp_path / "compare.png")
    files = cqjax.compare_results(
        cqjax.load_results(front.save(tmp_path / "r.npz")), cqjax.load_results(master.save(tmp_path / "m.npz"))
    )
    assert in_memory.agree, in_memory.report()
    assert in_memory.report() == files.report()
    np.testing.assert_array_equal(in_memory.z["p"], files.z["p"])
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_to_xarray(front, master):
    pytest.importorskip("xarray")
    ds = front.to_xarray()
    assert ds["mean"].dims == ("observable", "t") and list(ds["observable"].values) == list(front.mean)
    np.testing.assert_array_equal(ds["mean"].sel(observable="p").values, front.mean["p"])
    np.testing.assert_array_equal(ds["t"].values, front.t)
    assert ds["density"].dims == ("t", "p", "row", "col") and ds["p"].size == 12
    np.testing.assert_allclose(ds["p"].values, np.linspace(-2.75, 2.75, 12))
    assert ds["samples_z"].dims == ("sample", "t", "coord") and list(ds["coord"].values) == ["q", "p"]
    mds = master.to_xarray()
    assert mds["density"].dims == ("density_t", "q", "p", "row", "col") and mds["q"].size == 16
    np.testing.assert_array_equal(mds["density_t"], master.density_t)
    np.testing.assert_array_equal(mds["err"].sel(observable="X").values, master.err["X"])
    assert mds["histogram_density"].dims == ("t", "p_bin", "row", "col")


def test_plot_writes_the_figures(front, tmp_path):
    paths = front.plot(tmp_path / "figs")
    assert {p.name for p in paths} >= {"observables.png", "histogram.png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_public_operators():
    from cqjax import operators as ops

    np.testing.assert_array_equal(np.asarray(ops.tensor(ops.sigmaz(), ops.identity(2))), np.diag([1, 1, -1, -1]))
    np.testing.assert_array_equal(np.asarray(ops.pauli_string("ZX")), np.kron(np.diag([1, -1]), [[0, 1], [1, 0]]))
    np.testing.assert_array_equal(np.asarray(ops.tensor(ops.basis(2, 1), ops.basis(2, 0))), [0, 0, 1, 0])
    np.testing.assert_array_equal(np.asarray(ops.sigmax() @ ops.sigmay()), 1j * np.asarray(ops.sigmaz()))  # XY = iZ
    np.testing.assert_array_equal(np.asarray(ops.dag(ops.sigmay())), np.asarray(ops.sigmay()))
    with pytest.raises(ValueError, match="basis"):
        ops.basis(2, 2)
    assert jax.numpy.asarray(ops.sigmaz()).dtype == jax.numpy.complex128  # x64 on in the tests


def test_progress_moves_within_a_chunk(front, monkeypatch):
    """With a bar and a long chunk the kernel (one of its own) ticks after save blocks (at most 8
    per chunk), not once per chunk; the ticks add up to the trajectories; the numbers are those
    without a bar. A short chunk (the default threshold) moves the bar once, by the chunk."""
    import tqdm.auto

    updates = []

    class Bar:
        def __init__(self, total, initial, **kwargs):
            self.n = initial

        def update(self, x):
            updates.append(x)
            self.n += x

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    monkeypatch.setattr("cqjax.ensemble._progress.TICK_WORK", 1)  # this short chunk ticks too
    shown = cqjax.run(
        cqjax.Diosi(), PLUS, [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **(RUN | {"progress": True})
    )
    assert updates == [125.0] * 4  # one chunk of 500 trajectories, 4 save blocks
    _same(shown, front)
    monkeypatch.undo()
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    updates.clear()
    cqjax.run(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=OBSERVABLES, histogram=HIST, **(RUN | {"progress": True}))
    assert updates == [500]
