"""The streamed statistics of an ensemble as one mergeable state: ``init / update / merge /
finalize``.

An ``Accumulator`` holds, per saved time, the number of trajectories in the statistics, the mean
and centred second moment of every observable (merged with the parallel formula of Chan, Golub
and LeVeque, "Algorithms for computing the sample variance", 1983), the non-finite and stopped
counts, the histogram sums and the first trajectories whole. ``merge`` is associative and
commutative up to rounding, so one merge combines chunks, processes and a checkpoint with the rest
of a run; the statistics do not depend on how the trajectories were split (float64 on the host).
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


_HIST = ("h_sum", "h_sq_re", "h_sq_im", "h_outside")


def init(record, n_samples: int) -> Accumulator:
    """The empty accumulator for chunk records shaped like ``record`` (arrays or
    ``jax.ShapeDtypeStruct``) keeping ``n_samples`` trajectories."""
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
    )


def from_record(record: dict, start: int, n_valid: int) -> Accumulator:
    """One chunk's reductions (``chunk_record``, on the host) as an accumulator: trajectories
    start .. start + n_valid - 1; its samples are the chunk's first ones."""
    f64 = lambda key: np.asarray(record[key], np.float64)
    hist = None
    if "h_sum" in record:
        hist = tuple(np.asarray(record[h], np.complex128 if h == "h_sum" else np.float64) for h in _HIST)
    z = np.asarray(record["z"])
    kept = min(z.shape[1], n_valid)
    index = np.full(z.shape[1], NO_SAMPLE, np.int64)
    index[:kept] = start + np.arange(kept)
    return Accumulator(
        done=np.int64(n_valid),
        count=f64("count"),
        mean=f64("mean"),
        m2=f64("m2"),
        nonfinite=f64("nonfinite"),
        stopped=f64("stopped") if "stopped" in record else np.zeros_like(f64("count")),
        hist=hist,
        sample_index=index,
        sample_z=z,
        sample_psi=np.asarray(record["psi"]),
    )


def merge(a: Accumulator, b: Accumulator) -> Accumulator:
    """The statistics of the union of two disjoint sets of trajectories (Chan et al.):
    n = n_a + n_b, mean = mean_a + (mean_b - mean_a) n_b / n,
    M2 = M2_a + M2_b + (mean_b - mean_a)^2 n_a n_b / n; the samples kept are the lowest-numbered
    trajectories of both (as many as the larger of the two keeps)."""
    n = a.count + b.count
    frac = np.divide(b.count, n, out=np.zeros_like(n), where=n > 0)[:, None]
    delta = b.mean - a.mean
    hist = None if a.hist is None else tuple(x + y for x, y in zip(a.hist, b.hist))
    index = np.concatenate([a.sample_index, b.sample_index])
    slots = max(a.sample_index.shape[0], b.sample_index.shape[0])
    keep = np.argsort(index, kind="stable")[:slots]
    return Accumulator(
        done=a.done + b.done,
        count=n,
        mean=a.mean + delta * frac,
        m2=a.m2 + b.m2 + delta**2 * a.count[:, None] * frac,
        nonfinite=a.nonfinite + b.nonfinite,
        stopped=a.stopped + b.stopped,
        hist=hist,
        sample_index=index[keep],
        sample_z=np.concatenate([a.sample_z, b.sample_z], axis=1)[:, keep],
        sample_psi=np.concatenate([a.sample_psi, b.sample_psi], axis=1)[:, keep],
    )


def update(acc: Accumulator, record: dict, start: int, n_valid: int) -> Accumulator:
    """``acc`` with one more chunk merged in."""
    return merge(acc, from_record(record, start, n_valid))


class Statistics(NamedTuple):
    """What ``finalize`` gives: per-observable means and standard errors (T,), the kept samples
    (S, T, ...), the fraction stopped (T,)."""

    mean: dict
    sem: dict
    samples_z: np.ndarray
    samples_psi: np.ndarray
    stopped: np.ndarray


def finalize(acc: Accumulator, names: list[str]) -> Statistics:
    """Means and standard errors sqrt(M2 / (n - 1) / n); the samples trajectory-first. Checks
    (no finite trajectory left, overflow) are the runner's (``check_statistics``)."""
    n = np.maximum(acc.count, 1.0)
    sem = np.sqrt(acc.m2 / np.maximum(acc.count - 1.0, 1.0)[:, None] / n[:, None])
    filled = acc.sample_index != NO_SAMPLE
    return Statistics(
        mean={k: acc.mean[:, j] for j, k in enumerate(names)},
        sem={k: sem[:, j] for j, k in enumerate(names)},
        samples_z=np.swapaxes(acc.sample_z[:, filled], 0, 1),
        samples_psi=np.swapaxes(acc.sample_psi[:, filled], 0, 1),
        stopped=acc.stopped / n,
    )


def to_arrays(acc: Accumulator) -> dict[str, np.ndarray]:
    """Flat ``{name: array}`` for a checkpoint file or a collective."""
    out = {k: np.asarray(v) for k, v in acc._asdict().items() if k != "hist"}
    if acc.hist is not None:
        out.update({h: v for h, v in zip(_HIST, acc.hist)})
    return out


def from_arrays(arrays: dict) -> Accumulator:
    """The inverse of ``to_arrays``."""
    fields = {k: np.asarray(arrays[k]) for k in Accumulator._fields if k != "hist"}
    hist = tuple(np.asarray(arrays[h]) for h in _HIST) if "h_sum" in arrays else None
    return Accumulator(hist=hist, **fields)
