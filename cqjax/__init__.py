"""cqjax: classical-quantum hybrid dynamics in JAX.

Models (the physics) are ``eqx.Module``s with their parameters as pytree leaves; unravellings
and solvers are the numerical method; ``run_ensemble`` is the chunked runner; ``simulate``
integrates one differentiable trajectory (vmap it for batches); ``solve_master`` integrates the
CQ master equation on a phase-space grid and ``compare_results`` checks one against the other.
"""

from ._compare import Comparison, compare_results
from ._config import ConfigError, MasterOptions, RunConfig, load_config, parse_config
from ._errors import SimulationError
from ._ensemble import EnsembleResult, HistogramSpec, InitialState, run_ensemble
from ._integrate import Solution, TimeGrid, simulate, trajectory_key
from ._lattice import PhaseSpaceGrid
from ._master import MasterResult, solve_master
from ._model import (
    AbstractDiagonalModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    check_complete_positivity,
    check_positivity,
    generator,
)
from ._observables import Observable, parse_observable
from ._results import load_results, save_master, save_results
from ._solver import AbstractSolver, EulerMaruyama, Kraus, Milstein
from ._unravelling import AbstractUnravelling, Healed, Jump, MeanField
from .models import Diosi, JumpQubit, Seed000, SuperposedMass, register_model
from .models import GHZLattice, JumpOscillator, SqrtWell

__version__ = "0.1.0"

__all__ = [
    "AbstractDiagonalModel",
    "AbstractGeneralModel",
    "AbstractJumpModel",
    "AbstractModel",
    "AbstractSolver",
    "AbstractUnravelling",
    "Comparison",
    "ConfigError",
    "Diosi",
    "GHZLattice",
    "JumpOscillator",
    "JumpQubit",
    "Seed000",
    "SqrtWell",
    "SuperposedMass",
    "EnsembleResult",
    "EulerMaruyama",
    "Healed",
    "HistogramSpec",
    "InitialState",
    "Jump",
    "Kraus",
    "MasterOptions",
    "MasterResult",
    "MeanField",
    "Milstein",
    "Observable",
    "PhaseSpaceGrid",
    "RunConfig",
    "SimulationError",
    "Solution",
    "TimeGrid",
    "check_complete_positivity",
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
