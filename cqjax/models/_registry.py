"""Models by name, for configs: ``register_model("name", Class)``."""

from __future__ import annotations

from ._base import AbstractModel
from .cq_chain import CQChain
from .diosi import Diosi
from .driven_diosi import DrivenDiosi
from .ghz_lattice import GHZLattice
from .heated_oscillator import HeatedOscillator
from .jump_oscillator import JumpOscillator
from .jump_qubit import JumpQubit
from .seed000 import Seed000
from .sqrt_well import SqrtWell
from .superposed_mass import PlanarSuperposedMass, SuperposedMass

MODELS: dict[str, type[AbstractModel]] = {
    "diosi": Diosi,
    "seed000": Seed000,
    "jump_qubit": JumpQubit,
    "jump_oscillator": JumpOscillator,
    "superposed_mass": SuperposedMass,
    "planar_superposed_mass": PlanarSuperposedMass,
    "ghz_lattice": GHZLattice,
    "sqrt_well": SqrtWell,
    "cq_chain": CQChain,
    "heated_oscillator": HeatedOscillator,
    "driven_diosi": DrivenDiosi,
}


def register_model(name: str, cls: type[AbstractModel]) -> type[AbstractModel]:
    """Make ``cls`` available to configs as ``model = name``."""
    if not (isinstance(cls, type) and issubclass(cls, AbstractModel)):
        raise TypeError(f"register_model: {cls!r} is not a subclass of cqjax.AbstractModel")
    MODELS[name] = cls
    return cls
