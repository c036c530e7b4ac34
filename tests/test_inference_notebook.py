"""notebooks/infer_diosi.ipynb runs top to bottom and does what it claims (executed as
tests/test_notebooks.py executes notebooks)."""

import pytest
from helpers import run_notebook


@pytest.mark.slow
def test_infer_notebook_recovers_lam_and_sigma():
    ns = run_notebook("infer_diosi.ipynb")
    result, truth = ns["result"], ns["TRUE"]
    assert result.converged
    for name in ("lam", "sigma"):
        assert abs(result.estimates[name] - truth[name]) < 3 * result.stderr[name]
    assert float(abs(ns["filtered"] - ns["states"][0]).max()) < 1e-10
    assert float(ns["ratio"].min()) > -1e-6  # no grid point beats the maximum
