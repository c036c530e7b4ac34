"""Parameter checks shared by the models' ``__check_init__`` (skipped for traced values)."""

from __future__ import annotations


def require(model, names: tuple[str, ...], *, strict: bool) -> None:
    """Raise ValueError if a concrete parameter is not > 0 (``strict``) or not >= 0."""
    for name in names:
        value = getattr(model, name)
        if isinstance(value, (int, float)) and not (value > 0 if strict else value >= 0):
            raise ValueError(f"{name}: must be {'>' if strict else '>='} 0, got {value}")
