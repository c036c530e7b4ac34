"""The linear unravelling: a classical path without back-reaction carrying an unnormalised state
(seed 004 App. E; the Zakai form of the continuous-measurement filter).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
The Kraus step: P. Rouchon and J. F. Ralph, "Efficient quantum filtering for quantum feedback
control", Phys. Rev. A 91, 012118 (2015).

The equations in one notation: the Physics page of the documentation (docs/physics.md) and
docs/inference.md ("The linear unravelling").
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ..models._base import AbstractGeneralModel, AbstractModel, representation
from ..models._generator import general_form
from ..operators._ops import hermitian_part, is_mixed
from ._coefficients import Channels, MeasuredCoefficients
from ._quantum import excess_channel, measurement
from ._unravelling import AbstractUnravelling, classical_noise_dim, normal_draw
from .healed import pinv


class Linear(AbstractUnravelling):
    """The linear unravelling of seed 004 App. E (eq. E.1 without its term proportional to the state).

    The classical point moves with the model's classical drift alone, no quantum back-reaction
    (the reference drift is zero): dZ = D1C dt + sigma dW, with D1C = {Z, H_C} (H_I traceless) or a
    general model's D1C. It carries an unnormalised state rho~ updated linearly by the record
    dY = pinv(sigma) (dZ - D1C dt) = dW of that path (the Zakai equation of the healed filter):
        drho~ = -i[H_I, rho~] dt + sum_i D[K_i] rho~ dt + sum_i (K_i rho~ + rho~ K_i^dag) dY_i
                + sum_k r_k D[L_k] rho~ dt,    K_i = pinv(sigma)_ij D1^{a0}_j L_a,
    (for pure states d psi~ = [-i H_I - 1/2 sum K_i^dag K_i] psi~ dt + sum K_i psi~ dY_i), so that
    E[delta(z - Z_t) rho~_t] = varrho(z, t) solves the CQ master equation (seed 004 eq. 5): the Ito
    cross term of dZ and drho~ is the back-reaction -d_i(D1^{a0}_i L_a varrho + h.c.) the path no
    longer feels. Tr rho~_t (|psi~_t|^2) is the likelihood ratio (Girsanov weight) of the path
    under the healed dynamics against the reference dynamics, and rho~ / Tr rho~ the state
    conditioned on the path.

    The step is the Rouchon-Ralph Kraus map without renormalisation,
    rho~ -> E(U M rho~ M^dag U^dag), M = I - 1/2 sum (K_i^dag K_i + K_i^2) dt + A + 1/2 A^2,
    A = sum_i K_i dY_i, U the Cayley transform of exp(-i H_I dt) and E the (trace-preserving)
    channel of the decoherence beyond saturation; E[Tr M rho M^dag] = Tr rho + O(dt^2), weak order 1.
    It is its own solver (method "kraus").
    """

    name: ClassVar[str] = "linear"
    stochastic: ClassVar[bool] = True
    weighted: ClassVar[bool] = True

    def noise_dim(self, model, z):
        return classical_noise_dim(model, z)

    def make_step(self, model, solver, dt):
        return linear_step(self, model, dt)

    def make_draw(self, key, m, dtype, noise="gaussian"):
        return normal_draw(key, m, dtype, noise)

    def coefficients(self, model, z, psi):
        """The healed unravelling's measurement operators K_i with the drift D1C and Re<K_i> = 0: the
        record increment is dW itself, and the state update is linear."""
        form = general_form(model, z)
        rep = representation(model)
        sigma_pinv = pinv(form.sigma)  # (m, n)
        kappa = rep.from_array(form.back, stack=True).combine(sigma_pinv)
        excess = None if form.rates is None else Channels(form.rates, rep.from_array(form.ops, stack=True))
        return MeasuredCoefficients(
            drift=form.drift,
            h=rep.from_array(form.h),
            sigma=form.sigma,
            kappa=kappa,
            mean_kappa=jnp.zeros(sigma_pinv.shape[0], z.dtype),
            excess=excess,
            hermitian=not isinstance(model, AbstractGeneralModel),
        )


def linear_step(unravelling: Linear, model: AbstractModel, dt):
    """(z, rho~), xi -> (z', rho~'): Euler-Maruyama for z without back-reaction and the unnormalised
    Kraus map for the state (pure psi~ or mixed rho~), with the same dW = xi sqrt(dt)."""
    sqdt = jnp.sqrt(dt)

    def step(state, xi):
        z, q = state
        dW = xi * sqdt
        c = unravelling.coefficients(model, z, q)
        measure = measurement(c, dW, dt)
        if not is_mixed(q):
            q = c.h.cayley(c.kappa.map_apply(measure, q), dt)
        else:
            q = c.h.cayley_conjugate(c.kappa.sandwich(measure, q), dt)
            if c.excess is not None:
                q = excess_channel(q, c.excess, dt)
            q = hermitian_part(q)
        return z + c.classical_increment(dW, dt), q

    return step
