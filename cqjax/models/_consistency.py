"""What a model must satisfy wherever the dynamics goes: valid shapes, Hermiticity, complete
positivity (the block condition [[2 D2, D1], [D1^dag, D0]] >= 0, equivalent to the conditions of
seed 004 eq. 6), and which state representation can unravel it.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..errors import InputError
from ._base import (
    AbstractAbsorbingModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    extra_dissipators,
    is_diagonal,
)
from ._generator import general_form, generator

CONSISTENCY = ("complete positivity", "noise on every coupled coordinate", "Hermiticity")


def consistency(model: AbstractModel, z: Float[Array, " n"], pure: bool = True) -> tuple[Array, Array]:
    """What the dynamics assumes at every point it visits, as ``(relative (3,), amount (3,))``.

    0: the trade-off deficit max(0, -lambda_min(D0 - D1^dag pinv(sigma sigma^T) D1)) (seed 004
       eq. 6 as a block-matrix condition), relative to the decoherence scale max|D0| + max|rates|;
    1: ||(I - sigma pinv(sigma)) D1|| (healed: F = {Z, H_I}), relative to ||D1||: no coordinate
       without noise may feel a back-reaction;
    2: the anti-Hermitian part of H(z) (and, for pure-state runs of a general model, of the
       back-reaction G_i = D1^{a0}_i L_a), relative to its size.
    Each relative measure must stay below ``CONSISTENCY_RTOL``; ``amount`` is what is reported.
    """
    form = general_form(model, z)
    tiny = jnp.asarray(1e-30, z.dtype)
    zero = jnp.zeros((), z.dtype)
    deficit, scale = zero, tiny
    if form.rates is not None and form.rates.size:
        deficit = jnp.maximum(-jnp.min(form.rates), 0.0)
        scale = jnp.maximum(jnp.max(jnp.abs(form.rates)), tiny)
    unprojected = jnp.eye(z.shape[0], dtype=z.dtype) - form.sigma @ jnp.linalg.pinv(form.sigma)
    if isinstance(model, AbstractGeneralModel):
        _, D0, D1 = model.lindblad(z)
        scale = scale + jnp.max(jnp.abs(D0))
        resid = jnp.linalg.norm(unprojected @ D1)
        resid_scale = jnp.linalg.norm(D1)
    else:  # G = F / 2: the residual of positivity_residual, from the form already computed
        back = form.back.reshape(z.shape[0], -1)
        resid = jnp.max(jnp.linalg.norm(unprojected.astype(back.dtype) @ back, axis=-1))
        resid_scale = jnp.max(jnp.abs(back))
    herm = zero
    herm_scale = tiny
    if not is_diagonal(model):
        H = model.hamiltonian(z)
        herm = jnp.max(jnp.abs(H - jnp.conj(jnp.swapaxes(H, -1, -2))))
        herm_scale = jnp.maximum(jnp.max(jnp.abs(H)), tiny)
        if pure and isinstance(model, AbstractGeneralModel):
            g = form.back
            g_herm = jnp.max(jnp.abs(g - jnp.conj(jnp.swapaxes(g, -1, -2)))) / jnp.maximum(jnp.max(jnp.abs(g)), tiny)
            herm = jnp.maximum(herm / herm_scale, g_herm) * herm_scale
    amount = jnp.stack([deficit, resid, herm]).astype(z.dtype)
    relative = amount / jnp.stack([scale, jnp.maximum(resid_scale, tiny), herm_scale]).astype(z.dtype)
    return relative, amount


def consistency_message(check: int, amount: float, where: str, z, coords: tuple[str, ...]) -> str:
    """One line naming the violated condition of ``consistency``, where (``where`` and z) and by
    how much."""
    where = f"{where} ({', '.join(f'{c} = {float(v):.4g}' for c, v in zip(coords, z))})"
    if check == 0:
        return (
            f"complete positivity: the decoherence-diffusion trade-off 2 D0 >= D1^dag pinv(D2) D1 fails by "
            f"{amount:.3g} {where}: the block matrix [[2 D2, D1], [D1^dag, D0]] is not positive semi-definite "
            "there, so no trajectory can unravel this dynamics"
        )
    if check == 1:
        return (
            f"complete positivity: (I - sigma pinv(sigma)) D1 = {amount:.3g} != 0 {where}: a coordinate without "
            "noise feels a quantum back-reaction"
        )
    return f"Hermiticity: H(z) (or the back-reaction) is not Hermitian {where} (anti-Hermitian part {amount:.3g})"


@eqx.filter_jit
def over_points(fn, model: AbstractModel, zs):
    """``fn(model, z)`` vmapped over the points ``zs``, compiled once per function, model type and
    shapes (``fn`` is static: a module-level function, so repeated checks reuse the compilation)."""
    return jax.vmap(lambda z: fn(model, z))(zs)


def _mixed_consistency(model, z):
    return consistency(model, z, pure=False)


def _rates(model, z):
    return general_form(model, z).rates


def _back(model, z):
    return general_form(model, z).back


def _energies(model, z):
    return model.energies(z)


def _hamiltonian(model, z):
    return model.hamiltonian(z)


def _residual_and_force(model, z):
    return positivity_residual(model, z), jnp.max(jnp.abs(generator(model, z).force))


def check_complete_positivity(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> None:
    """Raise ValueError naming the violated condition of the block matrix and by how much."""
    _, amount = over_points(_mixed_consistency, model, zs)
    deficit, resid = amount[:, 0], amount[:, 1]  # trade-off deficit, ||(I - sigma pinv(sigma)) D1||
    worst = float(jnp.max(deficit))
    if worst > rtol:
        at = [round(float(v), 4) for v in zs[int(jnp.argmax(deficit))]]
        raise ValueError(
            f"complete positivity: the decoherence-diffusion trade-off 2 D0 >= D1^dag pinv(D2) D1 fails "
            f"by {worst:.3g} (smallest eigenvalue of D0 - D1^dag pinv(sigma sigma^T) D1 is {-worst:.3g} "
            f"at z = {at}): the block matrix [[2 D2, D1], [D1^dag, D0]] is not positive semi-definite, so "
            "no trajectory can unravel this dynamics ('cqjax master' integrates its master equation)"
        )
    if isinstance(model, AbstractGeneralModel) and float(jnp.max(resid)) > 1e-6:
        raise ValueError(
            f"complete positivity: (I - D2 pinv(D2)) D1 = {float(jnp.max(resid)):.3g} != 0: a coordinate "
            "without noise carries a back-reaction; the block matrix [[2 D2, D1], [D1^dag, D0]] is not "
            "positive semi-definite"
        )


def excess_decoherence(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> float:
    """The largest decoherence rate beyond saturation at the given points (0: saturated)."""
    if not isinstance(model, AbstractGeneralModel) and extra_dissipators(model, zs[0]) is None:
        return 0.0
    rates = over_points(_rates, model, zs)
    return float(jnp.max(rates)) if rates.size else 0.0


def positivity_residual(model: AbstractModel, z: Float[Array, " n"]) -> Float[Array, " n"]:
    """|| ((I - sigma pinv(sigma)) F)_i || per coordinate i, with F = {Z, H_I}.

    Complete positivity of the healed dynamics needs this to vanish (seed 004, the condition
    stated with eq. 12 and in App. C.1): no coordinate may feel a quantum force without noise.
    """
    force = generator(model, z).force  # (n, ...)
    sigma = jnp.asarray(model.noise(z), dtype=z.dtype)
    proj = sigma @ jnp.linalg.pinv(sigma)
    resid = jnp.tensordot(jnp.eye(proj.shape[0], dtype=z.dtype) - proj, force, axes=1)
    return jnp.sqrt(jnp.sum(jnp.abs(resid.reshape(resid.shape[0], -1)) ** 2, axis=-1))


def check_positivity(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-5) -> None:
    """Raise ValueError naming the coordinates that feel a quantum force but have no noise."""
    resid, scale = over_points(_residual_and_force, model, zs)
    bad = jnp.max(resid, axis=0) > rtol * jnp.maximum(jnp.max(scale), 1e-30)
    if bool(jnp.any(bad)):
        names = [c for c, b in zip(model.coords, bad.tolist()) if b]
        worst = float(jnp.max(resid))
        raise ValueError(
            f"positivity: coordinates {names} feel a quantum back-reaction {{Z, H_I}} but have no "
            f"noise: (I - sigma pinv(sigma)) {{Z, H_I}} = {worst:.3g} != 0 at the initial points; "
            "the healed dynamics would not be completely positive (seed 004 eq. 12). "
            "Give these coordinates noise."
        )


def validate_model(
    model: AbstractModel, zs: Float[Array, "k n"], psi_dim: int | None = None, rtol: float = 1e-5
) -> None:
    """Check shapes and Hermiticity at the given points; raise InputError naming what is wrong.

    A diagonal model is checked through ``energies`` (real, finite, shape (d,)), never as d x d
    matrices; an operator is a dense (d, d) Hermitian matrix or a ``PauliString`` on log2(d) qubits.
    """
    if callable(getattr(model, "inside", None)) and not isinstance(model, AbstractAbsorbingModel):
        raise InputError(
            "model.inside",
            f"{type(model).__name__} defines an absorbing rule but is not a "
            "cqjax.AbstractAbsorbingModel; subclass it so that the rule is applied",
        )
    from ..operators._pauli import PauliString

    n = model.n_coords
    if zs.shape[-1] != n:
        raise InputError("z_mean", f"model has {n} coordinates {list(model.coords)}, got {zs.shape[-1]}")
    if is_diagonal(model):
        E = over_points(_energies, model, zs)
        if E.ndim != 2:
            raise InputError("model.energies(z)", f"expected a (d,) vector, got shape {E.shape[1:]}")
        if jnp.iscomplexobj(E):
            raise InputError("model.energies(z)", f"the diagonal of H(z) must be real, got dtype {E.dtype}")
        if not bool(jnp.all(jnp.isfinite(E))):
            raise InputError("model.energies(z)", "H(z) is not finite at the initial points")
        d = E.shape[-1]
        if psi_dim is not None and psi_dim != d:
            raise InputError("psi", f"the model's Hilbert space has d = {d}, got {psi_dim} amplitudes")
    else:
        H = over_points(_hamiltonian, model, zs)
        if H.ndim != 3 or H.shape[-1] != H.shape[-2]:
            raise InputError("model.hamiltonian(z)", f"expected a (d, d) matrix, got shape {H.shape[1:]}")
        d = H.shape[-1]
        if psi_dim is not None and psi_dim != d:
            raise InputError("psi", f"the model's Hilbert space has d = {d}, got {psi_dim} amplitudes")
        scale = max(float(jnp.max(jnp.abs(H))), 1e-30)
        if float(jnp.max(jnp.abs(H - jnp.conj(jnp.swapaxes(H, -1, -2))))) > rtol * scale:
            raise InputError("model.hamiltonian(z)", "H(z) is not Hermitian at the initial points")
        if not bool(jnp.all(jnp.isfinite(H))):
            raise InputError("model.hamiltonian(z)", "H(z) is not finite at the initial points")
    for name, op in model.operators().items():
        if isinstance(op, PauliString):  # Hermitian by construction
            if op.dim != d:
                raise InputError(
                    f"model.operators()[{name!r}]",
                    f"Pauli string {op.labels!r} acts on {op.n_qubits} qubits (d = {op.dim}), the model has d = {d}",
                )
            continue
        op = jnp.asarray(op)
        if op.shape != (d, d):
            raise InputError(f"model.operators()[{name!r}]", f"expected shape ({d}, {d}), got {op.shape}")
        if float(jnp.max(jnp.abs(op - jnp.conj(op.T)))) > rtol * max(float(jnp.max(jnp.abs(op))), 1e-30):
            raise InputError(f"model.operators()[{name!r}]", "operator is not Hermitian")


def _pure_state_obstacle(model: AbstractModel, zs: Float[Array, "k n"], rtol: float) -> str | None:
    """Why pure states cannot unravel this (completely positive) model, or None if they can."""
    if isinstance(model, AbstractJumpModel):
        return None
    name = type(model).__name__
    excess = excess_decoherence(model, zs, rtol)
    if excess > rtol:
        return (
            f"{name} has decoherence above the saturated (healed) value (excess rate {excess:.3g} at the "
            "initial points), so pure states cannot unravel it"
        )
    if not hermitian_back_reaction(model, zs):
        return f"{name} has a non-Hermitian back-reaction D1^{{a0}} L_a; the pure-state step needs a Hermitian one"
    return None


def hermitian_back_reaction(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-6) -> bool:
    """Whether every G_i = D1^{a0}_i L_a is Hermitian at the given points (always, unless general form)."""
    if not isinstance(model, AbstractGeneralModel):
        return True
    back = over_points(_back, model, zs)
    scale = max(float(jnp.max(jnp.abs(back))), 1e-30)
    return float(jnp.max(jnp.abs(back - jnp.conj(jnp.swapaxes(back, -1, -2))))) <= rtol * scale


def check_unravellable(model: AbstractModel, zs: Float[Array, "k n"], mixed: bool, rtol: float = 1e-9) -> None:
    """Raise ValueError if trajectories cannot unravel this model in the chosen representation.

    Any completely positive generator has a mixed-state unravelling (seed 004 eqs. 7-8); the
    pure-state one needs saturation (no excess decoherence) and Hermitian back-reaction G_i.
    """
    check_complete_positivity(model, zs, rtol)
    if not mixed and (why := _pure_state_obstacle(model, zs, rtol)) is not None:
        raise InputError(
            "state", f'{why}; use the mixed-state unravelling (state = "mixed" or "auto")', refs=("state",)
        )


def needs_mixed(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> bool:
    """Whether the automatic choice is the mixed-state unravelling: excess decoherence, or a
    general model whose back-reaction is not Hermitian."""
    return _pure_state_obstacle(model, zs, rtol) is not None
