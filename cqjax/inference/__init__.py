"""Inference from classical records: paths as data, the quantum filter and the path likelihood,
maximum-likelihood fits and likelihood-ratio tests; fits of binned distributions through the master equation."""

from .data import DataError, PathData, load_paths, save_paths, validate_paths
from .lrtest import LRTest, likelihood_ratio_test
from .master_fit import HistogramData, bin_probabilities, fit_master_histogram, histogram_counts
from .maximum_likelihood import FitResult, fit
from .quantum_filter import filter, filter_paths, loglikelihood
from .simulate_paths import simulate_paths

__all__ = [
    "DataError",
    "FitResult",
    "HistogramData",
    "LRTest",
    "PathData",
    "bin_probabilities",
    "filter",
    "filter_paths",
    "fit",
    "fit_master_histogram",
    "histogram_counts",
    "likelihood_ratio_test",
    "load_paths",
    "loglikelihood",
    "save_paths",
    "simulate_paths",
    "validate_paths",
]
