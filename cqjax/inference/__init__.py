"""Inference from classical records: paths as data, the quantum filter and the path likelihood,
maximum-likelihood fits and likelihood-ratio tests."""

from .data import DataError, PathData, load_paths, save_paths, validate_paths
from .lrtest import LRTest, likelihood_ratio_test
from .maximum_likelihood import FitResult, fit
from .quantum_filter import filter, filter_paths, loglikelihood
from .simulate_paths import simulate_paths

__all__ = [
    "DataError",
    "FitResult",
    "LRTest",
    "PathData",
    "filter",
    "filter_paths",
    "fit",
    "likelihood_ratio_test",
    "load_paths",
    "loglikelihood",
    "save_paths",
    "simulate_paths",
    "validate_paths",
]
