"""The figures of ``make figures``, one module per figure; each module's ``make(sizes)`` returns
(Figure, info: the numbers the figure annotates). Runs and sizes: ``_runs``; the shared layouts:
``_trajectory`` (Figs. 1-7) and ``_ensemble``. The physics comes from ``cqjax.analysis``."""

from . import (
    ensemble_diosi,
    ensemble_superposed_mass,
    fig1_seed000,
    fig2_diosi,
    fig3_superposed_mass,
    fig4_ghz_lattice,
    fig5_diosi,
    fig6_sqrt_well,
    fig7_superposed_mass,
    validity_seed000,
)
from ._runs import FULL, QUICK, Sizes, Skipped

FIGURES = {
    "fig1_seed000": fig1_seed000.make,
    "fig2_diosi": fig2_diosi.make,
    "fig3_superposed_mass": fig3_superposed_mass.make,
    "fig4_ghz_lattice": fig4_ghz_lattice.make,
    "fig5_diosi": fig5_diosi.make,
    "fig6_sqrt_well": fig6_sqrt_well.make,
    "fig7_superposed_mass": fig7_superposed_mass.make,
    "ensemble_diosi": ensemble_diosi.make,
    "ensemble_superposed_mass": ensemble_superposed_mass.make,
    "validity_seed000": validity_seed000.make,
}

__all__ = ["FIGURES", "FULL", "QUICK", "Sizes", "Skipped"]
