"""The test-mass ensemble (Fig. 7 parameters): the final px by branch, the collapse of <sz>, E<sx>
against the trade-off."""

from ._ensemble import ensemble_figure
from ._runs import Sizes, runs


def make(sizes: Sizes):
    r = runs("superposed_mass_fig7.toml", sizes, True)
    return ensemble_figure(r, "px", "test-mass ensemble (Fig. 7 parameters)")
