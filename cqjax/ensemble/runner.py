"""Ensemble runner: chunks of vmapped trajectories with streamed statistics.

Trajectories run in fixed-size chunks (the last one padded and masked, so there is one
compilation). Each chunk reduces, at every saved time, the count, mean and centred second moment
of every observable and the histogram sums of rho; the host merges chunks exactly. Memory does
not grow with the number of trajectories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._precision import cast_model
from ..dynamics._choice import resolve_unravelling
from ..dynamics._noise import check_noise, prng_impl
from ..dynamics._solver import AbstractSolver
from ..dynamics._unravelling import AbstractUnravelling
from ..dynamics.healed import Healed
from ..dynamics.kraus import Kraus
from ..errors import SimulationError
from ..models._base import AbstractJumpModel, AbstractModel
from ..models._consistency import (
    check_positivity,
    check_unravellable,
    needs_mixed,
    validate_model,
)
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState
from ..spec.observables import parse_observable
from ._histogram import histogram_estimate, histogram_record
from ._keys import initial_key, noise_key, trajectory_key
from ._loop import has_boundary, make_step, time_loop
from ._statistics import Tally, consistency_record, ensemble_statistics, first_violation
from ._time import TimeGrid

STATES = ("auto", "pure", "mixed", "purified")


NONFINITE = ("fail", "exclude")


DEFAULT_CHUNK = 1 << 16
MAX_TRAJECTORIES = 2**30  # indices start + arange(chunk) <= 2 * trajectories must fit int32


DEFAULT_SAMPLES = 4  # full trajectories kept (fewer if the run has fewer)


@dataclass
class EnsembleResult:
    """Statistics of an ensemble run (numpy arrays on the host). ``nonfinite`` (T,): trajectories
    that were NaN/inf at each saved time; ``counted`` (T,): trajectories in the statistics."""

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

    @property
    def trajectory_steps_per_second(self) -> float:
        return self.trajectories * self.steps / self.run_seconds if self.run_seconds > 0 else float("nan")


def _chunk_kernel(
    model, observables, initial, key, start, n_valid, *, grid, unravelling, solver, dtype,
    chunk, n_samples, hist, hist_idx, mixed, pure, noise,
):
    """Run one chunk of trajectories; return per-save reductions (leading axis: saved time).

    A trajectory counts at a saved time when it is one of the run's (not padding) and its point,
    state and observable values are finite; the others are counted in ``nonfinite`` (with the
    smallest such trajectory index) and never enter a mean. ``consistency`` is evaluated on every
    finite trajectory's point: the worst relative violation of each check, its amount, point and
    trajectory.
    """
    index = start + jnp.arange(chunk)
    valid = index < n_valid
    tkeys = jax.vmap(lambda i: trajectory_key(key, i))(index)
    z0, psi0 = jax.vmap(lambda k: initial.sample(initial_key(k), dtype, mixed))(tkeys)
    nkeys = jax.vmap(noise_key)(tkeys)
    m = unravelling.noise_dim(model, z0[0])
    step = jax.vmap(make_step(model, unravelling, solver, grid.dt))
    # draw is vmapped over trajectories; the scan wants the step axis first.
    draw = lambda b, length: jnp.swapaxes(
        jax.vmap(lambda k: unravelling.make_draw(k, m, dtype, noise)(b, length))(nkeys), 0, 1
    )

    def record(state):
        z, psi = state
        values = jnp.stack([jax.vmap(o)(z, psi) for o in observables], axis=-1)  # (B, k)
        finite = (valid & jnp.all(jnp.isfinite(z), axis=-1) & jnp.all(jnp.isfinite(values), axis=-1)
                  & jnp.all(jnp.isfinite(psi.reshape(chunk, -1)), axis=-1))
        bad = valid & ~finite
        w = finite.astype(dtype)
        count = jnp.sum(w)
        values = jnp.where(finite[:, None], values, 0)
        mean = jnp.sum(w[:, None] * values, axis=0) / jnp.maximum(count, 1)
        out = dict(
            count=count, mean=mean, m2=jnp.sum(w[:, None] * (values - mean) ** 2, axis=0),
            nonfinite=jnp.sum(bad), first_bad=jnp.min(jnp.where(bad, index, n_valid)),
            z=z[:n_samples], psi=psi[:n_samples],
        )
        out.update(consistency_record(model, z, finite, index, pure, unravelling.stochastic))
        if has_boundary(model):
            out["stopped"] = jnp.sum(w * ~jax.vmap(model.inside)(z))
        if hist is not None:
            out.update(histogram_record(z, psi, w, hist, hist_idx, mixed))
        return out

    _, records = time_loop(step, draw, (z0, psi0), grid, record)
    return records


def run_ensemble(
    model: AbstractModel,
    initial: InitialState,
    *,
    t1: float,
    dt: float,
    n_saves: int,
    trajectories: int,
    seed: int = 0,
    unravelling: AbstractUnravelling = Healed(),
    solver: AbstractSolver = Kraus(),
    observables: tuple[str, ...] = (),
    histogram: HistogramSpec | None = None,
    n_samples: int | None = None,
    chunk_size: int | None = None,
    precision: str = "float32",
    state: str = "auto",
    nonfinite: str = "fail",
    progress: bool = False,
    noise: str = "gaussian",
    prng: str = "threefry",
) -> EnsembleResult:
    """Run ``trajectories`` trajectories in chunks and return streamed ensemble statistics.

    Trajectory i uses ``trajectory_key(PRNGKey(seed), i)``, so the statistics do not depend on
    ``chunk_size``. Observables are parsed with ``parse_observable``. ``state`` picks the
    quantum state the trajectories carry: ``"pure"`` (psi), ``"mixed"`` (rho, the mixed-state
    unravelling of seed 004 eqs. 7-8), ``"purified"`` (psi, with the decoherence beyond
    saturation carried by extra classical noises, seed 004 App. B) or ``"auto"``: mixed when the
    model's decoherence exceeds saturation, its back-reaction is not Hermitian, or the initial
    state is a density matrix; pure otherwise (a jump model's unravelling is always pure). A
    healed run of a jump model follows its jump unravelling.

    At every saved time every trajectory's point is checked (``consistency``: complete
    positivity and Hermiticity of the generator there); a violation raises ``SimulationError``.
    ``nonfinite``: ``"fail"`` raises ``SimulationError`` at the first trajectory that becomes
    NaN or inf; ``"exclude"`` takes the statistics over the trajectories finite at each saved
    time and reports the number excluded (``info["excluded_trajectories"]``). ``n_samples``
    trajectories (the first ones; default ``min(4, trajectories)``) are kept whole. ``noise``: the
    law of the increments (``"gaussian"``, or the cheaper ``"three-point"``, ``"rademacher"`` with
    the same weak order 1); ``prng``: the key implementation (``"threefry"``, ``"rbg"``; rbg draws a
    vmapped batch from its first key, so its trajectories, and its statistics within their SE,
    depend on ``chunk_size``).
    """
    n_samples = min(DEFAULT_SAMPLES, trajectories) if n_samples is None else n_samples
    if nonfinite not in NONFINITE:
        raise ValueError(f"run.nonfinite: must be one of {list(NONFINITE)}, got {nonfinite!r}")
    plan = _plan(model, initial, t1=t1, dt=dt, n_saves=n_saves, trajectories=trajectories, seed=seed,
                 unravelling=unravelling, solver=solver, observables=observables, histogram=histogram,
                 n_samples=n_samples, chunk_size=chunk_size, precision=precision, state=state, noise=noise, prng=prng)
    model, obs, key, grid, chunk = plan.model, plan.observables, plan.key, plan.grid, plan.chunk
    kernel = jax.jit(
        lambda model, obs, initial, key, start: _chunk_kernel(
            model, obs, initial, key, start, trajectories, grid=grid, unravelling=plan.unravelling,
            solver=solver, dtype=plan.dtype, chunk=chunk, n_samples=min(n_samples, chunk), hist=histogram,
            hist_idx=plan.hist_idx, mixed=plan.mixed, pure=not plan.mixed and state != "purified", noise=noise,
        )
    )
    t0 = time.perf_counter()
    compiled = kernel.lower(model, obs, initial, key, 0).compile()
    compile_seconds = time.perf_counter() - t0

    tally = Tally(n_samples)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=trajectories, unit="traj", unit_scale=True, dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for start in range(0, trajectories, chunk):
            rec = jax.device_get(compiled(model, obs, initial, key, start))
            if (why := first_violation(rec, grid.ts, model.coords, nonfinite, start, chunk)) is not None:
                raise SimulationError(why)
            tally.add(rec)
            if bar is not None:
                bar.update(min(chunk, trajectories - start))
    finally:
        if bar is not None:
            bar.close()
    run_seconds = time.perf_counter() - t0
    names = [o.name for o in obs]
    mean, sem = ensemble_statistics(tally, names, grid.ts, precision)
    samples_z = np.concatenate([z for z, _ in tally.samples], axis=1)
    samples_psi = np.concatenate([p for _, p in tally.samples], axis=1)
    result = EnsembleResult(
        t=np.asarray(grid.ts), mean=mean, sem=sem, coords=model.coords,
        samples_z=np.swapaxes(samples_z, 0, 1), samples_psi=np.swapaxes(samples_psi, 0, 1),
        nonfinite=tally.nonfinite, counted=tally.count, trajectories=trajectories, steps=grid.n_steps,
        compile_seconds=compile_seconds, run_seconds=run_seconds,
        stopped=None if tally.stopped is None else tally.stopped / tally.count,
        info=dict(chunk_size=chunk, noise_block=grid.block, unravelling=plan.unravelling.name,
                  state="mixed" if plan.mixed else ("purified" if state == "purified" else "pure"),
                  nonfinite_policy=nonfinite, excluded_trajectories=int(tally.nonfinite.max()), noise=noise, prng=prng),
    )
    if histogram is not None:
        result.histogram = histogram_estimate(tally.hist, histogram, tally.count, float(trajectories))
    return result


@dataclass(frozen=True)
class _Plan:
    """What a run needs after validation: the cast model, parsed observables, key, time grid,
    chunk size, the resolved unravelling and state representation."""

    model: AbstractModel
    observables: list
    key: Array
    grid: TimeGrid
    chunk: int
    unravelling: AbstractUnravelling
    mixed: bool
    dtype: object
    hist_idx: tuple[int, ...]


def _plan(model, initial, *, t1, dt, n_saves, trajectories, seed, unravelling, solver, observables, histogram,
          n_samples, chunk_size, precision, state, noise, prng) -> _Plan:
    """Validate the run's inputs and the model at a few initial points, and choose the chunk."""
    if state not in STATES:
        raise ValueError(f"run.state: must be one of {list(STATES)}, got {state!r}")
    check_noise(noise)
    if precision not in ("float32", "float64"):
        raise ValueError(f"run.precision: must be 'float32' or 'float64', got {precision!r}")
    dtype = jnp.float32 if precision == "float32" else jnp.float64
    if dtype == jnp.float64 and not jax.config.read("jax_enable_x64"):
        raise ValueError(
            "run.precision: 'float64' needs jax_enable_x64; call "
            "jax.config.update('jax_enable_x64', True) first"
        )
    if not 1 <= trajectories <= MAX_TRAJECTORIES:
        raise ValueError(f"run.trajectories: must be in 1..{MAX_TRAJECTORIES} (trajectory indices are int32 and "
                         f"keys fold in 32 bits: more would repeat trajectories), got {trajectories}")
    if not 0 <= n_samples <= trajectories:
        raise ValueError(f"run.samples: must be in 0..run.trajectories = {trajectories}, got {n_samples}")
    grid = TimeGrid.make(t1, dt, n_saves)
    model = cast_model(model, dtype)
    obs = [parse_observable(name, model) for name in observables]
    if not obs:
        raise ValueError("observables.names: give at least one observable")
    hist_idx = ()
    if histogram is not None:
        for c in histogram.coords:
            if c not in model.coords:
                raise ValueError(f"histogram.coords: unknown coordinate {c!r}; have {list(model.coords)}")
        hist_idx = tuple(model.coords.index(c) for c in histogram.coords)
        if (d := initial.dim) > 64:  # rho = psi psi^dag per trajectory and d x d per bin
            raise ValueError(f"histogram: d = {d} is too large for a matrix-valued histogram "
                             "(d x d per bin; at most 64)")
    # the default chunk shrinks for large Hilbert spaces: a step holds ~n x d operator entries
    # per trajectory (the back-reaction F = {Z, H_I}), kept below ~2^27 per chunk
    default = max(1, min(DEFAULT_CHUNK, 2**27 // (initial.dim * model.n_coords)))
    max_chunk = int(min(chunk_size or default, trajectories))
    n_chunks = -(-trajectories // max_chunk)
    # Equal chunks keep padding small; an explicit chunk_size is used as given.
    chunk = max_chunk if chunk_size else -(-trajectories // n_chunks)
    key = jax.random.key(seed, impl=prng_impl(prng))

    # the checks below vmap the generator (n x d per point) over initial points: at most 256 of
    # them, fewer for large Hilbert spaces (8 for 16 qubits), so validation stays small in memory
    n_check = min(trajectories, 256, max(8, 2**24 // (initial.dim * model.n_coords)))
    z0s, _ = jax.jit(jax.vmap(
        lambda i: initial.sample(initial_key(trajectory_key(key, i)), dtype)
    ))(jnp.arange(n_check))
    if not bool(jnp.all(jnp.isfinite(z0s))):
        raise ValueError("initial: the initial classical points are not finite")
    validate_model(model, z0s, psi_dim=initial.dim)
    unravelling = resolve_unravelling(model, unravelling, solver.name)
    jumpy = isinstance(model, AbstractJumpModel)
    if state in ("mixed", "purified") and jumpy and unravelling.stochastic:
        raise ValueError("run.state: the jump unravelling carries pure states; use 'pure' or 'auto'")
    if state == "purified":
        if not isinstance(unravelling, Healed):
            raise ValueError("run.state: 'purified' needs the healed unravelling")
        unravelling = Healed(purify=True)
    if state == "auto":
        mixed = not jumpy and (initial.rho is not None or (unravelling.stochastic and needs_mixed(model, z0s)))
    else:
        mixed = state == "mixed"
    if unravelling.stochastic:
        check_unravellable(model, z0s, mixed=mixed or state == "purified")
        if not jumpy:
            check_positivity(model, z0s)
    return _Plan(model=model, observables=obs, key=key, grid=grid, chunk=chunk, unravelling=unravelling,
                 mixed=mixed, dtype=dtype, hist_idx=hist_idx)
