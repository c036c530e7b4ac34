"""The physics: model kinds, the generator they define, its consistency checks, the registry and
the shipped models of the seed papers."""

from ._base import (
    AbstractAbsorbingModel,
    AbstractDiagonalModel,
    AbstractDissipativeModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    AbstractPlanckModel,
    AbstractWalledModel,
)
from ._consistency import check_complete_positivity, check_positivity, consistency
from ._generator import GeneralForm, Generator, extra_channels, general_form, generator
from ._registry import MODELS, register_model
from ._time import AbstractTimeDependentModel, clocked
from .cq_chain import CQChain
from .diosi import Diosi
from .driven_diosi import DrivenDiosi
from .finite import AbstractFiniteModel, check_finite_positivity
from .ghz_lattice import GHZLattice
from .heated_oscillator import HeatedOscillator
from .jump_oscillator import JumpOscillator
from .jump_qubit import JumpQubit
from .pointer_qubit import PointerQubit
from .seed000 import Seed000
from .sqrt_well import SqrtWell
from .superposed_mass import PlanarSuperposedMass, SuperposedMass

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
    "CQChain",
    "Diosi",
    "DrivenDiosi",
    "GHZLattice",
    "GeneralForm",
    "Generator",
    "HeatedOscillator",
    "JumpOscillator",
    "JumpQubit",
    "MODELS",
    "PlanarSuperposedMass",
    "PointerQubit",
    "Seed000",
    "SqrtWell",
    "SuperposedMass",
    "check_complete_positivity",
    "check_finite_positivity",
    "check_positivity",
    "clocked",
    "consistency",
    "extra_channels",
    "general_form",
    "generator",
    "register_model",
]
