"""The generator a model defines at one phase-space point (seed 004 eqs. 5-8 and 11-12).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics";
seed 003 (jump models): J. Oppenheim, "A postquantum theory of classical gravity?".

``generator``: the split H = H_C I + H_I, the drift {Z, H_C} (a jump model's {Z, h^00}) and the
back-reaction operators F = {Z, H_I}, by automatic differentiation of H(z); ``general_form``: any
model as (H, D1C, sigma, G_i = D1^{a0}_i L_a, channels of the decoherence beyond saturation).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import (
    CONSISTENCY_RTOL,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    extra_dissipators,
    hamiltonian_rep,
    is_diagonal,
    reduced_planck,
    symplectic,
)


class Generator(eqx.Module):
    """What the healed / mean-field dynamics need at one phase-space point.

    ``h``: H_I / hbar (H_I the traceless part of H); ``drift``: {Z, H_C} (n,); ``force``: F_i = {Z_i, H_I},
    operator axis first, shape (n, d) (diagonal) or (n, d, d).
    """

    h: Array
    drift: Array
    force: Array


def generator(model: AbstractModel, z: Float[Array, " n"], jumps: bool = True) -> Generator:
    """Split H = H_C I + H_I with H_C = Tr H / d and differentiate (seed 004 eqs. 11-12).

    The classical drift is {Z, H_C} and the back-reaction operators are F = {Z, H_I}, both from
    forward-mode autodiff of H(z); ``h`` is H_I / hbar, the generator of the unitary part. For a
    jump model the back-reaction is carried by its jumps, so ``force`` is zero (unless
    ``jumps=False``: the mean-field equations feel <{Z, H_I}> instead). A general-form model
    gives its drift D1C and force G_i + G_i^dag, G_i = D1^{a0}_i L_a, directly.
    """
    if isinstance(model, AbstractGeneralModel):
        form = general_form(model, z)
        return Generator(h=form.h, drift=form.drift, force=form.back + jnp.conj(jnp.swapaxes(form.back, -1, -2)))
    k = len(model.positions)
    diagonal = is_diagonal(model)

    def split(z):
        H = hamiltonian_rep(model, z)
        hc = jnp.mean(H) if diagonal else jnp.real(jnp.trace(H)) / H.shape[-1]
        hi = H - hc if diagonal else H - hc * jnp.eye(H.shape[-1], dtype=H.dtype)
        return (hi, hc), (hi, hc)

    hi, drift, force = _brackets(split, z, k)
    if jumps and isinstance(model, AbstractJumpModel):  # seed 003 eq. 18: only h^00 drives the drift
        force = jnp.zeros_like(force)
        drift = symplectic(jax.grad(lambda z: jnp.real(model.classical_hamiltonian(z)))(z), k)
    return Generator(h=hi / reduced_planck(model), drift=drift, force=force)


_SEPARATE_JVPS = 16  # up to this many coordinates, one forward derivative per coordinate instead of jacfwd


def _brackets(split, z: Float[Array, " n"], k: int):
    """(H_I, {Z, H_C} (n,), {Z, H_I} (n, ...)) from ``split(z) -> ((H_I, H_C), aux)`` by forward autodiff.

    For a few coordinates one ``jax.jvp`` per coordinate, the brackets stacked from them: the same
    arithmetic as ``jax.jacfwd`` (its vmap over the same tangents), but a vmapped step then keeps
    each derivative as its own elementwise array instead of a (directions, trajectories, ...) stack
    that XLA on the CPU transposes and materialises at every step (healed Diosi: a 1.6x faster step)."""
    n = z.shape[-1]
    if n > _SEPARATE_JVPS:
        (dhi, dhc), (hi, _) = jax.jacfwd(split, has_aux=True)(z)
        return hi, symplectic(jnp.real(dhc), k), jnp.moveaxis(symplectic(dhi, k), -1, 0)
    basis = jnp.eye(n, dtype=z.dtype)
    cols = [jax.jvp(lambda z: split(z)[0], (z,), (basis[i],)) for i in range(n)]
    order = [(i, 1) for i in range(k, n)] + [(i, -1) for i in range(k)]  # ({q, f}, {p, f}) = (df/dp, -df/dq)
    drift = jnp.stack([s * jnp.real(cols[i][1][1]) for i, s in order])
    force = jnp.stack([cols[i][1][0] if s > 0 else -cols[i][1][0] for i, s in order])
    return cols[0][0][0], drift, force


class GeneralForm(eqx.Module):
    """The generator at one point in the form the unravellings use (seed 004 eqs. 5-8).

    ``h``: H / hbar (diagonal (d,) or (d, d)); ``drift``: D1C (n,); ``sigma``: (n, m);
    ``back``: G_i = D1^{a0}_i L_a (n, d) or (n, d, d), so that the back-reaction term is
    -d_i(G_i varrho + varrho G_i^dag) (eq. 5 prints it with +; the minus sign is the one the
    unravelling eqs. 7-8 average to, App. A eq. A.8); ``rates``, ``ops``: the decoherence beyond saturation
    D0 - D1^dag pinv(sigma sigma^T) D1 as channels sum_k rates_k D[ops_k] (None: none).
    A healed model has G = {Z, H_I} / 2 and its ``dissipators`` as the excess.
    """

    h: Array
    drift: Array
    sigma: Array
    back: Array
    rates: Array | None
    ops: Array | None


def general_form(model: AbstractModel, z: Float[Array, " n"]) -> GeneralForm:
    """The model's generator at z as (H, D1C, sigma, G, excess channels)."""
    sigma = jnp.asarray(model.noise(z), dtype=z.dtype)
    if not isinstance(model, AbstractGeneralModel):
        g = generator(model, z)
        diss = extra_dissipators(model, z)
        rates, ops = (None, None) if diss is None else diss
        if ops is not None and is_diagonal(model) and ops.ndim == 3:
            ops = jnp.diagonal(ops, axis1=-2, axis2=-1)
        return GeneralForm(h=g.h, drift=g.drift, sigma=sigma, back=0.5 * g.force, rates=rates, ops=ops)
    L, D0, D1 = model.lindblad(z)
    cdtype = jnp.result_type(L.dtype, jnp.complex64 if z.dtype == jnp.float32 else jnp.complex128)
    L, D0, D1 = (jnp.asarray(a, cdtype) for a in (L, D0, D1))
    back = jnp.einsum("ia,ajk->ijk", jnp.conj(D1), L)
    P = jnp.linalg.pinv(sigma).astype(cdtype) @ jnp.conj(D1)  # (m, p): K_j = P_ja L_a
    excess = D0 - P.T @ jnp.conj(P)
    rates, U = jnp.linalg.eigh(0.5 * (excess + jnp.conj(excess.T)))
    # rounding of the subtraction at saturation is set to 0; a real deficit stays negative (and is
    # refused by ``consistency`` before and along a run), never clipped
    floor = CONSISTENCY_RTOL * (jnp.max(jnp.abs(D0)) + jnp.max(jnp.abs(rates)))
    rates = jnp.where(rates >= -floor, jnp.maximum(rates, 0.0), rates)
    ops = jnp.einsum("ak,aij->kij", U, L)
    H = jnp.asarray(model.hamiltonian(z), cdtype)
    return GeneralForm(
        h=H / reduced_planck(model),
        drift=jnp.asarray(model.drift(z), z.dtype),
        sigma=sigma,
        back=back,
        rates=rates,
        ops=ops,
    )


def extra_channels(model: AbstractModel, z: Float[Array, " n"]) -> tuple[Array, Array] | None:
    """The decoherence beyond saturation as channels ``(rates (k,), operators (k, ...))``: a
    general-form model's D0 - D1^dag pinv(sigma sigma^T) D1, any other model's ``dissipators``."""
    if isinstance(model, AbstractGeneralModel):
        form = general_form(model, z)
        return form.rates, form.ops
    return extra_dissipators(model, z)
