"""Fitting model parameters to a measured phase-space distribution through the master equation.

The data: counts of one coordinate in bins at several times (a detector's histogram, or
``histogram_counts`` of an ensemble run), N_k independent samples at time t_k. The model's
prediction: the bin probabilities p_kb(theta) of varrho(z, t_k) from ``solve_master`` (seed 004
eq. (5): I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics"),
differentiable in theta. The estimate maximises the multinomial log-likelihood
log L = sum_k [sum_b n_kb log p_kb + n_k,out log(1 - sum_b p_kb)]
with the L-BFGS search of ``fit``; standard errors from the observed information (central
differences of the exact gradient).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..master.solver import solve_master
from ..models._base import AbstractModel
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState
from .maximum_likelihood import FitResult, _minimise, _result
from .parameters import check_free, get_values, to_natural, to_unconstrained, with_values


@dataclasses.dataclass(frozen=True)
class HistogramData:
    """Counts of ``coord`` in the bins ``edges`` (B + 1, evenly spaced) at times ``t`` (K,): ``counts``
    (K, B) and the samples outside the bins ``outside`` (K,)."""

    coord: str
    t: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    outside: np.ndarray

    def __post_init__(self):
        t, e, c, o = (np.asarray(x, float) for x in (self.t, self.edges, self.counts, self.outside))
        if t.ndim != 1 or t.size < 1 or not np.all(np.diff(t) > 0) or not t[0] > 0:
            raise ValueError(f"data.t: need increasing times > 0, got {t}")
        if e.ndim != 1 or e.size < 2 or not np.allclose(np.diff(e), (e[-1] - e[0]) / (e.size - 1), rtol=1e-9):
            raise ValueError("data.edges: need at least two evenly spaced bin edges")
        if c.shape != (t.size, e.size - 1) or o.shape != (t.size,):
            raise ValueError(f"data.counts: need shape {(t.size, e.size - 1)} and outside {(t.size,)}")
        if not (np.all(np.isfinite(c)) and np.all(c >= 0) and np.all(o >= 0)):
            raise ValueError("data.counts: need finite counts >= 0")


def histogram_counts(ensemble, coord: str) -> HistogramData:
    """The counts behind an ensemble run's one-coordinate histogram at its saved times t > 0
    (density x bin width x counted trajectories, rounded)."""
    hist = ensemble.histogram
    if hist is None or list(hist["coords"]) != [coord]:
        raise ValueError(f"histogram_counts: the run needs a histogram of {coord!r} alone")
    edges = np.asarray(hist[f"edges.{coord}"])
    n = np.asarray(ensemble.counted, float).reshape(-1)
    mass = np.real(np.trace(hist["density"], axis1=-2, axis2=-1)) * (edges[1] - edges[0])
    counts = np.rint(mass * n[:, None])
    outside = np.rint(np.asarray(hist["outside"]) * n)
    return HistogramData(coord, np.asarray(ensemble.t)[1:], edges, counts[1:], outside[1:])


def _save_grid(t: np.ndarray) -> tuple[float, int, np.ndarray]:
    """(t1, n_saves, save indices of t): the data times on the master's evenly spaced saves."""
    t1 = float(t[-1])
    for n_saves in range(t.size, 100 * t.size + 1):
        k = t * n_saves / t1
        if np.allclose(k, np.rint(k), atol=1e-9 * n_saves):
            return t1, n_saves, np.rint(k).astype(int)
    raise ValueError("data.t: the times need a common spacing (t_k = j_k t1 / n for integers j_k, n)")


def bin_probabilities(model: AbstractModel, initial: InitialState, data: HistogramData, **master) -> jax.Array:
    """p_kb (K, B): the master equation's probability of each bin at each data time (differentiable
    in the model's parameters). ``master``: ``cells``, ``extent``, ``dt`` of ``solve_master``."""
    t1, n_saves, idx = _save_grid(np.asarray(data.t, float))
    e = np.asarray(data.edges, float)
    spec = HistogramSpec((data.coord,), ((float(e[0]), float(e[-1]), e.size - 1),))
    r = solve_master(
        model, initial, t1=t1, n_saves=n_saves, histogram=spec, error_estimate=False, save_density=1, **master
    )
    assert r.histogram is not None  # requested above
    return jnp.real(jnp.trace(r.histogram["density"][idx], axis1=-2, axis2=-1)) * spec.cell_volume


def histogram_loglikelihood(model: AbstractModel, initial: InitialState, data: HistogramData, **master) -> jax.Array:
    """The multinomial log-likelihood of the counts (module docstring; constant terms left out)."""
    p = bin_probabilities(model, initial, data, **master)
    out = 1.0 - jnp.sum(p, axis=-1)
    counts, outside = jnp.asarray(data.counts), jnp.asarray(data.outside)
    log = lambda x, n: jnp.where(n > 0, n * jnp.log(jnp.maximum(x, 1e-300)), 0.0)  # noqa: E731
    return jnp.sum(log(p, counts)) + jnp.sum(log(out, outside))


def fit_master_histogram(
    model: AbstractModel,
    initial: InitialState,
    data: HistogramData,
    free=("lam",),
    *,
    cells: tuple[int, ...],
    extent: dict[str, tuple[float, float]],
    dt: float | None = None,
    positive=None,
    max_iterations: int = 100,
    gtol: float = 1e-7,
) -> FitResult:
    """Maximum-likelihood estimate of the ``free`` parameters of ``model`` (its values are the
    starting point) from binned counts ``data`` through the master equation on a fixed grid
    (``cells``, ``extent``; ``dt`` default: the automatic step at the starting values, kept for every
    evaluation so that the likelihood is a smooth function of the parameters). Positive parameters
    on a log scale (``parameters.POSITIVE``); converged as in ``fit``; ``transitions`` is the number
    of counts."""
    if not jax.config.read("jax_enable_x64"):
        raise ValueError("fit_master_histogram: needs float64; call jax.config.update('jax_enable_x64', True) first")
    names, positive = check_free(model, free, positive)
    positive = jnp.array(positive)
    model = with_values(model, names, get_values(model, names))  # array leaves: one compilation per shape
    t1, n_saves, _ = _save_grid(np.asarray(data.t, float))
    if dt is None:
        dt = solve_master(model, initial, t1=t1, n_saves=n_saves, cells=cells, extent=extent, error_estimate=False).dt
    master = {"cells": tuple(cells), "extent": dict(extent), "dt": float(dt)}
    total = float(np.sum(data.counts) + np.sum(data.outside))

    def nll(theta):
        return -histogram_loglikelihood(with_values(model, names, theta), initial, data, **master)

    def value_and_grad(u):
        value, grad = jax.value_and_grad(lambda v: nll(to_natural(v, positive)) / total)(u)
        return value, grad

    u0 = to_unconstrained(get_values(model, names), positive)
    u, small, iterations = _minimise(u0, (), max_iterations, gtol, value_and_grad)
    theta = to_natural(u, positive)
    info = _difference_information(jax.grad(nll), np.asarray(theta))
    loglik, grad = jax.value_and_grad(nll)(theta)
    return _result(
        names,
        np.asarray(theta),
        info,
        -float(loglik),
        -np.asarray(grad),
        small,
        iterations,
        with_values(model, names, theta),
        int(total),
    )


def _difference_information(grad, theta: np.ndarray) -> np.ndarray:
    """-d^2 log L / d theta^2 by central differences (relative step 1e-4) of the exact gradient of
    the negative log-likelihood."""
    k = theta.size
    h = 1e-4 * np.maximum(1.0, np.abs(theta))
    rows = []
    for i in range(k):
        e = h[i] * np.eye(k)[i]
        rows.append((np.asarray(grad(jnp.asarray(theta + e))) - np.asarray(grad(jnp.asarray(theta - e)))) / (2 * h[i]))
    return 0.5 * (np.array(rows) + np.array(rows).T)
