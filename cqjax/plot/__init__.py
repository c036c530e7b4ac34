"""Figures: the results of a run (``plot_results``) and an ensemble against the master equation
(``plot_comparison``)."""

from .compare import plot_comparison
from .results import plot_results

__all__ = ["plot_comparison", "plot_results"]
