"""The healed semi-classical unravelling and the general continuous one (seed 004 eqs. 7-8, 11-12).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".

The equations in one notation: the Physics page of the documentation (docs/physics.md, "The healed
semi-classical equations" and "Unravellings").
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from ..models._base import AbstractGeneralModel, AbstractModel, is_diagonal
from ..models._generator import general_form
from ..operators._ops import combine, expect_complex, expect_state
from ._coefficients import StepCoefficients
from ._unravelling import AbstractUnravelling, classical_noise_dim, diffusive_step, normal_draw


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

    Printed slips followed in corrected form: the last noise term of eq. (8) carries D1^{0a}
    (printed D1^{aa}); in App. B, eq. (B.1) restates the trade-off with D1 and D1^dag swapped (it
    is D0 >= D1^dag pinv(sigma sigma^T) D1, as in the text after it), and the drift of eq. (B.6)
    has <D1^{a0}_i L_a + D1^{0a}_i L_a^dag> (printed D1^{00}_i L_a), as in eq. (7).
    """

    name: ClassVar[str] = "healed"
    stochastic: ClassVar[bool] = True
    purify: bool = eqx.field(static=True, default=False)

    def noise_dim(self, model: AbstractModel, z: Array) -> int:
        m = classical_noise_dim(model, z)
        if self.purify:
            rates = jax.eval_shape(lambda z: general_form(model, z).rates, z)
            m += 0 if rates is None else rates.shape[0]
        return m

    def make_step(self, model, solver, dt):
        return diffusive_step(self, model, solver, dt)

    def make_draw(self, key, m, dtype, noise="gaussian"):
        return normal_draw(key, m, dtype, noise)

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
            drift=drift,
            h=form.h,
            sigma=form.sigma,
            kappa=kappa,
            mean_kappa=mean_kappa,
            rates=form.rates,
            ops=form.ops,
            hermitian=hermitian,
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
    return StepCoefficients(
        drift=c.drift,
        h=c.h,
        sigma=sigma,
        kappa=kappa,
        mean_kappa=jnp.concatenate([c.mean_kappa, mean_extra]),
        hermitian=False,
    )
