"""Analysis: the ensemble against the master equation (``compare_results``), the closed-form
results the simulations are checked against (``exact``), the healed dynamics against the
mean-field prediction (``meanfield``) and Bloch vectors (``bloch``)."""

from .bloch import bloch_vector, bloch_vector_rho
from .compare import Comparison, compare_results, threshold
from .exact import (
    diosi_coherence,
    diosi_final_momentum,
    diosi_mean_field_coherence,
    diosi_mean_sz_squared,
    diosi_p_moments,
    diosi_phase_diffusion,
    diosi_q_mean,
    seed000_deviation_moments,
    seed000_min_eig_relative,
    seed000_p_marginal_masses,
    seed000_validity_bounds,
    seed000_validity_distances,
    tradeoff_envelope,
    tradeoff_rate,
)
from .meanfield import coherence_prediction, moment_z_scores, seed000_validity_measures, seed000_validity_runs

__all__ = [
    "Comparison",
    "bloch_vector",
    "bloch_vector_rho",
    "coherence_prediction",
    "compare_results",
    "diosi_coherence",
    "diosi_final_momentum",
    "diosi_mean_field_coherence",
    "diosi_mean_sz_squared",
    "diosi_p_moments",
    "diosi_q_mean",
    "seed000_min_eig_relative",
    "seed000_p_marginal_masses",
    "diosi_phase_diffusion",
    "moment_z_scores",
    "seed000_deviation_moments",
    "seed000_validity_bounds",
    "seed000_validity_distances",
    "seed000_validity_measures",
    "seed000_validity_runs",
    "threshold",
    "tradeoff_envelope",
    "tradeoff_rate",
]

from .exact import sz_collapse_moment  # noqa: E402

__all__ += ["sz_collapse_moment"]

from .exact import cq_chain_coherence, heating_rate  # noqa: E402

__all__ += ["cq_chain_coherence", "heating_rate"]
