"""Seed 004 Fig. 3: a test mass near a planet in superposition, phi = 5."""

from ._runs import Sizes, runs
from ._trajectory import pair_panel, planets, trajectory_figure


def make(sizes: Sizes):
    r = runs("superposed_mass_fig3.toml", sizes, False)
    title = "seed 004 Fig. 3: test mass near a planet in superposition, phi = 5"
    return trajectory_figure(r, title, pair_panel("x", "y", planets))
