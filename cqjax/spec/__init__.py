"""What a simulation is asked to compute, shared by the trajectories and the master equation: the
initial CQ state, the observables and the histogram bins of varrho(z, t)."""

from .histogram import HistogramSpec
from .initial import InitialState, MixtureState
from .observables import Observable, parse_observable

__all__ = ["HistogramSpec", "InitialState", "MixtureState", "Observable", "parse_observable"]
