"""The linear Diosi ensemble (Fig. 2 parameters): the final p by branch against its exact law (a
Born-weighted mixture of the branches), the collapse of <sz>, E<sx> against the trade-off."""

import numpy as np

from cqjax.analysis import diosi_final_momentum

from ._ensemble import ensemble_figure
from ._runs import Runs, Sizes, runs


def exact_final_p(r: Runs, grid: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The exact law of the final p for the config's model and initial state: density, mean, var."""
    model, initial = r.cfg.model, r.cfg.initial
    p_var0 = 0.0 if initial.z_cov is None else float(np.asarray(initial.z_cov)[1, 1])
    return diosi_final_momentum(
        grid, r.t[-1], initial.psi, float(initial.z_mean[1]), float(model.lam), float(model.sigma), p_var0
    )


def make(sizes: Sizes):
    r = runs("diosi_fig2.toml", sizes, True)
    return ensemble_figure(r, "p", "linear Diosi ensemble (Fig. 2 parameters)", exact_final_p)
