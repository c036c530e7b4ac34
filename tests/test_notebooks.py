"""The notebooks run top to bottom and do what they claim."""

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str) -> dict:
    matplotlib.use("Agg")
    nb = json.loads((NOTEBOOKS / name).read_text())
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{name}", "exec"), namespace)
    return namespace


@pytest.mark.slow
def test_fit_notebook_recovers_parameters():
    ns = _run("fit_diosi_parameters.ipynb")
    assert ns["history"][-1] < 0.05 * ns["history"][0]
    # Statistical precision of the fit with 4000 model and 20000 data trajectories: a few %.
    assert abs(ns["lam_fit"] - 0.7) < 0.07
    assert abs(ns["sigma_fit"] - 0.9) < 0.07
