"""The dynamics of one trajectory: unravellings (which stochastic equations: healed, mean-field,
jump, linear) and solvers (how one step is taken: Kraus, Euler-Maruyama, Milstein), one per file."""

from ._choice import SOLVERS, UNRAVELLINGS, resolve_unravelling
from ._coefficients import (
    AbstractStepCoefficients,
    Channels,
    ClassicalNoiseCoefficients,
    DeterministicCoefficients,
    MeasuredCoefficients,
    StepCoefficients,
)
from ._solver import AbstractSolver
from ._unravelling import AbstractUnravelling
from .euler_maruyama import EulerMaruyama
from .healed import Healed
from .jump import Jump
from .kraus import Kraus
from .linear import Linear
from .mean_field import MeanField
from .milstein import Milstein

__all__ = [
    "SOLVERS",
    "UNRAVELLINGS",
    "AbstractSolver",
    "AbstractStepCoefficients",
    "Channels",
    "ClassicalNoiseCoefficients",
    "DeterministicCoefficients",
    "MeasuredCoefficients",
    "AbstractUnravelling",
    "EulerMaruyama",
    "Healed",
    "Jump",
    "Kraus",
    "Linear",
    "MeanField",
    "Milstein",
    "StepCoefficients",
    "resolve_unravelling",
]
