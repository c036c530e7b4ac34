"""Registered models. Add one with ``register_model`` or name it in a config as
``"package.module:ClassName"`` or ``"path/to/file.py:ClassName"``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from .._model import AbstractModel
from .diosi import Diosi
from .ghz_lattice import GHZLattice
from .jump_oscillator import JumpOscillator
from .jump_qubit import JumpQubit
from .seed000 import Seed000
from .sqrt_well import SqrtWell
from .superposed_mass import SuperposedMass

__all__ = ["Diosi", "GHZLattice", "JumpOscillator", "JumpQubit", "Seed000", "SqrtWell", "SuperposedMass", "MODELS", "register_model", "resolve_model"]

MODELS: dict[str, type[AbstractModel]] = {"diosi": Diosi, "seed000": Seed000, "jump_qubit": JumpQubit,
                                        "jump_oscillator": JumpOscillator,
                                        "superposed_mass": SuperposedMass,
                                        "ghz_lattice": GHZLattice, "sqrt_well": SqrtWell}


def register_model(name: str, cls: type[AbstractModel]) -> type[AbstractModel]:
    """Make ``cls`` available to configs as ``model = name``."""
    if not (isinstance(cls, type) and issubclass(cls, AbstractModel)):
        raise TypeError(f"register_model: {cls!r} is not a subclass of cqjax.AbstractModel")
    MODELS[name] = cls
    return cls


def resolve_model(spec: str) -> type[AbstractModel]:
    """A registered name, ``module:Class`` or ``file.py:Class`` -> the model class."""
    if spec in MODELS:
        return MODELS[spec]
    if ":" not in spec:
        raise ValueError(
            f"model: unknown model {spec!r}; registered: {sorted(MODELS)} "
            "(or give 'package.module:Class' / 'file.py:Class')"
        )
    where, _, name = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or not path.exists():
                raise FileNotFoundError(where)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module  # dataclasses look the module up
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        cls = getattr(module, name)
    except Exception as err:  # any failure while importing user code is a config error
        raise ValueError(f"model: cannot load {spec!r}: {type(err).__name__}: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, AbstractModel)):
        raise ValueError(f"model: {spec!r} is not a subclass of cqjax.AbstractModel")
    return cls
