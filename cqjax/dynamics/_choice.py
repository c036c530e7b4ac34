"""The unravellings and solvers by name, and the one place a run's unravelling is resolved."""

from __future__ import annotations

from ..errors import InputError
from ..models._base import AbstractJumpModel, AbstractModel
from ._solver import AbstractSolver
from ._unravelling import AbstractUnravelling
from .euler_maruyama import EulerMaruyama
from .healed import Healed
from .jump import Jump
from .kraus import Kraus
from .linear import Linear
from .mean_field import MeanField
from .milstein import Milstein

UNRAVELLINGS: dict[str, type[AbstractUnravelling]] = {
    "healed": Healed,
    "mean-field": MeanField,
}


UNRAVELLINGS["jump"] = Jump
UNRAVELLINGS["linear"] = Linear


def resolve_unravelling(
    model: AbstractModel, unravelling: AbstractUnravelling, solver_name: str = "kraus"
) -> AbstractUnravelling:
    """The unravelling a run uses: a jump model's ``healed`` dynamics is its jump unravelling.

    The jump unravelling is its own Kraus step; any other solver is refused, not ignored.
    """
    jumpy = isinstance(model, AbstractJumpModel)
    if isinstance(unravelling, Jump) and not jumpy:
        raise InputError("unravelling", f"'jump' needs a jump model; {type(model).__name__} has none")
    if isinstance(unravelling, Linear) and jumpy:
        raise InputError(
            "unravelling", f"'linear' unravels diffusive CQ dynamics; {type(model).__name__} is a jump model"
        )
    if isinstance(unravelling, Linear) and solver_name != "kraus":
        raise InputError(
            "method",
            f"the linear unravelling steps with its own unnormalised Kraus map; {solver_name!r} does not apply: "
            'use method = "kraus"',
        )
    if jumpy and isinstance(unravelling, Healed):
        unravelling = Jump()
    if isinstance(unravelling, Jump) and solver_name != "kraus":
        raise InputError(
            "solver",
            f"the jump unravelling of {type(model).__name__} steps with its exact Kraus operators "
            f'(no-jump propagator and jump operators); {solver_name!r} does not apply: use method = "kraus"',
        )
    return unravelling


SOLVERS: dict[str, type[AbstractSolver]] = {"kraus": Kraus, "euler-maruyama": EulerMaruyama, "milstein": Milstein}
