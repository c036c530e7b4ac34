"""A config's ``model`` entry: a registered name, ``package.module:Class`` or ``path/to/file.py:Class``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from ..models._base import AbstractModel
from ..models._registry import MODELS


def resolve_model(spec: str, base: Path | None = None) -> type[AbstractModel]:
    """A registered name, ``module:Class`` or ``file.py:Class`` -> the model class; a relative
    ``file.py`` is resolved from ``base`` (a config file's folder; default the current directory)."""
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
            path = Path(where) if base is None else Path(base) / where  # an absolute path stays as it is
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or not path.exists():
                raise FileNotFoundError(str(path))
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
