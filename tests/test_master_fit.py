"""Fitting through the master equation (cqjax/inference/master_fit.py): the multinomial likelihood
of binned counts of p, maximised with the gradient of the master equation. Seed 000 (I. Layton,
"Fixing semi-classical physics from first principles", eqs. (12)-(15)) with q conserved: a
one-cell q axis, a 1-D problem in p."""

import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax.inference import HistogramData, bin_probabilities, fit_master_histogram, histogram_counts

PSI = jnp.array([1.0, 1.0], complex) / jnp.sqrt(2.0)
INITIAL = cqjax.InitialState(jnp.zeros(2), PSI)
GRID = {"cells": (1, 48), "extent": {"p": (-9.0, 9.0)}, "dt": 0.02}
EDGES = np.linspace(-6.0, 6.0, 13)
TIMES = np.array([1.0, 2.0])


def test_fit_recovers_the_parameters_of_expected_counts():
    """Counts equal to N p(theta_true) (the expected counts, no noise): the likelihood is maximal at
    theta_true exactly, so the fit must return it, from a start 20 % off, with finite errors that
    shrink as 1/sqrt(N)."""
    truth = cqjax.Seed000(lam=-1.0, gamma_c=0.5, gamma_q=0.5)
    template = HistogramData("p", TIMES, EDGES, np.zeros((2, 12)), np.zeros(2))
    p = np.asarray(bin_probabilities(truth, INITIAL, template, **GRID))
    n = 1e4
    data = HistogramData("p", TIMES, EDGES, n * p, n * (1 - p.sum(axis=1)))
    start = cqjax.Seed000(lam=-0.8, gamma_c=0.6, gamma_q=0.5)
    grid = {k: v for k, v in GRID.items() if k != "dt"}
    result = fit_master_histogram(start, INITIAL, data, free=("lam", "gamma_c"), dt=GRID["dt"], **grid)
    assert result.converged
    np.testing.assert_allclose([result.estimates["lam"], result.estimates["gamma_c"]], [-1.0, 0.5], rtol=1e-5)
    assert 0 < result.stderr["lam"] < 0.05 and 0 < result.stderr["gamma_c"] < 0.05
    assert result.transitions == pytest.approx(2 * n, abs=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"t": np.array([2.0, 1.0])}, "data.t"),
        ({"edges": np.array([0.0, 1.0, 3.0])}, "data.edges"),
        ({"counts": np.zeros((2, 5))}, "data.counts"),
        ({"counts": -np.ones((2, 12))}, "data.counts"),
    ],
)
def test_bad_histogram_data_is_refused(kwargs, match):
    fields = {"coord": "p", "t": TIMES, "edges": EDGES, "counts": np.zeros((2, 12)), "outside": np.zeros(2)}
    with pytest.raises(ValueError, match=match):
        HistogramData(**{**fields, **kwargs})


def test_histogram_counts_needs_a_histogram_of_the_coordinate():
    class NoHistogram:
        histogram = None

    with pytest.raises(ValueError, match="histogram of 'p'"):
        histogram_counts(NoHistogram(), "p")
