"""All the figures of one result: classical sample paths, Bloch vectors (qubits), observables and
the hybrid density histogram, as Figure objects (``results_figures``) or PNG files
(``plot_results``, what ``cqjax plot`` writes)."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from ._data import as_data, observables
from ._style import save_figure
from .bloch import bloch_figure, sample_bloch_vectors
from .histogram import histogram_figure
from .observables import observables_figure
from .phase_space import phase_space_figure

__all__ = ["plot_results", "results_figures"]


def results_figures(results) -> dict[str, Figure]:
    """The figures that apply to ``results`` (a results file, the dict ``load_results`` returns,
    or a result object), by file name: ``phase_space.png`` (sample paths), ``bloch.png`` (qubit
    samples), ``observables.png``, ``histogram.png`` (each only where the results hold it)."""
    data = as_data(results)
    figures = {}
    z = data.get("samples.z")
    if z is not None and z.ndim == 3 and z.shape[0]:
        figures["phase_space.png"] = phase_space_figure(data)
    if sample_bloch_vectors(data) is not None:
        figures["bloch.png"] = bloch_figure(data)
    if observables(data):
        figures["observables.png"] = observables_figure(data)
    if "histogram.density" in data:
        figures["histogram.png"] = histogram_figure(data)
    return figures


def plot_results(results, out_dir: str | os.PathLike) -> list[Path]:
    """Write the PNG figures of ``results`` (a results file, a loaded dict or a result object) into
    ``out_dir`` (created if missing); return the paths, in the order of ``results_figures``.
    Raises ValueError if the results lack the saved times ``t`` or a key a figure needs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [save_figure(fig, out / name, tight=False) for name, fig in results_figures(results).items()]
