"""The standard semi-classical (mean-field) equations, seed 004 eqs. (13)-(14).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from typing import ClassVar

from ..models._base import representation
from ..models._generator import generator
from ._coefficients import DeterministicCoefficients
from ._unravelling import AbstractUnravelling, classical_noise_dim, diffusive_step, normal_draw


class MeanField(AbstractUnravelling):
    """Standard semi-classical (mean-field) equations, seed 004 eqs. (13)-(14).

    dZ_i = {Z_i, H_C} dt + <{Z_i, H_I}> dt,  d|psi> = -i H_I |psi> dt. Deterministic.
    """

    name: ClassVar[str] = "mean-field"
    stochastic: ClassVar[bool] = False
    weighted: ClassVar[bool] = False

    def noise_dim(self, model, z):
        return classical_noise_dim(model, z)

    def make_step(self, model, solver, dt):
        return diffusive_step(self, model, solver, dt)

    def make_draw(self, key, m, dtype, noise="gaussian"):
        return normal_draw(key, m, dtype, noise)

    def coefficients(self, model, z, psi):
        gen = generator(model, z, jumps=False)
        rep = representation(model)
        force = rep.from_array(gen.force, stack=True)
        return DeterministicCoefficients(drift=gen.drift + force.expect(psi), h=rep.from_array(gen.h))
