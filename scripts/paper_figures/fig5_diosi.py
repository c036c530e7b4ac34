"""Seed 004 Fig. 5: the linear Diosi model, healed against mean-field, with the note on eq. (C.8)'s
sign."""

from ._runs import Sizes, runs
from ._trajectory import C8_NOTE, pair_panel, trajectory_figure


def make(sizes: Sizes):
    r = runs("diosi_fig5.toml", sizes, False)
    return trajectory_figure(r, "seed 004 Fig. 5: linear Diosi, healed vs mean-field", pair_panel("q", "p"), C8_NOTE)
