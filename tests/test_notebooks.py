"""The notebooks run top to bottom and do what they claim."""

import pytest
from helpers import run_notebook


@pytest.mark.optimized  # a long run: XLA's optimisations pay (tests/conftest.py)
@pytest.mark.slow
def test_fit_notebook_recovers_parameters():
    ns = run_notebook("fit_diosi_parameters.ipynb")
    assert ns["history"][-1] < 0.05 * ns["history"][0]
    # Statistical precision of the fit with 4000 model and 20000 data trajectories: a few %.
    assert abs(ns["lam_fit"] - 0.7) < 0.07
    assert abs(ns["sigma_fit"] - 0.9) < 0.07


@pytest.mark.slow
def test_fit_master_notebook_recovers_lam_and_gamma_c():
    """notebooks/fit_master.ipynb: seed 000's lam and gamma_c from 4 x 4000 binned momenta, fitted
    through the master equation, within 4 standard errors of the truth (the ensemble's time step and
    the master grid add small biases to the statistical error)."""
    ns = run_notebook("fit_master.ipynb")
    result, truth = ns["result"], ns["TRUE"]
    assert result.converged
    for name in ("lam", "gamma_c"):
        assert abs(result.estimates[name] - truth[name]) < 4 * result.stderr[name]


@pytest.mark.slow
def test_tradeoff_notebook_rejects_excess_decoherence_only_where_visible():
    """notebooks/tradeoff_lrtest.ipynb: saturation rejected for the Rabi qubit with excess dephasing
    (p < 1e-3), not at saturation (p > 0.05)."""
    ns = run_notebook("tradeoff_lrtest.ipynb")
    assert ns["tests"][4.0].p_value < 1e-3
    assert ns["tests"][0.0].p_value > 0.05
