"""Unravellings: which stochastic dynamics the trajectories follow (seed 004 sec. III-IV).

An unravelling turns a model's generator at a phase-space point into the coefficients of one
Ito step: classical drift, classical noise matrix, and the Hermitian measurement operators
K_i that drive the quantum state. Solvers (``_solver.py``) turn those into an update.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from ._model import AbstractGeneralModel, AbstractJumpModel, AbstractModel, general_form, generator, is_diagonal
from ._ops import combine, expect_complex, expect_state

__all__ = ["AbstractUnravelling", "Healed", "MeanField", "Jump"]


class StepCoefficients(eqx.Module):
    """dZ = drift dt + sigma dW;  the quantum state driven by H_I = ``h`` and K_i = ``kappa[i]``.

    With innovations dY_i = dW_i + 2 Re<K_i> dt (``mean_kappa`` = Re<K_i>) the quantum state
    obeys the stochastic master equation of unit-efficiency diffusive measurement of the K_i
    (seed 004 eq. 8 with K_j = pinv(sigma)_ji G_i):
    drho = -i[h, rho] dt + sum_i D[K_i] rho dt + sum_i ((K_i - <K_i>) rho + h.c.) dW_i
           + sum_k rates_k D[ops_k] rho dt,
    and for pure states (Hermitian K, no excess channels) the stochastic Schrodinger equation
    d|psi> = [-i h - 1/2 sum_i (K_i - <K_i>)^2] |psi> dt + sum_i (K_i - <K_i>) |psi> dW_i.
    ``sigma`` and ``kappa`` are None for deterministic dynamics; ``rates``/``ops`` None without
    excess decoherence; ``hermitian`` says whether every K_i is Hermitian.
    """

    drift: Array
    h: Array
    sigma: Array | None
    kappa: Array | None
    mean_kappa: Array | None
    rates: Array | None = None
    ops: Array | None = None
    hermitian: bool = eqx.field(static=True, default=True)


class AbstractUnravelling(eqx.Module):
    """Maps (model, z, psi) to the coefficients of the step at that point."""

    name: ClassVar[str]
    stochastic: ClassVar[bool]

    def noise_dim(self, model: AbstractModel, z: Array) -> int:
        """m, the number of independent Wiener processes a step consumes (columns of sigma)."""
        shape = jax.eval_shape(model.noise, z).shape
        if len(shape) != 2 or shape[0] != z.shape[-1]:
            raise ValueError(f"model.noise(z) must have shape (n, m) with n = {z.shape[-1]}, got {shape}")
        return shape[1]

    @abc.abstractmethod
    def coefficients(self, model: AbstractModel, z: Array, psi: Array) -> StepCoefficients:
        """Step coefficients at the classical point z and normalised state psi."""


class Healed(AbstractUnravelling):
    """Healed semi-classical equations, seed 004 eqs. (11)-(12), and the general continuous
    unravelling, eqs. (7)-(8), of which they are the case L = F, D1 = 1/2, D0 = saturated.

    dZ_i = {Z_i, H_C} dt + <F_i> dt + sigma_ij dW_j,  F_j = {Z_j, H_I};
    K_i = 1/2 pinv(sigma)_ij F_j, so that eq. (12) reads
    d|psi> = -i H_I |psi> dt + (K - <K>)|psi> dW - 1/2 (K - <K>)^2 |psi> dt.
    Decoherence beyond saturation, sum_k r_k D[L_k], is carried by the mixed-state solvers as
    its own channel or, with ``purify``, by extra classical coordinates (seed 004 App. B,
    B.6-B.9): dZ~_k = sqrt(r_k) <L_k + L_k^dag> dt + dW~_k (D~1 = sqrt(D~0), sigma~ = I), and the
    state is also measured by K~_k = sqrt(r_k) L_k with the independent noise dW~_k; the trade-off
    is then saturated in the enlarged phase space and the state stays pure. The purifying
    coordinates are not stored: nothing in the dynamics depends on them, and their increments
    are the extra noises.
    """

    name: ClassVar[str] = "healed"
    stochastic: ClassVar[bool] = True
    purify: bool = eqx.field(static=True, default=False)

    def noise_dim(self, model: AbstractModel, z: Array) -> int:
        m = super().noise_dim(model, z)
        if self.purify:
            rates = jax.eval_shape(lambda z: general_form(model, z).rates, z)
            m += 0 if rates is None else rates.shape[0]
        return m

    def coefficients(self, model, z, psi):
        form = general_form(model, z)
        diagonal = is_diagonal(model)
        hermitian = not isinstance(model, AbstractGeneralModel)
        sigma_pinv = jnp.linalg.pinv(form.sigma)  # (m, n)
        kappa = combine(sigma_pinv.astype(form.back.dtype) if not hermitian else sigma_pinv, form.back)
        if hermitian:  # healed: G = F / 2 is Hermitian, <G + G^dag> = 2 <G>
            mean_back = expect_state(form.back, psi, diagonal)
            drift = form.drift + 2.0 * mean_back
            mean_kappa = sigma_pinv @ mean_back
        else:
            mean_back = jnp.real(expect_complex(form.back, psi, diagonal))
            drift = form.drift + 2.0 * mean_back
            mean_kappa = jnp.real(expect_complex(kappa, psi, diagonal))
        c = StepCoefficients(
            drift=drift, h=form.h, sigma=form.sigma, kappa=kappa, mean_kappa=mean_kappa,
            rates=form.rates, ops=form.ops, hermitian=hermitian,
        )
        return _purified(c, psi, diagonal) if self.purify and form.rates is not None else c


def _purified(c: StepCoefficients, psi: Array, diagonal: bool) -> StepCoefficients:
    """Move the excess channels r_k D[L_k] into measurement operators sqrt(r_k) L_k driven by
    extra noises (seed 004 App. B); sigma gets zero columns for them. A negative rate (not
    completely positive) gives NaN, which the runner reports, not a clipped rate."""
    extra = jnp.sqrt(c.rates).reshape((-1,) + (1,) * (c.ops.ndim - 1)) * c.ops
    kappa = jnp.concatenate([c.kappa.astype(extra.dtype), extra], axis=0)
    mean_extra = jnp.real(expect_complex(extra, psi, diagonal))
    sigma = jnp.concatenate([c.sigma, jnp.zeros((c.sigma.shape[0], extra.shape[0]), c.sigma.dtype)], axis=1)
    return StepCoefficients(drift=c.drift, h=c.h, sigma=sigma, kappa=kappa,
                            mean_kappa=jnp.concatenate([c.mean_kappa, mean_extra]), hermitian=False)


class MeanField(AbstractUnravelling):
    """Standard semi-classical (mean-field) equations, seed 004 eqs. (13)-(14).

    dZ_i = {Z_i, H_C} dt + <{Z_i, H_I}> dt,  d|psi> = -i H_I |psi> dt. Deterministic.
    """

    name: ClassVar[str] = "mean-field"
    stochastic: ClassVar[bool] = False

    def coefficients(self, model, z, psi):
        gen = generator(model, z, jumps=False)
        return StepCoefficients(
            drift=gen.drift + expect_state(gen.force, psi, is_diagonal(model)),
            h=gen.h,
            sigma=None,
            kappa=None,
            mean_kappa=None,
        )


UNRAVELLINGS: dict[str, type[AbstractUnravelling]] = {
    "healed": Healed,
    "mean-field": MeanField,
}


class Jump(AbstractUnravelling):
    """Jump unravelling of a jump model's master equation (seed 003 sec. II-IV, eqs. 77-82).

    Between jumps: dZ = {Z, h^00} dt + sigma dW (h^00 the purely classical part of H, seed 003
    eq. 18; sigma the model's classical noise) and the no-jump evolution
    psi -> exp(-(i H_I + 1/2 sum_k L_k^dag L_k) dt) psi / |.|. The channels L_k are the model's
    jump channels and its extra Lindblad channels r_k D[L_k] as jumps sqrt(r_k) L_k without a
    shift. In each step the number of jumps is drawn from the Poisson law of mean
    <sum_k L_k^dag L_k> dt; each jump picks channel k with the Born probability
    |L_k psi|^2 / sum_j |L_j psi|^2, maps psi -> L_k psi / |L_k psi| and shifts Z by the
    channel's shift. When the total rate is state independent (as for ``jump_qubit``) the number
    of jumps in [0, t] is exactly Poisson, with no bias of order dt. Pure states only; the step
    is its own (Kraus) solver.
    """

    name: ClassVar[str] = "jump"
    stochastic: ClassVar[bool] = True

    def coefficients(self, model, z, psi):
        gen = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        return StepCoefficients(drift=gen.drift, h=gen.h, sigma=sigma, kappa=None, mean_kappa=None)


UNRAVELLINGS["jump"] = Jump


def resolve_unravelling(
    model: AbstractModel, unravelling: AbstractUnravelling, solver_name: str = "kraus"
) -> AbstractUnravelling:
    """The unravelling a run uses: a jump model's ``healed`` dynamics is its jump unravelling.

    The jump unravelling is its own Kraus step; any other solver is refused, not ignored.
    """
    jumpy = isinstance(model, AbstractJumpModel)
    if isinstance(unravelling, Jump) and not jumpy:
        raise ValueError(f"run.unravelling: 'jump' needs a jump model; {type(model).__name__} has none")
    if jumpy and isinstance(unravelling, Healed):
        unravelling = Jump()
    if isinstance(unravelling, Jump) and solver_name != "kraus":
        raise ValueError(
            f"run.method: the jump unravelling of {type(model).__name__} steps with its exact Kraus operators "
            f"(no-jump propagator and jump operators); {solver_name!r} does not apply: use method = \"kraus\""
        )
    return unravelling
