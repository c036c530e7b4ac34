"""Ensemble runner: chunks of vmapped trajectories with streamed statistics.

Orchestration only: validate and plan (``_plan``), compile the chunk kernel sharded over the
local devices (``_compile``), stream this process's chunks into the accumulator with the next
chunk dispatched before the last one is fetched (``_stream``), checkpoint, gather over processes
and finalize. Trajectories run in fixed-size chunks (the last one padded and masked, so there is
one compilation); memory does not grow with the number of trajectories.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._memory import check_fits, host_memory
from .._precision import cast_model
from ..dynamics._choice import resolve_unravelling
from ..dynamics._noise import check_noise, check_prng, prng_impl
from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..dynamics.healed import Healed
from ..dynamics.kraus import Kraus
from ..errors import InputError, Interrupted
from ..models._base import AbstractJumpModel, AbstractModel
from ..models._consistency import check_positivity, check_unravellable, needs_mixed, survey, validate_model
from ..models._time import channels_may_appear
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState, MixtureState
from ..spec.observables import Observable, parse_observable
from ._accumulator import finalize, init, update
from ._checkpoint import Checkpointer, load_checkpoint, process_path, tree_digest
from ._devices import (
    chunk_from_memory,
    device_memory,
    kernel_bytes,
    local_devices,
    sized_from_memory,
    trajectory_sharding,
)
from ._histogram import histogram_estimate
from ._interrupt import stop_on_signals
from ._kernel import chunk_kernel
from ._keys import MAX_INDEX, initial_key, split_index, trajectory_key
from ._loop import has_boundary, path_group
from ._processes import chunks_of, gather
from ._progress import long_chunk, progress_bar
from ._statistics import check_statistics, first_violation
from ._time import TimeGrid

STATES = ("auto", "pure", "mixed", "purified")


NONFINITE = ("fail", "exclude")


DEFAULT_CHUNK = 1 << 16
MAX_TRAJECTORIES = MAX_INDEX  # keys are distinct for indices below 2^62


DEFAULT_SAMPLES = 4  # full trajectories kept (fewer if the run has fewer)


@dataclass
class EnsembleResult:
    """Statistics of an ensemble run (numpy arrays on the host). ``nonfinite`` (T,): trajectories
    that were NaN/inf at each saved time; ``counted`` (T,): trajectories in the statistics.
    ``ess`` (T,): the effective sample size (sum w)^2 / sum w^2 of a weighted (linear) unravelling,
    None otherwise. ``paths`` (with ``run.paths``): ``t`` (P,), ``z`` (N, P, n), ``<observable>``
    (N, P) for each observable that is not a bare coordinate (those are columns of ``z``), and
    ``weight`` (N, P) for a weighted unravelling; None without paths."""

    t: np.ndarray
    mean: dict[str, np.ndarray]
    sem: dict[str, np.ndarray]
    coords: tuple[str, ...]
    samples_z: np.ndarray
    samples_psi: np.ndarray
    nonfinite: np.ndarray
    counted: np.ndarray
    trajectories: int
    steps: int
    compile_seconds: float
    run_seconds: float
    histogram: dict[str, np.ndarray] | None = None
    stopped: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    ess: np.ndarray | None = None
    paths: dict[str, np.ndarray] | None = None

    @property
    def trajectory_steps_per_second(self) -> float:
        done = self.info.get("trajectories_this_run", self.trajectories)
        return done * self.steps / self.run_seconds if self.run_seconds > 0 else float("nan")


def run_ensemble(
    model: AbstractModel,
    initial: InitialState | MixtureState,
    *,
    t1: float,
    dt: float,
    n_saves: int,
    trajectories: int,
    seed: int = 0,
    unravelling: AbstractUnravelling = Healed(),
    solver: AbstractSolver = Kraus(),
    observables: tuple[str | Observable, ...] = (),
    histogram: HistogramSpec | None = None,
    n_samples: int | None = None,
    chunk_size: int | None = None,
    precision: str = "float32",
    state: str = "auto",
    nonfinite: str = "fail",
    devices: int | None = None,
    noise: str = "gaussian",
    prng: str = "threefry",
    checkpoint: str | Path | None = None,
    checkpoint_seconds: float = 60.0,
    resume: bool = False,
    progress: bool = False,
    paths: int = 0,
    path_stride: int = 1,
) -> EnsembleResult:
    """Run ``trajectories`` trajectories in chunks and return streamed ensemble statistics.

    Trajectory i uses ``trajectory_key(PRNGKey(seed), i)``, so the statistics do not depend on
    ``chunk_size``, on the number of ``devices`` (default: every local device; each chunk is
    sharded over them) nor on the number of processes (after ``jax.distributed.initialize``, each
    process runs every P-th chunk and all end with the merged statistics). Observables are parsed
    with ``parse_observable``. ``state`` picks the quantum state the trajectories carry:
    ``"pure"`` (psi), ``"mixed"`` (rho, the mixed-state unravelling of seed 004 eqs. 7-8),
    ``"purified"`` (psi, with the decoherence beyond saturation carried by extra classical noises,
    seed 004 App. B) or ``"auto"``: mixed when the model's decoherence exceeds saturation, its
    back-reaction is not Hermitian, or the initial state is a density matrix; pure otherwise (a
    jump model's unravelling is always pure). A healed run of a jump model follows its jump
    unravelling.

    At every saved time every trajectory's point is checked (``consistency``: complete
    positivity and Hermiticity of the generator there); a violation raises ``SimulationError``.
    ``nonfinite``: ``"fail"`` raises ``SimulationError`` at the first trajectory that becomes
    NaN or inf; ``"exclude"`` takes the statistics over the trajectories finite at each saved
    time and reports the number excluded (``info["excluded_trajectories"]``). ``n_samples``
    trajectories (the first ones; default ``min(4, trajectories)``) are kept whole. ``noise``: the
    law of the increments (``"gaussian"``, or the cheaper ``"three-point"``, ``"rademacher"`` with
    the same weak order 1); ``prng``: the key implementation (``"threefry"``, ``"rbg"``; rbg draws a
    vmapped batch from its first key, so its trajectories, and its statistics within their SE,
    depend on ``chunk_size`` and the number of devices).

    ``checkpoint``: a file where the merged statistics and the next chunk are saved after a
    completed chunk, at most every ``checkpoint_seconds`` (one file per process); ``resume``
    continues from it (refused if it is of a different run). SIGINT/SIGTERM stop the run after
    the chunk in flight, save the checkpoint and raise ``Interrupted``; a second signal abandons
    the chunk.

    ``paths``: the first ``paths`` trajectories (by index, whatever the chunks, devices and
    processes) are kept every ``path_stride`` steps from t = 0 (``path_stride`` must divide the
    steps between saves): their points, their observables' conditional values and, for the linear
    unravelling, their weights (``EnsembleResult.paths``; the results file's ``paths.*``, the
    record format ``cqjax fit --data`` reads). The linear unravelling (``Linear``) reports weighted
    means, the unbiased linear estimator mean_i Tr(O rho~_i), and ``ess``.
    """
    n_samples = min(DEFAULT_SAMPLES, trajectories) if n_samples is None else n_samples
    processes, process = jax.process_count(), jax.process_index()
    path = None if checkpoint is None else process_path(checkpoint, process, processes)
    if resume:
        if path is None:
            raise InputError("resume", "needs a checkpoint path")
        if not path.exists():
            raise InputError("resume", f"no checkpoint at {str(path)!r}")
    elif path is not None and path.exists():
        raise InputError("checkpoint", f"{str(path)!r} exists; resume it (resume=True, --resume) or remove it")
    resume_from = path if resume else None
    plan = _plan(
        model,
        initial,
        t1=t1,
        dt=dt,
        n_saves=n_saves,
        trajectories=trajectories,
        seed=seed,
        unravelling=unravelling,
        solver=solver,
        observables=observables,
        histogram=histogram,
        n_samples=n_samples,
        chunk_size=chunk_size,
        precision=precision,
        state=state,
        nonfinite=nonfinite,
        devices=devices,
        noise=noise,
        prng=prng,
        paths=paths,
        path_stride=path_stride,
    )
    show = progress and process == 0
    program = _compile(plan, initial, solver=solver, histogram=histogram, sized=chunk_size is None, ticks=show)
    fingerprint = _fingerprint(plan, initial, solver, histogram, precision, nonfinite, program.chunk, processes)
    if resume_from is not None:
        acc, first = load_checkpoint(resume_from, fingerprint)
    else:
        acc, first = init(program.record, n_samples, plan.paths), 0
    chunks = chunks_of(process, processes, first, -(-trajectories // program.chunk))
    done_before = int(acc.done)
    t0 = time.perf_counter()
    with progress_bar(show, trajectories, done_before) as bar, stop_on_signals() as stop:
        acc, failure = _stream(
            program, plan, acc, chunks, Checkpointer(path, fingerprint, checkpoint_seconds), stop, bar, nonfinite
        )
    run_seconds = time.perf_counter() - t0
    info = dict(trajectories_this_run=int(acc.done) - done_before, resumed_from=done_before)
    if stop.signum is not None and failure is None:
        _interrupted(stop.signum, plan, program, acc, path, checkpoint, run_seconds, info)
    acc = gather(acc, failure)
    return _result(plan, program, acc, run_seconds, info, complete=True)


# one jit for every run: a run with the same static choices and shapes (a parameter sweep, a
# resumed or repeated run) reuses the compiled kernel
KERNEL_STATIC = (
    "grid",
    "unravelling",
    "solver",
    "dtype",
    "n_samples",
    "hist",
    "hist_idx",
    "mixed",
    "pure",
    "noise",
    "ticks",
    "n_paths",
    "path_stride",
)
_KERNEL = jax.jit(chunk_kernel, static_argnames=KERNEL_STATIC)


class _Program(NamedTuple):
    """A compiled chunk kernel: ``call(start, n_valid)`` dispatches (asynchronously) the chunk of
    trajectories start .. start + n_valid - 1; ``record``: the shapes it returns."""

    call: Callable
    chunk: int
    record: dict
    compile_seconds: float
    devices: list
    ticks: bool = False  # the kernel feeds the progress bar within a chunk


def _compile(plan: _Plan, initial, *, solver, histogram, sized: bool, ticks: bool = False) -> _Program:
    """Compile the chunk kernel sharded over the plan's devices; on accelerators without an explicit
    ``chunk_size`` the chunk is sized from the free device memory and XLA's memory analysis of a
    first compilation. Refuses a kernel that does not fit in memory."""
    t0 = time.perf_counter()
    n_dev = len(plan.devices)
    compiled, call, record, ticking = _lower(plan, initial, solver, histogram, plan.chunk, ticks)
    chunk = plan.chunk
    free = device_memory(plan.devices[0])
    if sized and sized_from_memory(plan.devices) and (use := kernel_bytes(compiled)) is not None:
        better = chunk_from_memory(use[0] / (chunk // n_dev), free, n_dev, plan.trajectories)
        if better != chunk:
            chunk = better
            compiled, call, record, ticking = _lower(plan, initial, solver, histogram, chunk, ticks)
    if (use := kernel_bytes(compiled)) is not None:
        check_fits(
            "chunk_size", use[0] + use[1], free, "set a smaller chunk_size or fewer n_saves", ("chunk_size", "n_saves")
        )
    return _Program(
        call=call,
        chunk=chunk,
        record=record,
        compile_seconds=time.perf_counter() - t0,
        devices=plan.devices,
        ticks=ticking,
    )


def kernel_options(plan: _Plan, solver, histogram, chunk: int) -> dict:
    """The chunk kernel's static choices for chunks of ``chunk`` trajectories (``KERNEL_STATIC``
    but ``ticks``), shared by a run and a sweep."""
    return dict(
        grid=plan.grid,
        unravelling=plan.unravelling,
        solver=solver,
        dtype=plan.dtype,
        n_samples=min(plan.n_samples, chunk),
        hist=histogram,
        hist_idx=plan.hist_idx,
        mixed=plan.mixed,
        pure=plan.pure,
        noise=plan.noise,
        n_paths=min(plan.paths, chunk),
        path_stride=plan.path_stride,
    )


def _lower(plan: _Plan, initial, solver, histogram, chunk: int, ticks: bool = False):
    """(compiled kernel, its dispatcher, its record shapes, whether it ticks) for chunks of ``chunk`` trajectories;
    ``ticks``: a bar is shown, and the kernel feeds it within a chunk when the chunk is long
    (``long_chunk``; a kernel of its own, so a run without a bar runs the kernel it had before)."""
    ticks = ticks and long_chunk(chunk, plan.grid.n_steps)
    kernel = partial(_KERNEL, ticks=ticks, **kernel_options(plan, solver, histogram, chunk))
    offsets = jax.device_put(jnp.arange(chunk, dtype=jnp.int32), trajectory_sharding(plan.devices))
    args = (plan.model, plan.observables, initial, plan.key)
    zero = (np.uint32(0), np.uint32(0), offsets, np.int32(0))
    lowered = _KERNEL.lower(*args, *zero, **kernel.keywords)
    compiled, record = lowered.compile(), lowered.out_info
    call = lambda start, n_valid: compiled(*args, *split_index(start), offsets, np.int32(n_valid))
    return compiled, call, record, ticks


def _stream(program: _Program, plan: _Plan, acc, chunks: range, checkpointer, stop, bar, policy):
    """Run ``chunks`` in order, each dispatched before the previous one's records are fetched
    (host and device overlap); merge each into ``acc``. Returns (acc, the one-line reason the run
    must stop, or None). Stops early after a chunk when a signal asked for it."""

    def launch(c):  # (chunk, first trajectory, trajectories in it, records in flight), or None
        if c is None:
            return None
        start = c * program.chunk
        n_valid = min(program.chunk, plan.trajectories - start)
        return c, start, n_valid, program.call(start, n_valid)

    todo = iter(chunks)
    nxt = launch(next(todo, None))
    while nxt is not None:
        c, start, n_valid, out = nxt
        nxt = launch(next(todo, None)) if stop.signum is None else None
        rec = jax.device_get(out)
        if (why := first_violation(rec, plan.grid.ts, plan.model.coords, policy, start, n_valid)) is not None:
            return acc, why
        acc = update(acc, rec, start, n_valid)
        checkpointer.maybe_save(acc, c + chunks.step, force=stop.signum is not None or nxt is None)
        if bar is not None and not program.ticks:  # a ticking kernel moved the bar already
            bar.update(n_valid)
    return acc, None


def _interrupted(signum, plan, program, acc, path, checkpoint, run_seconds, info):
    """Raise ``Interrupted`` for a run stopped by ``signum``: what is kept and how to resume."""
    name = signal.Signals(signum).name
    done = int(acc.done)
    if path is not None:
        what = (
            f"the checkpoint {str(path)!r} holds them; continue with resume=True "
            f"(cqjax run CONFIG --checkpoint {checkpoint} --resume)"
        )
    else:
        what = "no checkpoint was set (--checkpoint PATH keeps the merged statistics)"
    partial = None
    if jax.process_count() == 1 and done > 0:
        partial = _result(plan, program, acc, run_seconds, info, complete=False)
    raise Interrupted(
        f"interrupted by {name} after {done} of {plan.trajectories} trajectories; {what}",
        signum=signum,
        done=done,
        requested=plan.trajectories,
        checkpoint=path,
        partial=partial,
    )


def _result(plan: _Plan, program: _Program, acc, run_seconds: float, info: dict, *, complete: bool):
    """The ``EnsembleResult`` of a merged accumulator (refusing what cannot be reported)."""
    names = [o.name for o in plan.observables]
    stats = finalize(acc, names)
    check_statistics(acc.count, stats.mean, stats.sem, plan.grid.ts, plan.precision)
    done = int(acc.done)
    result = EnsembleResult(
        t=np.asarray(plan.grid.ts),
        mean=stats.mean,
        sem=stats.sem,
        coords=plan.model.coords,
        samples_z=stats.samples_z,
        samples_psi=stats.samples_psi,
        nonfinite=acc.nonfinite,
        counted=acc.count,
        trajectories=done,
        steps=plan.grid.n_steps,
        compile_seconds=program.compile_seconds,
        run_seconds=run_seconds,
        stopped=stats.stopped if has_boundary(plan.model) else None,
        ess=stats.ess if plan.unravelling.weighted else None,
        paths=_paths(plan, stats.paths),
        info=dict(
            info,
            chunk_size=program.chunk,
            devices=len(program.devices),
            device_kind=getattr(program.devices[0], "device_kind", program.devices[0].platform),
            processes=jax.process_count(),
            noise_block=plan.grid.block,
            unravelling=plan.unravelling.name,
            state=plan.state_name,
            nonfinite_policy=plan.nonfinite,
            excluded_trajectories=int(acc.nonfinite.max()),
            complete=complete,
            trajectories_requested=plan.trajectories,
            noise=plan.noise,
            prng=plan.prng,
        ),
    )
    if acc.hist is not None and plan.histogram is not None:  # accumulated only when one was asked for
        result.histogram = histogram_estimate(acc.hist, plan.histogram, acc.count, float(done))
    return result


PATH_KEYS = ("t", "z", "coords", "weight")  # what a path record names besides the observables


def _paths(plan: _Plan, kept: dict | None) -> dict | None:
    """The kept paths as ``EnsembleResult.paths``: times, points, the values of the observables that
    are not bare coordinates, the weights of a weighted unravelling."""
    if kept is None:
        return None
    stride = plan.path_stride
    out = {"t": np.arange(plan.grid.n_steps // stride + 1) * (stride * plan.grid.dt), "z": kept["z"]}
    out.update({k: v for k, v in kept["values"].items() if k not in plan.model.coords})
    if plan.unravelling.weighted:
        out["weight"] = kept["weight"]
    return out


def _fingerprint(plan, initial, solver, histogram, precision, nonfinite, chunk, processes) -> dict:
    """What determines a run's statistics, as strings: a checkpoint resumes only the same run."""
    from .. import __version__

    return {
        k: str(v)
        for k, v in dict(
            version=__version__,
            model=f"{type(plan.model).__qualname__}:{tree_digest(plan.model)}",
            initial=tree_digest(initial),
            t1=plan.grid.n_steps * plan.grid.dt,
            dt=plan.grid.dt,
            n_saves=plan.grid.n_saves,
            trajectories=plan.trajectories,
            seed=plan.seed,
            unravelling=plan.unravelling,
            solver=solver,
            observables=[o.name for o in plan.observables],
            histogram=histogram,
            samples=plan.n_samples,
            chunk=chunk,
            precision=precision,
            state=plan.state_name,
            nonfinite=nonfinite,
            processes=processes,
            noise=plan.noise,
            prng=plan.prng,
            **(dict(paths=plan.paths, path_stride=plan.path_stride) if plan.paths else {}),
        ).items()
    }


@dataclass(frozen=True)
class _Plan:
    """What a run needs after validation: the cast model, parsed observables, key, time grid,
    devices and chunk size, the resolved unravelling and state representation."""

    model: AbstractModel
    observables: list
    key: Array
    grid: TimeGrid
    chunk: int
    devices: list
    unravelling: AbstractUnravelling
    mixed: bool
    pure: bool
    state_name: str
    dtype: object
    precision: str
    nonfinite: str
    trajectories: int
    seed: int
    n_samples: int
    histogram: HistogramSpec | None
    hist_idx: tuple[int, ...]
    noise: str
    prng: str
    paths: int = 0
    path_stride: int = 1


def _plan(
    model,
    initial,
    *,
    t1,
    dt,
    n_saves,
    trajectories,
    seed,
    unravelling,
    solver,
    observables,
    histogram,
    n_samples,
    chunk_size,
    precision,
    state,
    nonfinite,
    devices,
    noise,
    prng,
    paths=0,
    path_stride=1,
) -> _Plan:
    """Validate the run's inputs and the model at a few initial points, choose the devices and
    the chunk, and check that the histogram fits in memory."""
    check_options(trajectories, n_samples, chunk_size, precision, state, nonfinite, noise, prng)
    dtype = jnp.float32 if precision == "float32" else jnp.float64
    if dtype == jnp.float64 and not jax.config.read("jax_enable_x64"):
        raise InputError(
            "precision", "'float64' needs jax_enable_x64; call jax.config.update('jax_enable_x64', True) first"
        )
    grid = TimeGrid.make(t1, dt, n_saves)
    used = local_devices(devices)
    model = cast_model(model, dtype)
    obs = [parse_observable(name, model, trajectories=True) for name in observables]
    if not obs:
        raise InputError("observables", "give at least one observable")
    hist_idx = _histogram_axes(histogram, model, initial, grid, dtype, used)
    _check_paths(paths, path_stride, trajectories, grid, model, obs, dtype)
    chunk = _default_chunk(trajectories, chunk_size, initial.dim * model.n_coords, len(used))
    key = jax.random.key(seed, impl=prng_impl(prng))
    unravelling, mixed, state_name = _representation(
        model, initial, key, trajectories, unravelling, solver, state, dtype
    )
    return _Plan(
        model=model,
        observables=obs,
        key=key,
        grid=grid,
        chunk=chunk,
        devices=used,
        unravelling=unravelling,
        mixed=mixed,
        pure=state_name == "pure",
        state_name=state_name,
        dtype=dtype,
        precision=precision,
        nonfinite=nonfinite,
        trajectories=trajectories,
        seed=seed,
        n_samples=n_samples,
        histogram=histogram,
        hist_idx=hist_idx,
        noise=noise,
        prng=prng,
        paths=paths,
        path_stride=path_stride,
    )


def _check_paths(paths, stride, trajectories: int, grid: TimeGrid, model, observables, dtype) -> None:
    """``run.paths`` in 0..trajectories and ``run.path_stride`` >= 1 dividing the steps between saves;
    no observable named like a path key; the kept paths fit in memory (host: the merged paths and a
    merge's copies; device: two chunks' buffers in flight, their stacking, and a save interval's
    group ends, ``time_loop``)."""
    for name, value, low in (("paths", paths, 0), ("path_stride", stride, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(name, f"must be an integer >= {low}, got {value!r}")
    if paths > trajectories:
        raise InputError("paths", f"must be in 0..trajectories = {trajectories}, got {paths}", refs=("trajectories",))
    if grid.steps_per_save % stride:
        raise InputError(
            "path_stride",
            f"{stride} does not divide the steps between saves (t1 / dt / n_saves = {grid.steps_per_save})",
            refs=("t1", "dt", "n_saves"),
        )
    if not paths:
        return
    for o in observables:
        if o.name in PATH_KEYS and o.name not in model.coords:
            reserved = f"the observable name {o.name!r} is reserved in paths (paths.{o.name}); rename it"
            raise InputError("paths", reserved)
    width = paths * (model.n_coords + len(observables) + 1)  # numbers per path time
    kept = (grid.n_steps // stride + 1) * width
    transient = grid.steps_per_save // path_group(grid, stride) * width  # a save interval's group ends
    need = (7 * kept + 2 * transient) * jnp.dtype(dtype).itemsize
    check_fits("run.paths", need, host_memory(), "keep fewer run.paths or a larger run.path_stride")


def check_options(
    trajectories: int,
    n_samples: int,
    chunk_size: int | None,
    precision: str,
    state: str,
    nonfinite: str,
    noise: str,
    prng: str,
) -> None:
    """The run's counts and named choices, each checked here once (``run_ensemble`` and a config
    call it); an ``InputError`` naming the argument."""
    if not 1 <= trajectories <= MAX_TRAJECTORIES:
        raise InputError(
            "trajectories",
            f"must be in 1..2^62 (the trajectory keys fold in two 32-bit words: "
            f"more would repeat trajectories), got {trajectories}",
        )
    if not 0 <= n_samples <= trajectories:
        raise InputError(
            "n_samples", f"must be in 0..trajectories = {trajectories}, got {n_samples}", refs=("trajectories",)
        )
    if chunk_size is not None and chunk_size < 1:
        raise InputError("chunk_size", f"must be >= 1, got {chunk_size}")
    if precision not in ("float32", "float64"):
        raise InputError("precision", f"must be 'float32' or 'float64', got {precision!r}")
    if state not in STATES:
        raise InputError("state", f"must be one of {list(STATES)}, got {state!r}")
    if nonfinite not in NONFINITE:
        raise InputError("nonfinite", f"must be one of {list(NONFINITE)}, got {nonfinite!r}")
    check_noise(noise)
    check_prng(prng)


def _default_chunk(trajectories: int, chunk_size: int | None, entries: int, n_dev: int) -> int:
    """The chunk: ``chunk_size`` as given, or the CPU default in equal chunks (padding small);
    rounded up to a multiple of the number of devices. The default shrinks for large Hilbert
    spaces: a step holds ~n x d operator entries per trajectory (the back-reaction F = {Z, H_I}),
    kept below ~2^27 per chunk."""
    default = max(1, min(DEFAULT_CHUNK, 2**27 // entries))
    max_chunk = int(min(chunk_size or default, trajectories))
    chunk = max_chunk if chunk_size else -(-trajectories // -(-trajectories // max_chunk))
    return -(-chunk // n_dev) * n_dev


def _histogram_axes(histogram, model, initial, grid, dtype, devices) -> tuple[int, ...]:
    """The histogram's coordinate indices; refuses unknown coordinates, d > 64, and a histogram
    whose sums (host, float64, and two chunks' on the device) do not fit in memory."""
    if histogram is None:
        return ()
    if (d := initial.dim) > 64:  # rho = psi psi^dag per trajectory and d x d per bin
        raise InputError("histogram", f"d = {d} is too large for a matrix-valued histogram (d x d per bin; at most 64)")
    entries = (grid.n_saves + 1) * int(np.prod(histogram.shape, dtype=np.float64)) * d * d
    host = entries * 32  # complex128 sum, float64 squares of its real and imaginary parts
    device = 3 * entries * 4 * jnp.dtype(dtype).itemsize  # two chunks in flight and the scatter's output
    knob = "use coarser histogram bins or fewer n_saves"
    if devices[0].platform == "cpu":
        check_fits("histogram", host + device, host_memory(), knob, ("n_saves",))
    else:
        check_fits("histogram", host, host_memory(), knob, ("n_saves",))
        check_fits("histogram", device, device_memory(devices[0]), knob, ("n_saves",))
    return histogram.axes(model.coords)


@partial(jax.jit, static_argnames="dtype")
def _initial_points(initial, key, indices, dtype):
    """The initial classical points of trajectories ``indices``."""
    return jax.vmap(lambda i: initial.sample(initial_key(trajectory_key(key, i)), dtype)[0])(indices)


def _representation(model, initial, key, trajectories, unravelling, solver, state, dtype):
    """Validate the model at up to 256 initial points and choose the unravelling and the state
    representation: (unravelling, mixed, state name)."""
    # the checks vmap the generator (n x d per point) over initial points: fewer of them for large
    # Hilbert spaces (8 for 16 qubits), so validation stays small in memory
    n_check = min(trajectories, 256, max(8, 2**24 // (initial.dim * model.n_coords)))
    z0s = _initial_points(initial, key, np.arange(n_check), dtype)
    if not np.isfinite(np.asarray(z0s)).all():
        raise InputError("initial", "the initial classical points are not finite")
    unravelling = resolve_unravelling(model, unravelling, solver.name)
    jumpy = isinstance(model, AbstractJumpModel)
    # one compiled program for every check below: the values, and the conditions of a stochastic unravelling
    parts = ("values",)
    if unravelling.stochastic:
        parts = ("values", "cp", "pure") if jumpy else ("values", "cp", "pure", "force")
    at = survey(model, z0s, parts)
    validate_model(model, z0s, psi_dim=initial.dim, at=at)
    if state in ("mixed", "purified") and jumpy and unravelling.stochastic:
        raise InputError("state", "the jump unravelling carries pure states; use 'pure' or 'auto'")
    if state == "purified":
        if not isinstance(unravelling, Healed):
            raise InputError("state", "'purified' needs the healed unravelling")
        unravelling = Healed(purify=True)
    if state == "auto":
        stochastic_mixed = unravelling.stochastic and (
            needs_mixed(model, z0s, at=at) or channels_may_appear(model, z0s[0])
        )
        mixed = not jumpy and (initial.rho is not None or stochastic_mixed)
    else:
        mixed = state == "mixed"
    if unravelling.stochastic:
        check_unravellable(model, z0s, mixed=mixed or state == "purified", at=at)
        if not jumpy:
            check_positivity(model, z0s, at=at)
    return unravelling, mixed, "mixed" if mixed else ("purified" if state == "purified" else "pure")
