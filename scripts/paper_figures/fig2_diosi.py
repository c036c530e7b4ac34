"""Seed 004 Fig. 2: the linear Diosi (Stern-Gerlach) model, with the note on eq. (C.8)'s sign."""

from ._runs import Sizes, runs
from ._trajectory import C8_NOTE, pair_panel, trajectory_figure


def make(sizes: Sizes):
    r = runs("diosi_fig2.toml", sizes, False)
    return trajectory_figure(r, "seed 004 Fig. 2: linear Diosi (Stern-Gerlach) model", pair_panel("q", "p"), C8_NOTE)
