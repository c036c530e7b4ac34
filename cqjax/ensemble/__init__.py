"""Ensembles of trajectories: keys, the time loop, one differentiable trajectory (``simulate``),
the streamed statistics and the chunked runner (``run_ensemble``)."""

from ._keys import trajectory_key
from ._time import TimeGrid
from .runner import EnsembleResult, run_ensemble
from .simulate import Solution, simulate

__all__ = ["EnsembleResult", "Solution", "TimeGrid", "run_ensemble", "simulate", "trajectory_key"]
