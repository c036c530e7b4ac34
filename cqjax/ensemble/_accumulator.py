"""The streamed statistics of an ensemble as one mergeable state: ``init / update / merge /
finalize``.

An ``Accumulator`` holds, per saved time, the number of trajectories in the statistics, the mean
and centred second moment of every observable (merged with the parallel formula of Chan, Golub
and LeVeque, "Algorithms for computing the sample variance", 1983), the non-finite and stopped
counts, the histogram sums, the sums of the trajectories' weights (the linear unravelling), the
first trajectories whole at the saved times and the paths (every path_stride-th step) of the first
ones. ``merge`` is associative and commutative up to rounding, so one merge combines chunks,
processes and a checkpoint with the rest of a run; the statistics do not depend on how the
trajectories were split (float64 on the host).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NO_SAMPLE = np.iinfo(np.int64).max  # index of an empty sample slot: sorts last


class Accumulator(NamedTuple):
    """Streamed statistics (numpy, float64/complex128 except the samples, which keep the run's
    precision). Leading axis T: saved times; k: observables; S: sample slots."""

    done: np.ndarray  # () int64: trajectories merged in (finite or not)
    count: np.ndarray  # (T,) trajectories in the statistics (finite at that time)
    mean: np.ndarray  # (T, k)
    m2: np.ndarray  # (T, k) sum of squared deviations from the mean
    nonfinite: np.ndarray  # (T,) trajectories NaN/inf at that time
    stopped: np.ndarray  # (T,) finite trajectories stopped by an absorbing rule
    hist: tuple | None  # (sum of w rho (T, B, d, d), of w Re(rho)^2, of w Im(rho)^2, outside (T,))
    sample_index: np.ndarray  # (S,) int64 trajectory index of each kept sample (NO_SAMPLE: empty)
    sample_z: np.ndarray  # (T, S, n)
    sample_psi: np.ndarray  # (T, S, d) or (T, S, d, d)
    w_sum: np.ndarray  # (T,) sum of the finite trajectories' weights (1 each without weights)
    w2_sum: np.ndarray  # (T,) sum of their squares
    path_index: np.ndarray  # (N,) int64 trajectory index of each kept path (NO_SAMPLE: empty)
    path_z: np.ndarray  # (P, N, n) the classical paths at the path times
    path_values: np.ndarray  # (P, N, k) the observables along them
    path_weight: np.ndarray  # (P, N) the weights along them (1 without weights)


_HIST = ("h_sum", "h_sq_re", "h_sq_im", "h_outside")


def init(record, n_samples: int, n_paths: int = 0) -> Accumulator:
    """The empty accumulator for chunk records shaped like ``record`` (arrays or
    ``jax.ShapeDtypeStruct``) keeping ``n_samples`` trajectories and ``n_paths`` paths."""
    t, k = record["mean"].shape
    zeros = lambda *shape: np.zeros(shape, np.float64)
    hist = None
    if "h_sum" in record:
        hist = tuple(np.zeros(record[h].shape, np.complex128 if h == "h_sum" else np.float64) for h in _HIST)
    z, psi = record["z"], record["psi"]
    return Accumulator(
        done=np.int64(0),
        count=zeros(t),
        mean=zeros(t, k),
        m2=zeros(t, k),
        nonfinite=zeros(t),
        stopped=zeros(t),
        hist=hist,
        sample_index=np.full(n_samples, NO_SAMPLE, np.int64),
        sample_z=np.zeros((t, n_samples, *z.shape[2:]), z.dtype),
        sample_psi=np.zeros((t, n_samples, *psi.shape[2:]), psi.dtype),
        w_sum=zeros(t),
        w2_sum=zeros(t),
        **_no_paths(z.dtype, z.shape[2], k) if "path_z" not in record else _empty_paths(record, n_paths),
    )


def _no_paths(dtype, n: int, k: int) -> dict:
    return dict(
        path_index=np.zeros(0, np.int64),
        path_z=np.zeros((0, 0, n), dtype),
        path_values=np.zeros((0, 0, k), dtype),
        path_weight=np.zeros((0, 0), dtype),
    )


def _empty_paths(record, n_paths: int) -> dict:
    p, _, n = record["path_z"].shape
    k = record["path_values"].shape[2]
    dtype = record["path_z"].dtype
    return dict(
        path_index=np.full(n_paths, NO_SAMPLE, np.int64),
        path_z=np.zeros((p, n_paths, n), dtype),
        path_values=np.zeros((p, n_paths, k), dtype),
        path_weight=np.zeros((p, n_paths), dtype),
    )


def from_record(record: dict, start: int, n_valid: int) -> Accumulator:
    """One chunk's reductions (``chunk_record``, on the host) as an accumulator: trajectories
    start .. start + n_valid - 1; its samples are the chunk's first ones."""
    f64 = lambda key: np.asarray(record[key], np.float64)
    hist = None
    if "h_sum" in record:
        hist = tuple(np.asarray(record[h], np.complex128 if h == "h_sum" else np.float64) for h in _HIST)
    z = np.asarray(record["z"])
    paths = _no_paths(z.dtype, z.shape[2], record["mean"].shape[1])
    if "path_z" in record:
        paths = dict(
            path_index=_first_indices(record["path_z"].shape[1], start, n_valid),
            path_z=np.asarray(record["path_z"]),
            path_values=np.asarray(record["path_values"]),
            path_weight=np.asarray(record["path_weight"]),
        )
    return Accumulator(
        done=np.int64(n_valid),
        count=f64("count"),
        mean=f64("mean"),
        m2=f64("m2"),
        nonfinite=f64("nonfinite"),
        stopped=f64("stopped") if "stopped" in record else np.zeros_like(f64("count")),
        hist=hist,
        sample_index=_first_indices(z.shape[1], start, n_valid),
        sample_z=z,
        sample_psi=np.asarray(record["psi"]),
        w_sum=f64("w_sum") if "w_sum" in record else f64("count"),  # a record without weights: unit weights
        w2_sum=f64("w2_sum") if "w2_sum" in record else f64("count"),
        **paths,
    )


def _first_indices(slots: int, start: int, n_valid: int) -> np.ndarray:
    """The trajectory indices of a chunk's first ``slots`` trajectories (NO_SAMPLE past its valid ones)."""
    index = np.full(slots, NO_SAMPLE, np.int64)
    kept = min(slots, n_valid)
    index[:kept] = start + np.arange(kept)
    return index


def _lowest(index_a, index_b, arrays_a, arrays_b):
    """The lowest-numbered trajectories of two kept sets (as many as the larger keeps): (index, arrays),
    each array's axis 1 the trajectories."""
    index = np.concatenate([index_a, index_b])
    keep = np.argsort(index, kind="stable")[: max(index_a.shape[0], index_b.shape[0])]
    return index[keep], [np.concatenate([a, b], axis=1)[:, keep] for a, b in zip(arrays_a, arrays_b)]


def merge(a: Accumulator, b: Accumulator) -> Accumulator:
    """The statistics of the union of two disjoint sets of trajectories (Chan et al.):
    n = n_a + n_b, mean = mean_a + (mean_b - mean_a) n_b / n,
    M2 = M2_a + M2_b + (mean_b - mean_a)^2 n_a n_b / n; the samples kept are the lowest-numbered
    trajectories of both (as many as the larger of the two keeps)."""
    n = a.count + b.count
    frac = np.divide(b.count, n, out=np.zeros_like(n), where=n > 0)[:, None]
    delta = b.mean - a.mean
    hist = None if a.hist is None else tuple(x + y for x, y in zip(a.hist, b.hist))
    index, (sample_z, sample_psi) = _lowest(
        a.sample_index, b.sample_index, (a.sample_z, a.sample_psi), (b.sample_z, b.sample_psi)
    )
    paths = ("path_z", "path_values", "path_weight")
    path_index, path_arrays = _lowest(
        a.path_index, b.path_index, [getattr(a, k) for k in paths], [getattr(b, k) for k in paths]
    )
    return Accumulator(
        done=a.done + b.done,
        count=n,
        mean=a.mean + delta * frac,
        m2=a.m2 + b.m2 + delta**2 * a.count[:, None] * frac,
        nonfinite=a.nonfinite + b.nonfinite,
        stopped=a.stopped + b.stopped,
        hist=hist,
        sample_index=index,
        sample_z=sample_z,
        sample_psi=sample_psi,
        w_sum=a.w_sum + b.w_sum,
        w2_sum=a.w2_sum + b.w2_sum,
        path_index=path_index,
        **dict(zip(paths, path_arrays)),
    )


def update(acc: Accumulator, record: dict, start: int, n_valid: int) -> Accumulator:
    """``acc`` with one more chunk merged in."""
    return merge(acc, from_record(record, start, n_valid))


class Statistics(NamedTuple):
    """What ``finalize`` gives: per-observable means and standard errors (T,), the kept samples
    (S, T, ...), the fraction stopped (T,), the effective sample size (sum w)^2 / sum w^2 (T,) and
    the kept paths (``z`` (N, P, n), ``values`` {name: (N, P)}, ``weight`` (N, P); None without)."""

    mean: dict
    sem: dict
    samples_z: np.ndarray
    samples_psi: np.ndarray
    stopped: np.ndarray
    ess: np.ndarray
    paths: dict | None


def finalize(acc: Accumulator, names: list[str]) -> Statistics:
    """Means and standard errors sqrt(M2 / (n - 1) / n); the samples trajectory-first. Checks
    (no finite trajectory left, overflow) are the runner's (``check_statistics``)."""
    n = np.maximum(acc.count, 1.0)
    sem = np.sqrt(acc.m2 / np.maximum(acc.count - 1.0, 1.0)[:, None] / n[:, None])
    filled = acc.sample_index != NO_SAMPLE
    paths = None
    if acc.path_index.shape[0]:
        kept = acc.path_index != NO_SAMPLE
        paths = dict(
            z=np.swapaxes(acc.path_z[:, kept], 0, 1),
            values={k: np.swapaxes(acc.path_values[:, kept, j], 0, 1) for j, k in enumerate(names)},
            weight=np.swapaxes(acc.path_weight[:, kept], 0, 1),
        )
    return Statistics(
        mean={k: acc.mean[:, j] for j, k in enumerate(names)},
        sem={k: sem[:, j] for j, k in enumerate(names)},
        samples_z=np.swapaxes(acc.sample_z[:, filled], 0, 1),
        samples_psi=np.swapaxes(acc.sample_psi[:, filled], 0, 1),
        stopped=acc.stopped / n,
        ess=np.divide(acc.w_sum**2, acc.w2_sum, out=np.zeros_like(acc.w_sum), where=acc.w2_sum > 0),
        paths=paths,
    )


def to_arrays(acc: Accumulator) -> dict[str, np.ndarray]:
    """Flat ``{name: array}`` for a checkpoint file or a collective."""
    out = {k: np.asarray(v) for k, v in acc._asdict().items() if k != "hist"}
    if acc.hist is not None:
        out.update({h: v for h, v in zip(_HIST, acc.hist)})
    return out


def from_arrays(arrays: dict) -> Accumulator:
    """The inverse of ``to_arrays``; a checkpoint written before weights and paths were kept
    (no ``w_sum``) resumes with unit weights and no paths."""
    arrays = dict(arrays)
    if "w_sum" not in arrays:
        count, sample_z, mean = (np.asarray(arrays[k]) for k in ("count", "sample_z", "mean"))
        arrays.update(w_sum=count, w2_sum=count, **_no_paths(sample_z.dtype, sample_z.shape[2], mean.shape[1]))
    fields = {k: np.asarray(arrays[k]) for k in Accumulator._fields if k != "hist"}
    hist = tuple(np.asarray(arrays[h]) for h in _HIST) if "h_sum" in arrays else None
    return Accumulator(hist=hist, **fields)
