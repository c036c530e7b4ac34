"""cqjax: classical-quantum hybrid dynamics in JAX.

Models (the physics) are ``eqx.Module``s with their parameters as pytree leaves; unravellings
and solvers are the numerical method; ``run_ensemble`` is the chunked runner; ``simulate``
integrates one differentiable trajectory (vmap it for batches); ``solve_master`` integrates the
CQ master equation on a phase-space grid and ``compare_results`` checks one against the other.
"""

from ._compare import Comparison, compare_results
from ._config import ConfigError, MasterOptions, RunConfig, load_config, parse_config
from ._ensemble import EnsembleResult, HistogramSpec, InitialState, run_ensemble
from ._integrate import Solution, TimeGrid, simulate, trajectory_key
from ._lattice import PhaseSpaceGrid
from ._master import MasterResult, solve_master
from ._model import AbstractDiagonalModel, AbstractJumpModel, AbstractModel, check_positivity, generator
from ._observables import Observable, parse_observable
from ._results import load_results, save_master, save_results
from ._solver import AbstractSolver, EulerMaruyama, Kraus
from ._unravelling import AbstractUnravelling, Healed, MeanField
from .models import Diosi, JumpQubit, Seed000, SuperposedMass, register_model

__version__ = "0.1.0"

__all__ = [
    "AbstractDiagonalModel",
    "AbstractJumpModel",
    "AbstractModel",
    "AbstractSolver",
    "AbstractUnravelling",
    "Comparison",
    "ConfigError",
    "Diosi",
    "JumpQubit",
    "Seed000",
    "SuperposedMass",
    "EnsembleResult",
    "EulerMaruyama",
    "Healed",
    "HistogramSpec",
    "InitialState",
    "Kraus",
    "MasterOptions",
    "MasterResult",
    "MeanField",
    "Observable",
    "PhaseSpaceGrid",
    "RunConfig",
    "Solution",
    "TimeGrid",
    "check_positivity",
    "compare_results",
    "generator",
    "load_config",
    "load_results",
    "parse_config",
    "parse_observable",
    "register_model",
    "run_ensemble",
    "save_master",
    "save_results",
    "solve_master",
    "simulate",
    "trajectory_key",
]
