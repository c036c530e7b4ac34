"""The CQ master equation for varrho(z, t) on a phase-space grid: the grid, its lattice of Kraus
channels (seed 003 sec. IV.A), the automatic grid choice, the solver and what is read off it."""

from .grid import PhaseSpaceGrid
from .solver import MasterResult, check_cells, solve_master

__all__ = ["MasterResult", "PhaseSpaceGrid", "check_cells", "solve_master"]
