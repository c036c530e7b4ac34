"""cqjax: classical-quantum hybrid dynamics in JAX.

Models (the physics) are ``eqx.Module``s with their parameters as pytree leaves; unravellings
and solvers are the numerical method; ``run_ensemble`` is the chunked runner; ``simulate``
integrates one differentiable trajectory (vmap it for batches).
"""

from ._config import ConfigError, RunConfig, load_config, parse_config
from ._ensemble import EnsembleResult, HistogramSpec, InitialState, run_ensemble
from ._integrate import Solution, TimeGrid, simulate, trajectory_key
from ._model import AbstractDiagonalModel, AbstractModel, check_positivity, generator
from ._observables import Observable, parse_observable
from ._results import load_results, save_results
from ._solver import AbstractSolver, EulerMaruyama, Kraus
from ._unravelling import AbstractUnravelling, Healed, MeanField
from .models import Diosi, JumpQubit, Seed000, register_model

__version__ = "0.1.0"

__all__ = [
    "AbstractDiagonalModel",
    "AbstractModel",
    "AbstractSolver",
    "AbstractUnravelling",
    "ConfigError",
    "Diosi",
    "JumpQubit",
    "Seed000",
    "EnsembleResult",
    "EulerMaruyama",
    "Healed",
    "HistogramSpec",
    "InitialState",
    "Kraus",
    "MeanField",
    "Observable",
    "RunConfig",
    "Solution",
    "TimeGrid",
    "check_positivity",
    "generator",
    "load_config",
    "load_results",
    "parse_config",
    "parse_observable",
    "register_model",
    "run_ensemble",
    "save_results",
    "simulate",
    "trajectory_key",
]
