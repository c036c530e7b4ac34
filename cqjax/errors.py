"""Errors the engine raises: bad input (``InputError``, before any work) and a run that went wrong."""

from __future__ import annotations

import re
from collections.abc import Callable


class InputError(ValueError):
    """Bad input, refused before any work: one line ``"<field>: <reason>"``, where ``field`` names
    the argument in plain words (``dt``, ``psi``, ``model.hamiltonian(z)``). A function raises it
    where it consumes the argument; the config layer reports it under the config's key
    (``run.dt``, ``initial.psi``: ``cqjax.io.config.config_errors``)."""

    def __init__(self, field: str, reason: str, *, refs: tuple[str, ...] = ()):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.refs = field, reason, tuple(refs)

    def __reduce__(self):
        return _input_error, (type(self), self.field, self.reason, self.refs)

    def renamed(self, key: Callable[[str], str]) -> str:
        """The message with the field and the other arguments it mentions (``refs``) renamed by ``key``."""
        return f"{key(self.field)}: {rename_words(self.reason, self.refs, key)}"


def _input_error(cls, field, reason, refs):
    return cls(field, reason, refs=refs)


def rename_words(text: str, names: tuple[str, ...], key: Callable[[str], str]) -> str:
    """``text`` with each whole-word occurrence of ``names`` (not already part of a dotted key) renamed."""
    for name in names:
        text = re.sub(rf"(?<!\w)(?<!\w\.){re.escape(name)}(?!\w)", key(name).replace("\\", r"\\"), text)
    return text


class SimulationError(RuntimeError):
    """The run produced something it cannot report as a result: a trajectory that became NaN or
    inf (under ``nonfinite="fail"``), a statistic that overflowed, or a point where the
    model stops being completely positive or Hermitian. The message is one line naming what
    happened, when and where; the CLI prints it and exits with status 1. A message that starts
    with an argument's name (``nonfinite``) is reported by the config layer under its key."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT/SIGTERM after a completed chunk. ``signum``: the signal;
    ``done``/``requested``: trajectories merged and asked for; ``checkpoint``: where the merged
    statistics were saved (None: nothing was kept); ``partial``: the statistics of the finished
    trajectories (an ``EnsembleResult`` marked incomplete), or None."""

    def __init__(self, message: str, *, signum: int, done: int, requested: int, checkpoint=None, partial=None):
        super().__init__(message)
        self.signum, self.done, self.requested = signum, done, requested
        self.checkpoint, self.partial = checkpoint, partial
