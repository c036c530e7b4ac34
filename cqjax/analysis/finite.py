"""A finite-state ensemble against its exact block ODE: the same z-scores and Bonferroni verdict as
``compare_results``, through the records the results files hold."""

from __future__ import annotations

import numpy as np

from .compare import Comparison, compare_results


def finite_run_record(result, meta: dict | None = None) -> dict:
    """A ``FiniteEnsembleResult`` as a results record (``t``, ``NAME.mean``, ``NAME.sem``, ``meta``)."""
    record = {"t": result.t, "meta": {"trajectories": result.trajectories, **(meta or {})}}
    for name in result.mean:
        record[f"{name}.mean"], record[f"{name}.sem"] = result.mean[name], result.sem[name]
    return record


def finite_master_record(result, meta: dict | None = None) -> dict:
    """A ``FiniteMasterResult`` as a master record: exact values (no discretisation error), nothing
    lost, ``min_eig`` the smallest eigenvalue of the blocks rho(z) at each time."""
    record = {
        "t": result.t,
        "min_eig": np.linalg.eigvalsh(0.5 * (result.rho + np.conj(np.swapaxes(result.rho, -1, -2)))).min(axis=(1, 2)),
        "lost": np.zeros_like(result.t),
        "trace": np.einsum("tzii->t", result.rho).real,
        "meta": {"completely_positive": True, **(meta or {})},
    }
    for name in result.mean:
        record[f"{name}.mean"] = result.mean[name]
    return record


def compare_finite(run, master, alpha: float = 0.01) -> Comparison:
    """z-scores of a finite-state ensemble (``run_finite``) against the block ODE (``solve_finite``)."""
    run_meta = {"config": {"run": {"precision": "float64"}}}
    return compare_results(finite_run_record(run, run_meta), finite_master_record(master), alpha=alpha)
