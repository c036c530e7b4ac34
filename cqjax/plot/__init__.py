"""Figures of cqjax results, built on matplotlib's Figure API (no pyplot state, no backend change).

Every function takes a results file, the dict ``load_results`` returns or a result object:
``results_figures`` / ``plot_results`` (all figures of one result, what ``cqjax plot`` writes),
``observables_figure``, ``phase_space_figure``, ``bloch_figure``, ``histogram_figure``, and
``comparison_figure`` / ``plot_comparison`` (an ensemble against the master equation).
``draw_bloch_sphere``, ``draw_bloch_path`` and ``draw_path`` draw onto an axes of your own;
``save_figure`` writes any Figure as a PNG.
"""

from ._style import save_figure
from .bloch import bloch_figure, draw_bloch_path, draw_bloch_sphere
from .compare import comparison_figure, plot_comparison
from .histogram import histogram_figure
from .observables import observables_figure
from .phase_space import draw_path, phase_space_figure
from .results import plot_results, results_figures

__all__ = [
    "bloch_figure",
    "comparison_figure",
    "draw_bloch_path",
    "draw_bloch_sphere",
    "draw_path",
    "histogram_figure",
    "observables_figure",
    "phase_space_figure",
    "plot_comparison",
    "plot_results",
    "results_figures",
    "save_figure",
]
