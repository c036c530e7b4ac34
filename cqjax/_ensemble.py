"""Ensemble runner: chunks of vmapped trajectories with streamed statistics.

Trajectories run in fixed-size chunks (the last one padded and masked, so there is one
compilation). Each chunk reduces, at every saved time, the count, mean and centred second moment
of every observable and the histogram sums of rho; the host merges chunks exactly (Chan et al.'s
parallel variance formula, in float64). Memory does not grow with the number of trajectories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ._integrate import (
    TimeGrid,
    cast_model,
    complex_dtype,
    has_boundary,
    initial_key,
    make_draw,
    make_step,
    noise_key,
    time_loop,
    trajectory_key,
)
from ._errors import SimulationError
from ._model import (
    CONSISTENCY_RTOL,
    AbstractJumpModel,
    AbstractModel,
    check_positivity,
    check_unravellable,
    consistency,
    consistency_message,
    needs_mixed,
    validate_model,
)
from ._observables import parse_observable
from ._solver import AbstractSolver, Kraus
from ._unravelling import AbstractUnravelling, Healed, resolve_unravelling

STATES = ("auto", "pure", "mixed", "purified")
NONFINITE = ("fail", "exclude")

__all__ = ["InitialState", "HistogramSpec", "EnsembleResult", "run_ensemble"]

DEFAULT_CHUNK = 1 << 16
DEFAULT_SAMPLES = 4  # full trajectories kept (fewer if the run has fewer)


class InitialState(eqx.Module):
    """Gaussian classical point N(z_mean, z_cov) (z_cov None: a fixed point) and a quantum state:
    a pure state ``psi`` or a density matrix ``rho`` (give one; ``rho`` wins if both are set)."""

    z_mean: Float[Array, " n"]
    psi: Complex[Array, " d"] | None = None
    z_cov: Float[Array, "n n"] | None = None
    rho: Complex[Array, "d d"] | None = None

    def __check_init__(self):
        if self.psi is None and self.rho is None:
            raise ValueError("initial: give a state vector psi or a density matrix rho")

    @property
    def dim(self) -> int:
        return int(jnp.shape(self.rho if self.rho is not None else self.psi)[-1])

    def density(self, dtype=jnp.complex128) -> Array:
        """The initial density matrix, trace one."""
        if self.rho is not None:
            rho = jnp.asarray(self.rho).astype(dtype)
            return rho / jnp.real(jnp.trace(rho))
        psi = jnp.asarray(self.psi).astype(dtype)
        return jnp.outer(psi, jnp.conj(psi)) / jnp.real(jnp.vdot(psi, psi))

    def sample(self, key, dtype, mixed: bool = False) -> tuple[Array, Array]:
        """(z, psi) or, ``mixed``, (z, rho). From a density matrix a pure-state run samples
        eigenvector k with probability lambda_k (a decomposition of rho)."""
        z = jnp.asarray(self.z_mean, dtype)
        if self.z_cov is not None:
            evals, evecs = jnp.linalg.eigh(jnp.asarray(self.z_cov, dtype))
            root = evecs * jnp.sqrt(jnp.clip(evals, 0.0))
            z = z + root @ jax.random.normal(key, z.shape, dtype)
        cdtype = complex_dtype(dtype)
        if mixed:
            return z, self.density(cdtype)
        if self.rho is None:
            psi = jnp.asarray(self.psi).astype(cdtype)
            return z, psi / jnp.linalg.norm(psi)
        weights, vectors = jnp.linalg.eigh(self.density(cdtype))
        k = jax.random.categorical(jax.random.fold_in(key, 7), jnp.log(jnp.clip(weights, 0.0)))
        return z, vectors[:, k]


@dataclass(frozen=True)
class HistogramSpec:
    """Bins over one or two coordinates: ``coords`` names, ``bins`` [(lo, hi, n), ...]."""

    coords: tuple[str, ...]
    bins: tuple[tuple[float, float, int], ...]

    def edges(self) -> list[np.ndarray]:
        return [np.linspace(lo, hi, n + 1) for lo, hi, n in self.bins]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(n for _, _, n in self.bins)

    @property
    def cell_volume(self) -> float:
        return float(np.prod([(hi - lo) / n for lo, hi, n in self.bins]))


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


def _bin_index(z, hist_idx, lo, width, nbins):
    """Flat bin index of z over the histogram coordinates and whether it is on the grid."""
    flat = jnp.zeros((), jnp.int32)
    inside = jnp.ones((), bool)
    for k, i in enumerate(hist_idx):
        b = jnp.floor((z[i] - lo[k]) / width[k]).astype(jnp.int32)
        inside = inside & jnp.isfinite(z[i]) & (b >= 0) & (b < nbins[k])
        flat = flat * nbins[k] + jnp.clip(b, 0, nbins[k] - 1)
    return flat, inside


def _chunk_kernel(
    model, observables, initial, key, start, n_valid, *, grid, unravelling, solver, dtype,
    chunk, n_samples, hist, hist_idx, mixed, pure,
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
        jax.vmap(lambda k: make_draw(unravelling, k, m, dtype)(b, length))(nkeys), 0, 1
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
        out.update(_consistency_record(model, z, finite, index, pure, unravelling.stochastic))
        if has_boundary(model):
            out["stopped"] = jnp.sum(w * ~jax.vmap(model.inside)(z))
        if hist is not None:
            out.update(_histogram_record(z, psi, w, hist, hist_idx, mixed))
        return out

    _, records = time_loop(step, draw, (z0, psi0), grid, record)
    return records


def _consistency_record(model, z, finite, index, pure, unravelled) -> dict:
    """The worst violation of each ``consistency`` check over the finite trajectories; the
    complete-positivity checks only where the trajectories unravel the CQ dynamics (``unravelled``:
    not the mean-field equations)."""
    rel, amount = jax.vmap(lambda p: consistency(model, p, pure))(z)  # (B, 3)
    needed = jnp.asarray([unravelled, unravelled, True])
    rel = jnp.where(finite[:, None] & needed[None, :], rel, -1.0)
    worst = jnp.argmax(rel, axis=0)  # (3,)
    checks = jnp.arange(rel.shape[1])
    return dict(cons_rel=rel[worst, checks], cons_amount=amount[worst, checks], cons_z=z[worst],
                cons_traj=index[worst])


def _histogram_record(z, psi, w, hist, hist_idx, mixed) -> dict:
    """Per-bin sums of w rho, w Re(rho)^2, w Im(rho)^2 and the weight of finite points off the grid."""
    lo = [b[0] for b in hist.bins]
    width = [(b[1] - b[0]) / b[2] for b in hist.bins]
    nb = [b[2] for b in hist.bins]
    flat, inside = jax.vmap(lambda zz: _bin_index(zz, hist_idx, lo, width, nb))(z)
    wi = (w * inside)[:, None, None]
    rho = psi if mixed else psi[:, :, None] * jnp.conj(psi)[:, None, :]
    rho = jnp.where(wi > 0, rho, 0)  # no NaN leaks in
    seg = lambda x: jax.ops.segment_sum(x, flat, num_segments=int(np.prod(nb)))
    return dict(h_sum=seg(wi * rho), h_sq_re=seg(wi * jnp.real(rho) ** 2), h_sq_im=seg(wi * jnp.imag(rho) ** 2),
                h_outside=jnp.sum(w * ~inside))


class _Tally:
    """Host-side merge of chunk records in float64: per-time counts, means and centred second
    moments (Chan et al.'s parallel formula), non-finite and stopped counts, histogram sums and
    the first ``n_samples`` sample trajectories."""

    def __init__(self, n_samples: int):
        self.n_samples = n_samples
        self.count = self.mean = self.m2 = self.nonfinite = self.stopped = self.hist = None
        self.samples: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, rec: dict) -> None:
        n, mean, m2 = (np.asarray(rec[k], np.float64) for k in ("count", "mean", "m2"))
        if self.count is None:
            self.count, self.mean, self.m2 = n, mean, m2
            self.nonfinite = np.asarray(rec["nonfinite"], np.float64)
            self.stopped = np.asarray(rec["stopped"], np.float64) if "stopped" in rec else None
        else:
            total = self.count + n
            frac = np.divide(n, total, out=np.zeros_like(total), where=total > 0)[:, None]
            delta = mean - self.mean
            self.mean = self.mean + delta * frac
            self.m2 = self.m2 + m2 + delta**2 * self.count[:, None] * frac
            self.count = total
            self.nonfinite = self.nonfinite + rec["nonfinite"]
            if self.stopped is not None:
                self.stopped = self.stopped + rec["stopped"]
        if "h_sum" in rec:
            parts = {k: np.asarray(rec[k], np.complex128 if k == "h_sum" else np.float64)
                     for k in ("h_sum", "h_sq_re", "h_sq_im", "h_outside")}
            self.hist = parts if self.hist is None else {k: self.hist[k] + parts[k] for k in parts}
        kept = sum(z.shape[1] for z, _ in self.samples)
        if kept < self.n_samples:
            take = self.n_samples - kept
            self.samples.append((np.asarray(rec["z"])[:, :take], np.asarray(rec["psi"])[:, :take]))


def _violation(rec: dict, t: np.ndarray, coords: tuple[str, ...], policy: str, start: int, chunk: int) -> str | None:
    """The first thing in a chunk's records that must stop the run, as a one-line message."""
    bad = np.asarray(rec["cons_rel"]) > CONSISTENCY_RTOL  # (T, 3)
    k_cons = int(np.argmax(bad.any(axis=1))) if bad.any() else len(t)
    nonfinite = np.asarray(rec["nonfinite"])
    k_nan = int(np.argmax(nonfinite > 0)) if policy == "fail" and nonfinite.any() else len(t)
    if k_cons < len(t) and k_cons <= k_nan:
        c = int(np.argmax(bad[k_cons]))
        where = f"at t = {t[k_cons]:.4g} on trajectory {int(rec['cons_traj'][k_cons, c])}"
        return consistency_message(c, float(rec["cons_amount"][k_cons, c]), where, rec["cons_z"][k_cons, c], coords)
    if k_nan < len(t):
        return (f"run.nonfinite = \"fail\": {int(nonfinite.max())} of trajectories {start}..{start + chunk - 1} "
                f"became NaN or inf, the first (trajectory {int(rec['first_bad'][k_nan])}) by t = {t[k_nan]:.4g}; "
                "cqjax.simulate with trajectory_key(key(seed), i) reproduces it; run.nonfinite = \"exclude\" "
                "takes the statistics over the finite trajectories instead")
    return None


def _statistics(tally: _Tally, names: list[str], t: np.ndarray, precision: str) -> tuple[dict, dict]:
    """Means and standard errors per observable; refuses a time with no finite trajectory and
    statistics that overflowed the run's precision."""
    n = tally.count
    if (n <= 0).any():
        raise SimulationError(f"run.nonfinite: no finite trajectory is left at t = {t[int(np.argmax(n <= 0))]:.4g}")
    sem = np.sqrt(tally.m2 / np.maximum(n - 1.0, 1.0)[:, None] / n[:, None])
    for j, name in enumerate(names):
        for what, x in (("mean", tally.mean[:, j]), ("standard error", sem[:, j])):
            if not np.all(np.isfinite(x)):
                k = int(np.argmax(~np.isfinite(x)))
                raise SimulationError(
                    f"observables: the {what} of {name!r} is not finite at t = {t[k]:.4g} although every trajectory "
                    f"in it is: the values overflow {precision} (use run.precision = \"float64\" or rescale)")
    return ({k: tally.mean[:, j] for j, k in enumerate(names)}, {k: sem[:, j] for j, k in enumerate(names)})


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
    trajectories (the first ones; default ``min(4, trajectories)``) are kept whole.
    """
    n_samples = min(DEFAULT_SAMPLES, trajectories) if n_samples is None else n_samples
    if nonfinite not in NONFINITE:
        raise ValueError(f"run.nonfinite: must be one of {list(NONFINITE)}, got {nonfinite!r}")
    plan = _plan(model, initial, t1=t1, dt=dt, n_saves=n_saves, trajectories=trajectories, seed=seed,
                 unravelling=unravelling, solver=solver, observables=observables, histogram=histogram,
                 n_samples=n_samples, chunk_size=chunk_size, precision=precision, state=state)
    model, obs, key, grid, chunk = plan.model, plan.observables, plan.key, plan.grid, plan.chunk
    kernel = jax.jit(
        lambda model, obs, initial, key, start: _chunk_kernel(
            model, obs, initial, key, start, trajectories, grid=grid, unravelling=plan.unravelling,
            solver=solver, dtype=plan.dtype, chunk=chunk, n_samples=min(n_samples, chunk), hist=histogram,
            hist_idx=plan.hist_idx, mixed=plan.mixed, pure=not plan.mixed and state != "purified",
        )
    )
    t0 = time.perf_counter()
    compiled = kernel.lower(model, obs, initial, key, 0).compile()
    compile_seconds = time.perf_counter() - t0

    tally = _Tally(n_samples)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=trajectories, unit="traj", unit_scale=True, dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for start in range(0, trajectories, chunk):
            rec = jax.device_get(compiled(model, obs, initial, key, start))
            if (why := _violation(rec, grid.ts, model.coords, nonfinite, start, chunk)) is not None:
                raise SimulationError(why)
            tally.add(rec)
            if bar is not None:
                bar.update(min(chunk, trajectories - start))
    finally:
        if bar is not None:
            bar.close()
    run_seconds = time.perf_counter() - t0
    names = [o.name for o in obs]
    mean, sem = _statistics(tally, names, grid.ts, precision)
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
                  nonfinite_policy=nonfinite, excluded_trajectories=int(tally.nonfinite.max())),
    )
    if histogram is not None:
        result.histogram = _histogram_estimate(tally.hist, histogram, tally.count, float(trajectories))
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
          n_samples, chunk_size, precision, state) -> _Plan:
    """Validate the run's inputs and the model at a few initial points, and choose the chunk."""
    if state not in STATES:
        raise ValueError(f"run.state: must be one of {list(STATES)}, got {state!r}")
    if precision not in ("float32", "float64"):
        raise ValueError(f"run.precision: must be 'float32' or 'float64', got {precision!r}")
    dtype = jnp.float32 if precision == "float32" else jnp.float64
    if dtype == jnp.float64 and not jax.config.read("jax_enable_x64"):
        raise ValueError(
            "run.precision: 'float64' needs jax_enable_x64; call "
            "jax.config.update('jax_enable_x64', True) first"
        )
    if trajectories < 1:
        raise ValueError(f"run.trajectories: must be >= 1, got {trajectories}")
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
            raise ValueError(f"histogram: d = {d} is too large for a matrix-valued histogram (d x d per bin; at most 64)")
    # the default chunk shrinks for large Hilbert spaces: a step holds ~n x d operator entries
    # per trajectory (the back-reaction F = {Z, H_I}), kept below ~2^27 per chunk
    default = max(1, min(DEFAULT_CHUNK, 2**27 // (initial.dim * model.n_coords)))
    max_chunk = int(min(chunk_size or default, trajectories))
    n_chunks = -(-trajectories // max_chunk)
    # Equal chunks keep padding small; an explicit chunk_size is used as given.
    chunk = max_chunk if chunk_size else -(-trajectories // n_chunks)
    key = jax.random.key(seed)

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


def _histogram_estimate(acc, spec: HistogramSpec, counted: np.ndarray, total: float) -> dict[str, np.ndarray]:
    """varrho(z, t) ~ sum of rho in the bin / (N * cell volume), with its standard error.

    Per trajectory X = 1[Z in bin] rho_ab / vol; SE = sqrt((E[X^2] - E[X]^2) / N) for the real
    and imaginary parts separately. N (``counted``, per saved time) is the number of finite
    trajectories; ``outside`` is the fraction of them off the grid and ``nonfinite`` the fraction
    of all ``total`` trajectories that were not finite (excluded).
    """
    vol = spec.cell_volume
    shape = (acc["h_sum"].shape[0], *spec.shape, *acc["h_sum"].shape[-2:])
    outside = acc["h_outside"] / counted
    n = counted[:, None, None, None]
    mean = acc["h_sum"] / (n * vol)
    sq_re = acc["h_sq_re"] / (n * vol**2)
    sq_im = acc["h_sq_im"] / (n * vol**2)
    se_re = np.sqrt(np.clip(sq_re - mean.real**2, 0, None) / n)
    se_im = np.sqrt(np.clip(sq_im - mean.imag**2, 0, None) / n)
    out = {
        "density": mean.reshape(shape),
        "sem": (se_re + 1j * se_im).reshape(shape),
        "outside": outside,
        "nonfinite": 1.0 - counted / total,
        "coords": np.array(spec.coords),
    }
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out
