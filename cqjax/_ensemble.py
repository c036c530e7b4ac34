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
from ._model import (
    AbstractJumpModel,
    AbstractModel,
    check_positivity,
    check_unravellable,
    needs_mixed,
    validate_model,
)
from ._observables import parse_observable
from ._solver import AbstractSolver, Kraus
from ._unravelling import AbstractUnravelling, Healed, resolve_unravelling

STATES = ("auto", "pure", "mixed", "purified")

__all__ = ["InitialState", "HistogramSpec", "EnsembleResult", "run_ensemble"]

DEFAULT_CHUNK = 1 << 16


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
    """Statistics of an ensemble run (numpy arrays on the host)."""

    t: np.ndarray
    mean: dict[str, np.ndarray]
    sem: dict[str, np.ndarray]
    coords: tuple[str, ...]
    samples_z: np.ndarray
    samples_psi: np.ndarray
    nonfinite: np.ndarray
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
    chunk, n_samples, hist, hist_idx, mixed,
):
    """Run one chunk of trajectories; return per-save reductions (leading axis: saved time)."""
    index = start + jnp.arange(chunk)
    weight = (index < n_valid).astype(dtype)
    tkeys = jax.vmap(lambda i: trajectory_key(key, i))(index)
    z0, psi0 = jax.vmap(lambda k: initial.sample(initial_key(k), dtype, mixed))(tkeys)
    nkeys = jax.vmap(noise_key)(tkeys)
    m = unravelling.noise_dim(model, z0[0])
    step = jax.vmap(make_step(model, unravelling, solver, grid.dt))
    # draw is vmapped over trajectories; the scan wants the step axis first.
    draw = lambda b, length: jnp.swapaxes(
        jax.vmap(lambda k: make_draw(unravelling, k, m, dtype)(b, length))(nkeys), 0, 1
    )
    count = jnp.sum(weight)

    def record(state):
        z, psi = state
        values = jnp.stack([jax.vmap(o)(z, psi) for o in observables], axis=-1)  # (B, k)
        mean = jnp.sum(weight[:, None] * values, axis=0) / count
        m2 = jnp.sum(weight[:, None] * (values - mean) ** 2, axis=0)
        finite = jnp.all(jnp.isfinite(z), axis=-1) & jnp.all(jnp.isfinite(psi.reshape(chunk, -1)), axis=-1)
        out = dict(
            mean=mean, m2=m2, nonfinite=jnp.sum(weight * ~finite),
            z=z[:n_samples], psi=psi[:n_samples],
        )
        if has_boundary(model):
            out["stopped"] = jnp.sum(weight * ~jax.vmap(model.inside)(z))
        if hist is not None:
            lo = [b[0] for b in hist.bins]
            width = [(b[1] - b[0]) / b[2] for b in hist.bins]
            nb = [b[2] for b in hist.bins]
            flat, inside = jax.vmap(lambda zz: _bin_index(zz, hist_idx, lo, width, nb))(z)
            inside = inside & finite
            w = (weight * inside)[:, None, None]
            rho = psi if mixed else psi[:, :, None] * jnp.conj(psi)[:, None, :]
            rho = jnp.where(w > 0, rho, 0)  # no NaN leaks in
            nbins = int(np.prod(nb))
            seg = lambda x: jax.ops.segment_sum(x, flat, num_segments=nbins)
            out.update(
                h_sum=seg(w * rho),
                h_sq_re=seg(w * jnp.real(rho) ** 2),
                h_sq_im=seg(w * jnp.imag(rho) ** 2),
                h_outside=jnp.sum(weight * ~inside),
            )
        return out

    _, records = time_loop(step, draw, (z0, psi0), grid, record)
    records["count"] = count
    return records


class _Merge:
    """Exact streaming merge of per-chunk (count, mean, M2) in float64."""

    def __init__(self):
        self.n = 0.0
        self.mean = None
        self.m2 = None

    def add(self, n, mean, m2):
        mean, m2 = np.asarray(mean, np.float64), np.asarray(m2, np.float64)
        if self.mean is None:
            self.n, self.mean, self.m2 = n, mean, m2
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.n * n / total)
        self.n = total


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
    n_samples: int = 4,
    chunk_size: int | None = None,
    precision: str = "float32",
    state: str = "auto",
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
    """
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
    n_samples = min(n_samples, chunk, trajectories)
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
    unravelling = resolve_unravelling(model, unravelling)
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

    kernel = jax.jit(
        lambda model, obs, initial, key, start: _chunk_kernel(
            model, obs, initial, key, start, trajectories, grid=grid, unravelling=unravelling,
            solver=solver, dtype=dtype, chunk=chunk, n_samples=n_samples, hist=histogram,
            hist_idx=hist_idx, mixed=mixed,
        )
    )
    t0 = time.perf_counter()
    compiled = kernel.lower(model, obs, initial, key, 0).compile()
    compile_seconds = time.perf_counter() - t0

    merge = _Merge()
    nonfinite = np.zeros(grid.n_saves + 1)
    stopped = np.zeros(grid.n_saves + 1) if has_boundary(model) else None
    hist_acc = None
    samples = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=trajectories, unit="traj", unit_scale=True, dynamic_ncols=True)
    t0 = time.perf_counter()
    for start in range(0, trajectories, chunk):
        rec = jax.device_get(compiled(model, obs, initial, key, start))
        merge.add(float(rec["count"]), rec["mean"], rec["m2"])
        nonfinite += rec["nonfinite"]
        if stopped is not None:
            stopped += rec["stopped"]
        if samples is None:
            samples = (np.asarray(rec["z"]), np.asarray(rec["psi"]))
        if histogram is not None:
            parts = {k: np.asarray(rec[k], np.complex128 if k == "h_sum" else np.float64)
                     for k in ("h_sum", "h_sq_re", "h_sq_im", "h_outside")}
            hist_acc = parts if hist_acc is None else {k: hist_acc[k] + parts[k] for k in parts}
        if bar is not None:
            bar.update(min(chunk, trajectories - start))
    run_seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()

    n = float(trajectories)
    var = merge.m2 / max(n - 1.0, 1.0)
    sem = np.sqrt(var / n)
    names = [o.name for o in obs]
    result = EnsembleResult(
        t=np.asarray(grid.ts),
        mean={k: merge.mean[:, j] for j, k in enumerate(names)},
        sem={k: sem[:, j] for j, k in enumerate(names)},
        coords=model.coords,
        samples_z=np.swapaxes(samples[0], 0, 1),
        samples_psi=np.swapaxes(samples[1], 0, 1),
        nonfinite=nonfinite,
        trajectories=trajectories,
        steps=grid.n_steps,
        compile_seconds=compile_seconds,
        run_seconds=run_seconds,
        stopped=None if stopped is None else stopped / n,
        info=dict(chunk_size=chunk, noise_block=grid.block, unravelling=unravelling.name,
                  state="mixed" if mixed else ("purified" if state == "purified" else "pure")),
    )
    if histogram is not None:
        result.histogram = _histogram_estimate(hist_acc, histogram, n)
    return result


def _histogram_estimate(acc, spec: HistogramSpec, n: float) -> dict[str, np.ndarray]:
    """varrho(z, t) ~ sum of rho in the bin / (N * cell volume), with its standard error.

    Per trajectory X = 1[Z in bin] rho_ab / vol; SE = sqrt((E[X^2] - E[X]^2) / N) for the real
    and imaginary parts separately.
    """
    vol = spec.cell_volume
    shape = (acc["h_sum"].shape[0], *spec.shape, *acc["h_sum"].shape[-2:])
    mean = acc["h_sum"] / (n * vol)
    sq_re = acc["h_sq_re"] / (n * vol**2)
    sq_im = acc["h_sq_im"] / (n * vol**2)
    se_re = np.sqrt(np.clip(sq_re - mean.real**2, 0, None) / n)
    se_im = np.sqrt(np.clip(sq_im - mean.imag**2, 0, None) / n)
    out = {
        "density": mean.reshape(shape),
        "sem": (se_re + 1j * se_im).reshape(shape),
        "outside": acc["h_outside"] / n,
        "coords": np.array(spec.coords),
    }
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out
