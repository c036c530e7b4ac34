"""Ensembles of trajectories: keys, the time loop, one differentiable trajectory (``simulate``),
the mergeable accumulator of streamed statistics and the chunked runner (``run_ensemble``),
sharded over the local devices and split over processes (``initialize_distributed``)."""

from ._keys import trajectory_key
from ._processes import initialize as initialize_distributed
from ._time import TimeGrid
from .runner import EnsembleResult, run_ensemble
from .simulate import Solution, simulate

__all__ = [
    "EnsembleResult",
    "Solution",
    "TimeGrid",
    "initialize_distributed",
    "run_ensemble",
    "simulate",
    "trajectory_key",
]
