"""The CQ master equation for varrho(z, t) on a phase-space grid: the grid, its lattice of Kraus
channels (seed 003 sec. IV.A), the automatic grid choice, the solver and what is read off it.

The master equation: seed 004 eq. (5), I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics"; its lattice: seed 003, J. Oppenheim, "A postquantum theory of classical gravity?".
"""

from .grid import PhaseSpaceGrid
from .solver import MasterResult, check_cells, solve_master

__all__ = ["MasterResult", "PhaseSpaceGrid", "check_cells", "solve_master"]
