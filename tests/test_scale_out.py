"""Scale-out: the mergeable accumulator, sharding over devices, many processes, checkpoints and
interruption, keys beyond 2^32, memory refused before allocating.

Equality claims are in float64 and to 1e-12 relative: trajectory i's keys depend on i alone, so
only the order of the floating-point sums changes with the chunking, the devices or the processes.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import config_dict, qubit, toml_text

import cqjax
from cqjax.cli import main
from cqjax.ensemble import _accumulator as accumulator
from cqjax.ensemble import _devices, _keys

ROOT = Path(__file__).resolve().parents[1]
OBS = ("q", "p", "sz", "sx")


def _close(a: dict, b: dict, keys, rtol=1e-12, atol=1e-15):
    for k in keys:
        np.testing.assert_allclose(np.asarray(a[k]), np.asarray(b[k]), rtol=rtol, atol=atol, err_msg=k)


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


# ----- the accumulator -----------------------------------------------------------------------------


def _fake_record(rng, n, t=3, k=2, s=2):
    """A chunk record of n trajectories with known values: returns (record, values (n, t, k))."""
    values = rng.normal(size=(n, t, k)) * 3 + 1
    mean = values.mean(axis=0)
    return dict(
        count=np.full(t, float(n)),
        mean=mean,
        m2=((values - mean) ** 2).sum(axis=0),
        nonfinite=np.zeros(t),
        z=rng.normal(size=(t, min(s, n), 2)),
        psi=rng.normal(size=(t, min(s, n), 2)).astype(np.complex64),
    ), values


def test_accumulator_merge_is_the_statistics_of_the_union_in_any_order():
    rng = np.random.default_rng(0)
    parts = [_fake_record(rng, n) for n in (5, 1, 17, 9)]
    starts = np.cumsum([0] + [5, 1, 17])
    accs = [accumulator.from_record(r, int(s), int(r["count"][0])) for (r, _), s in zip(parts, starts)]
    everything = np.concatenate([v for _, v in parts])
    forward = accumulator.init(parts[0][0], 3)
    for a in accs:
        forward = accumulator.merge(forward, a)
    tree = accumulator.merge(accumulator.merge(accs[3], accs[1]), accumulator.merge(accs[2], accs[0]))
    for acc, first in ((forward, [0, 1, 5]), (tree, [0, 1])):  # tree: 2 slots (no init with 3)
        assert int(acc.done) == 32
        np.testing.assert_allclose(acc.mean, everything.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(acc.m2 / 31, everything.var(axis=0, ddof=1), rtol=1e-12)
        np.testing.assert_array_equal(acc.sample_index, first)  # the first trajectories whole
    np.testing.assert_array_equal(forward.sample_z[:, 2], parts[1][0]["z"][:, 0])
    back = accumulator.from_arrays(accumulator.to_arrays(forward))
    for x, y in zip(back, forward):
        np.testing.assert_array_equal(x, y)


# ----- keys beyond 2^32 ------------------------------------------------------------------------------


def test_keys_at_and_beyond_2_32_are_new_and_small_indices_keep_their_keys():
    key = jax.random.key(0)
    data = lambda k: np.asarray(jax.random.key_data(k))
    assert (data(cqjax.trajectory_key(key, 5)) == data(jax.random.fold_in(key, 5))).all()
    for i in (0, 1, 2**31):
        assert not (data(cqjax.trajectory_key(key, 2**32 + i)) == data(cqjax.trajectory_key(key, i))).all()
    # a chunk starting just below 2^32 carries into the high word
    hi, lo = _keys.index_words(np.uint32(0), np.uint32(2**32 - 2), jnp.arange(4, dtype=jnp.int32))
    np.testing.assert_array_equal(hi, [0, 0, 1, 1])
    np.testing.assert_array_equal(lo, [2**32 - 2, 2**32 - 1, 0, 1])
    with pytest.raises(ValueError, match="2\\^62"):
        cqjax.trajectory_key(key, 2**62)


def test_chunks_starting_at_0_and_at_2_32_differ():
    from cqjax.ensemble._kernel import chunk_kernel

    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=jnp.eye(2), psi=qubit(0.5))
    grid = cqjax.TimeGrid.make(0.1, 0.05, 1)
    obs = [cqjax.parse_observable("q", model)]
    kernel = jax.jit(
        lambda hi, lo: chunk_kernel(
            model,
            obs,
            init,
            jax.random.key(0),
            hi,
            lo,
            jnp.arange(8, dtype=jnp.int32),
            8,
            grid=grid,
            unravelling=cqjax.Healed(),
            solver=cqjax.Kraus(),
            dtype=jnp.float32,
            n_samples=8,
            hist=None,
            hist_idx=(),
            mixed=False,
            pure=True,
        )
    )
    z_low = np.asarray(kernel(np.uint32(0), np.uint32(0))["z"][0])
    z_high = np.asarray(kernel(np.uint32(1), np.uint32(0))["z"][0])
    assert np.all(np.abs(z_low - z_high).sum(axis=-1) > 0)  # every trajectory's initial point differs


# ----- memory --------------------------------------------------------------------------------------------


def test_chunk_from_memory():
    # 1 KiB per trajectory, 1 GiB free: half of it holds 2^19 trajectories per device
    assert _devices.chunk_from_memory(1024, 2**30, 1, 10**9) == 2**19
    assert _devices.chunk_from_memory(1024, 2**30, 8, 10**9) == 8 * 2**19
    assert _devices.chunk_from_memory(1.0, 2**40, 2, 10**12) == 2 * _devices.CHUNK_CAP
    assert _devices.chunk_from_memory(1024, 2**30, 4, 1000) == 4 * 256  # no more than the run needs
    assert _devices.chunk_from_memory(2**40, 2**30, 2, 1000) == 2  # at least one per device


def test_oversized_histogram_is_refused_before_allocating(tmp_path, capsys):
    raw = config_dict(histogram={"coords": ["q", "p"], "bins": [[-1.0, 1.0, 100000], [-1.0, 1.0, 100000]]})
    cfg = tmp_path / "h.toml"
    cfg.write_text(toml_text(raw))
    t0 = time.perf_counter()
    assert main(["run", str(cfg), "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cqjax: error: histogram: needs about") and "available" in err and "bins" in err
    assert time.perf_counter() - t0 < 60  # refused from the estimate, not after trying


def test_chunk_sized_from_device_memory(monkeypatch):
    """The accelerator path on the CPU: the chunk follows the (pretended) free memory and XLA's
    memory analysis; the statistics do not change."""
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=0.1 * jnp.eye(2), psi=qubit(0.5))
    kw = dict(t1=0.1, dt=0.01, n_saves=2, trajectories=3000, seed=2, precision="float64", observables=OBS)
    reference = cqjax.run_ensemble(model, init, **kw)
    from cqjax.ensemble import runner

    monkeypatch.setattr(runner, "sized_from_memory", lambda devices: True)
    monkeypatch.setattr(runner, "device_memory", lambda device: 2**20)  # 1 MiB free
    sized = cqjax.run_ensemble(model, init, **kw)
    assert sized.info["chunk_size"] != reference.info["chunk_size"]
    assert sized.info["chunk_size"] & (sized.info["chunk_size"] - 1) == 0  # a power of two
    _close(sized.mean, reference.mean, OBS)
    monkeypatch.setattr(runner, "device_memory", lambda device: 1000)
    with pytest.raises(ValueError, match="^chunk_size: needs about"):
        cqjax.run_ensemble(model, init, **kw)


# ----- devices -------------------------------------------------------------------------------------------

_SHARDED = """
import json, jax, jax.numpy as jnp, numpy as np, cqjax
from helpers import qubit
jax.config.update("jax_enable_x64", True)
model = cqjax.Diosi()
init = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=0.1 * jnp.eye(2), psi=qubit(0.5))
kw = dict(t1=0.2, dt=0.01, n_saves=4, trajectories=2001, seed=5, precision="float64", paths=350,
          observables=("q", "p", "sz", "sx"), histogram=cqjax.HistogramSpec(("p",), ((-3.0, 3.0, 8),)))
out = {}
for name, extra in {"one": dict(devices=1), "four": {}, "four_chunked": dict(chunk_size=400),
                    "three": dict(devices=3, chunk_size=301)}.items():
    r = cqjax.run_ensemble(model, init, **kw, **extra)
    out[name] = dict(mean={k: v.tolist() for k, v in r.mean.items()}, sem={k: v.tolist() for k, v in r.sem.items()},
                     hist=np.abs(r.histogram["density"]).tolist(), samples=r.samples_z.tolist(), info=r.info,
                     paths={k: v.tolist() for k, v in r.paths.items()})
print("RESULT" + json.dumps(out))
"""


def test_sharded_over_four_devices_equals_one_device():
    env = _env(XLA_FLAGS="--xla_force_host_platform_device_count=4")
    proc = subprocess.run([sys.executable, "-c", _SHARDED], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["one"]["info"]["devices"] == 1 and out["four"]["info"]["devices"] == 4
    assert out["three"]["info"]["devices"] == 3 and out["three"]["info"]["chunk_size"] == 303  # multiple of 3
    for name in ("four", "four_chunked", "three"):
        _close(out[name]["mean"], out["one"]["mean"], OBS)
        _close(out[name]["sem"], out["one"]["sem"], OBS, rtol=1e-10)
        np.testing.assert_allclose(out[name]["hist"], out["one"]["hist"], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(out[name]["samples"], out["one"]["samples"])
        for k in ("t", "z", "sz", "sx"):  # the first 350 paths: more than a chunk of 301 or 303
            np.testing.assert_array_equal(out[name]["paths"][k], out["one"]["paths"][k], err_msg=k)


def test_more_devices_than_there_are_is_refused(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml_text(config_dict(run={"devices": len(jax.local_devices()) + 1})))
    assert main(["run", str(cfg), "--out", str(tmp_path / "r.npz"), "--no-progress"]) == 2
    assert capsys.readouterr().err.strip().startswith("cqjax: error: run.devices: must be in 1..")


# ----- processes -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _f64_config(tmp_path, **run) -> str:
    raw = config_dict(run={"precision": "float64", "trajectories": 3000, "chunk_size": 256, "seed": 3, **run})
    path = tmp_path / "c.toml"
    path.write_text(toml_text(raw))
    return str(path)


@pytest.mark.optimized  # bit for bit against subprocesses compiled as users' runs are
def test_two_processes_equal_one_process(tmp_path, capsys):
    cfg = _f64_config(tmp_path)
    assert main(["run", cfg, "--out", str(tmp_path / "one.npz"), "--no-progress"]) == 0
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cqjax",
                "run",
                cfg,
                "--out",
                str(tmp_path / "two.npz"),
                "--no-progress",
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-processes",
                "2",
                "--process-id",
                str(i),
            ],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert "results:" in outs[0][0] and "results:" not in outs[1][0]  # process 0 writes --out
    one, two = cqjax.load_results(tmp_path / "one.npz"), cqjax.load_results(tmp_path / "two.npz")
    names = [k for k in one if k.endswith((".mean", ".sem"))]
    _close(two, one, names, rtol=1e-10)
    np.testing.assert_array_equal(two["samples.z"], one["samples.z"])
    assert two["meta"]["processes"] == 2 and two["meta"]["trajectories"] == 3000


# ----- checkpoints and signals ------------------------------------------------------------------------


def test_sigterm_after_a_checkpoint_then_resume_equals_the_uninterrupted_run(tmp_path, capsys):
    # the run of _f64_config (chunk 256, as in test_two_processes_equal_one_process: the in-process
    # runs below reuse its compiled kernel), long enough (469 chunks) to be stopped in the middle
    cfg = _f64_config(tmp_path, trajectories=120_000)
    ck, out = tmp_path / "ck.npz", tmp_path / "r.npz"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cqjax",
            "run",
            cfg,
            "--out",
            str(out),
            "--no-progress",
            "--checkpoint",
            str(ck),
            "--checkpoint-seconds",
            "0",
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-2000:]
    assert "--resume" in err and "SIGTERM" in err
    partial = cqjax.load_results(out)
    assert partial["meta"]["complete"] is False and 0 < partial["meta"]["trajectories"] < 120_000
    capsys.readouterr()
    assert main(["run", cfg, "--out", str(out), "--no-progress", "--checkpoint", str(ck), "--resume"]) == 0
    assert main(["run", cfg, "--out", str(tmp_path / "whole.npz"), "--no-progress"]) == 0
    resumed, whole = cqjax.load_results(out), cqjax.load_results(tmp_path / "whole.npz")
    assert resumed["meta"]["complete"] is True and resumed["meta"]["resumed_from"] > 0
    names = [k for k in whole if k.endswith((".mean", ".sem"))]
    _close(resumed, whole, names, rtol=1e-12, atol=1e-14)


def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(tmp_path, capsys):
    cfg = _f64_config(tmp_path, trajectories=600)
    ck = tmp_path / "ck.npz"
    assert main(["run", cfg, "--out", str(tmp_path / "a.npz"), "--no-progress", "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "run",
                cfg,
                "--set",
                "run.seed=4",
                "--out",
                str(tmp_path / "b.npz"),
                "--no-progress",
                "--checkpoint",
                str(ck),
                "--resume",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("cqjax: error: --resume:") and "seed: '3' there, '4' now" in err
    # without --resume an existing checkpoint is not overwritten
    assert main(["run", cfg, "--out", str(tmp_path / "b.npz"), "--no-progress", "--checkpoint", str(ck)]) == 2
    assert "exists" in capsys.readouterr().err
    # resuming a finished run gives its statistics again
    assert (
        main(["run", cfg, "--out", str(tmp_path / "c.npz"), "--no-progress", "--checkpoint", str(ck), "--resume"]) == 0
    )
    a, c = cqjax.load_results(tmp_path / "a.npz"), cqjax.load_results(tmp_path / "c.npz")
    _close(c, a, [k for k in a if k.endswith(".mean")], rtol=0, atol=0)


def test_oversized_master_grid_is_refused_before_integrating():
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"^master: needs about .* GiB of memory but .* available; use fewer"):
        cqjax.solve_master(cqjax.Diosi(), init, t1=1.0, n_saves=1000, cells=(4096, 4096), observables=("q",))
    assert time.perf_counter() - t0 < 60  # refused from the estimate, not after trying


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--num-processes", "0"], "--num-processes:"),
        (["--num-processes", "2", "--process-id", "2"], "--process-id:"),
        (["--resume"], "--resume:"),
        (["--checkpoint-seconds", "-1"], "--checkpoint-seconds:"),
    ],
)
def test_bad_process_and_checkpoint_options_are_refused_before_any_work(tmp_path, capsys, flags, field):
    cfg = _f64_config(tmp_path)
    assert main(["run", cfg, "--out", str(tmp_path / "r.npz"), "--no-progress", *flags]) == 2
    assert capsys.readouterr().err.strip().startswith(f"cqjax: error: {field}")
