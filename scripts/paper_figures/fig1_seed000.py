"""Seed 000 Fig. 1: the qubit and particle of the open system (A = sz); q is conserved, so the
classical panel is p against t."""

from ._runs import Sizes, runs
from ._trajectory import pair_panel, trajectory_figure


def make(sizes: Sizes):
    r = runs("seed000_fig1.toml", sizes, False)
    return trajectory_figure(
        r, "seed 000 Fig. 1: qubit and particle, open system (A = sz; q is conserved)", pair_panel("t", "p")
    )
