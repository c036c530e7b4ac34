"""Seed 004 Fig. 7: a test mass near a planet in superposition, phi = 0."""

from ._runs import Sizes, runs
from ._trajectory import pair_panel, planets, trajectory_figure


def make(sizes: Sizes):
    r = runs("superposed_mass_fig7.toml", sizes, False)
    title = "seed 004 Fig. 7: test mass near a planet in superposition, phi = 0"
    return trajectory_figure(r, title, pair_panel("x", "y", planets))
