"""Parameter checks shared by the models' ``__check_init__`` (skipped for traced values)."""

from __future__ import annotations

import numpy as np


def require(model, names: tuple[str, ...], *, strict: bool) -> None:
    """Raise ValueError if a concrete parameter is not > 0 (``strict``) or not >= 0."""
    for name in names:
        value = getattr(model, name)
        if isinstance(value, (int, float)) and not (value > 0 if strict else value >= 0):
            raise ValueError(f"{name}: must be {'>' if strict else '>='} 0, got {value}")


def require_count(model, name: str, low: int, high: int, what: str) -> None:
    """Raise ValueError unless the static field ``name`` is an integer in low..high (``what`` says
    what it counts, for the message)."""
    value = getattr(model, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name}: must be an integer in {low}..{high} ({what}), got {value!r}")
