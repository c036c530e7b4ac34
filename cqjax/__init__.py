"""cqjax: classical-quantum hybrid dynamics in JAX.

Models (the physics) are ``eqx.Module``s with their parameters as pytree leaves; unravellings
and solvers are the numerical method; ``run_ensemble`` is the chunked runner; ``simulate``
integrates one differentiable trajectory (vmap it for batches); ``solve_master`` integrates the
CQ master equation on a phase-space grid and ``compare_results`` checks one against the other.

The front door: ``cqjax.run(model, state0, z0, ...)``, ``cqjax.master(...)`` and
``cqjax.compare(ensemble, master)`` in one call each, results as objects (``Ensemble``,
``Master``: ``save``, ``to_xarray``, ``plot``) and ``cqjax.load(path)``; ``cqjax.operators``
builds operators and states. (``cqjax.master`` is the function; the subpackage stays importable
as ``from cqjax.master import solve_master``.)
"""

from typing import TYPE_CHECKING

from . import operators
from .analysis import Comparison, compare_results
from .analysis.finite import compare_finite
from .dynamics import (
    AbstractSolver,
    AbstractUnravelling,
    EulerMaruyama,
    Healed,
    Jump,
    Kraus,
    Linear,
    MeanField,
    Milstein,
)
from .ensemble import (
    EnsembleResult,
    Solution,
    TimeGrid,
    initialize_distributed,
    run_ensemble,
    simulate,
    trajectory_key,
)
from .ensemble.finite import run_finite
from .errors import InputError, Interrupted, SimulationError
from .front import Ensemble, Master, Mixture, compare, load, master, run
from .inference import (
    DataError,
    FitResult,
    HistogramData,
    LRTest,
    PathData,
    filter,
    filter_paths,
    fit,
    fit_master_histogram,
    histogram_counts,
    likelihood_ratio_test,
    load_paths,
    loglikelihood,
    save_paths,
    simulate_paths,
)
from .io import (
    ConfigError,
    MasterOptions,
    RunConfig,
    load_config,
    load_results,
    parse_config,
    save_master,
    save_results,
)
from .master import MasterResult, PhaseSpaceGrid, solve_master
from .master.finite import solve_finite
from .models import (
    AbstractAbsorbingModel,
    AbstractDiagonalModel,
    AbstractDissipativeModel,
    AbstractFiniteModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    AbstractPlanckModel,
    AbstractTimeDependentModel,
    AbstractWalledModel,
    CQChain,
    Diosi,
    DrivenDiosi,
    GHZLattice,
    HeatedOscillator,
    JumpOscillator,
    JumpQubit,
    PlanarSuperposedMass,
    PointerQubit,
    Seed000,
    SqrtWell,
    SuperposedMass,
    check_complete_positivity,
    check_finite_positivity,
    check_positivity,
    clocked,
    consistency,
    generator,
    register_model,
)
from .operators import pauli
from .spec import HistogramSpec, InitialState, MixtureState, Observable, parse_observable

if TYPE_CHECKING:  # imported on first use (``__getattr__`` below); named here for type checkers and the docs
    from .plot import plot_comparison, plot_results

__version__ = "0.1.0"

_PLOTTING = ("plot_comparison", "plot_results")


def __getattr__(name: str):
    """The plotting functions, imported on first use: matplotlib costs ~1 s at start-up, which
    ``cqjax run`` and the library's numerical side never need (PEP 562)."""
    if name in _PLOTTING:
        from . import plot

        return getattr(plot, name)
    raise AttributeError(f"module 'cqjax' has no attribute {name!r}")


__all__ = [
    "AbstractAbsorbingModel",
    "AbstractWalledModel",
    "AbstractDiagonalModel",
    "AbstractDissipativeModel",
    "AbstractFiniteModel",
    "AbstractGeneralModel",
    "AbstractJumpModel",
    "AbstractModel",
    "AbstractPlanckModel",
    "AbstractTimeDependentModel",
    "AbstractSolver",
    "AbstractUnravelling",
    "Comparison",
    "DataError",
    "FitResult",
    "HistogramData",
    "LRTest",
    "PathData",
    "ConfigError",
    "CQChain",
    "Diosi",
    "DrivenDiosi",
    "GHZLattice",
    "HeatedOscillator",
    "JumpOscillator",
    "JumpQubit",
    "PlanarSuperposedMass",
    "PointerQubit",
    "Seed000",
    "SqrtWell",
    "SuperposedMass",
    "Ensemble",
    "EnsembleResult",
    "Master",
    "EulerMaruyama",
    "Healed",
    "HistogramSpec",
    "InitialState",
    "InputError",
    "Interrupted",
    "Jump",
    "Kraus",
    "Linear",
    "MasterOptions",
    "MasterResult",
    "MeanField",
    "Mixture",
    "MixtureState",
    "Milstein",
    "Observable",
    "PhaseSpaceGrid",
    "RunConfig",
    "SimulationError",
    "Solution",
    "TimeGrid",
    "check_complete_positivity",
    "check_finite_positivity",
    "check_positivity",
    "clocked",
    "consistency",
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
    "pauli",
    "plot_comparison",
    "plot_results",
    "compare",
    "compare_results",
    "compare_finite",
    "generator",
    "initialize_distributed",
    "load_config",
    "load",
    "load_results",
    "master",
    "operators",
    "parse_config",
    "parse_observable",
    "register_model",
    "run",
    "run_ensemble",
    "run_finite",
    "save_master",
    "save_results",
    "solve_master",
    "solve_finite",
    "simulate",
    "trajectory_key",
]
