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
from jaxtyping import Array, Float

from ..models._base import AbstractGeneralModel, AbstractModel, representation
from ..models._generator import general_form
from ..operators._operator import small_dot, small_sum
from ._coefficients import Channels, MeasuredCoefficients
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
    weighted: ClassVar[bool] = False
    lazy_normalisation: ClassVar[bool] = True
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
        rep = representation(model)
        hermitian = not isinstance(model, AbstractGeneralModel)
        sigma_pinv = pinv(form.sigma)  # (m, n)
        back = rep.from_array(form.back, stack=True)
        kappa = back.combine(sigma_pinv)
        if hermitian:  # healed: G = F / 2 is Hermitian, <G + G^dag> = 2 <G>
            mean_back = back.expect(psi)
            mean_kappa = small_dot(sigma_pinv, mean_back)
        else:
            mean_back = jnp.real(back.expect_complex(psi))
            mean_kappa = jnp.real(kappa.expect_complex(psi))
        excess = None if form.rates is None else Channels(form.rates, rep.from_array(form.ops, stack=True))
        c = MeasuredCoefficients(
            drift=form.drift + 2.0 * mean_back,
            h=rep.from_array(form.h),
            sigma=form.sigma,
            kappa=kappa,
            mean_kappa=mean_kappa,
            excess=excess,
            hermitian=hermitian,
        )
        return _purified(c, psi) if self.purify and excess is not None else c


def pinv(sigma: Float[Array, "n m"]) -> Float[Array, "m n"]:
    """The Moore-Penrose pseudo-inverse; for one noise (m = 1) in closed form, s^T / |s|^2 (0 for s = 0),
    equal to ``jnp.linalg.pinv`` (whose cutoff only zeroes a vanishing singular value) without its SVD."""
    if sigma.shape[-1] != 1:
        return jnp.linalg.pinv(sigma)
    s = sigma[:, 0]
    norm2 = small_sum(s * s)
    return jnp.where(norm2 > 0, s / jnp.where(norm2 > 0, norm2, 1), 0)[None, :]


def _purified(c: MeasuredCoefficients, psi: Array) -> MeasuredCoefficients:
    """Move the excess channels r_k D[L_k] into measurement operators sqrt(r_k) L_k driven by
    extra noises (seed 004 App. B); sigma gets zero columns for them. A negative rate (not
    completely positive) gives NaN, which the runner reports, not a clipped rate."""
    assert c.excess is not None  # called only with excess channels
    extra = c.excess.ops.scaled(jnp.sqrt(c.excess.rates))
    kappa = c.kappa.stacked(extra)
    mean_extra = jnp.real(extra.expect_complex(psi))
    sigma = jnp.concatenate([c.sigma, jnp.zeros((c.sigma.shape[0], extra.stack_len), c.sigma.dtype)], axis=1)
    return MeasuredCoefficients(
        drift=c.drift,
        h=c.h,
        sigma=sigma,
        kappa=kappa,
        mean_kappa=jnp.concatenate([c.mean_kappa, mean_extra]),
        excess=None,
        hermitian=False,
    )
