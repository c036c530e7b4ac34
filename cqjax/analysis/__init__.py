"""Analysis: the ensemble against the master equation (``compare_results``), the closed-form
results the simulations are checked against (``exact``) and Bloch vectors (``bloch``)."""

from .bloch import bloch_vector, bloch_vector_rho
from .compare import Comparison, compare_results, threshold
from .exact import (
    diosi_coherence,
    diosi_final_momentum,
    diosi_phase_diffusion,
    seed000_deviation_moments,
    seed000_validity_bounds,
    seed000_validity_distances,
    tradeoff_envelope,
    tradeoff_rate,
)

__all__ = [
    "Comparison",
    "bloch_vector",
    "bloch_vector_rho",
    "compare_results",
    "diosi_coherence",
    "diosi_final_momentum",
    "diosi_phase_diffusion",
    "seed000_deviation_moments",
    "seed000_validity_bounds",
    "seed000_validity_distances",
    "threshold",
    "tradeoff_envelope",
    "tradeoff_rate",
]
