"""What a model must satisfy wherever the dynamics goes: valid shapes, Hermiticity, complete
positivity (the block condition [[2 D2, D1], [D1^dag, D0]] >= 0, equivalent to the conditions of
seed 004 eq. 6), and which state representation can unravel it.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..errors import InputError
from ._base import (
    AbstractAbsorbingModel,
    AbstractGeneralModel,
    AbstractJumpModel,
    AbstractModel,
    hamiltonian_rep,
    is_diagonal,
)
from ._generator import GeneralForm, general_form

CONSISTENCY = ("complete positivity", "noise on every coupled coordinate", "Hermiticity")


def consistency(
    model: AbstractModel, z: Float[Array, " n"], pure: bool = True, form: GeneralForm | None = None
) -> tuple[Array, Array]:
    """What the dynamics assumes at every point it visits, as ``(relative (3,), amount (3,))``.

    0: the trade-off deficit max(0, -lambda_min(D0 - D1^dag pinv(sigma sigma^T) D1)) (seed 004
       eq. 6 as a block-matrix condition), relative to the decoherence scale max|D0| + max|rates|;
    1: ||(I - sigma pinv(sigma)) D1|| (healed: F = {Z, H_I}), relative to ||D1||: no coordinate
       without noise may feel a back-reaction;
    2: the anti-Hermitian part of H(z) (and, for pure-state runs of a general model, of the
       back-reaction G_i = D1^{a0}_i L_a), relative to its size.
    Each relative measure must stay below ``CONSISTENCY_RTOL``; ``amount`` is what is reported.
    ``form``: ``general_form(model, z)`` when the caller has it already.
    """
    form = general_form(model, z) if form is None else form
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


@dataclass(frozen=True)
class Survey:
    """What the checks need at the points ``zs`` (k of them), computed by one compiled program and
    fetched in one transfer (``survey``); ``at[name]`` is a quantity of one of the ``parts``:

    values: ``finite`` (H(z) or the energies finite everywhere), ``h_scale`` = max |H|, ``h_herm`` =
      max |H - H^dag| (0 for a diagonal model);
    cp: ``deficit`` (k,) and ``cp_resid`` (k,): ``consistency``'s amounts 0 and 1 (mixed states);
    pure: ``excess`` = the largest decoherence rate beyond saturation (0 without channels),
      ``back_herm`` / ``back_scale``: max |G - G^dag| and max |G| of the back-reaction G_i = D1^{a0}_i L_a
      (general-form models; 0 / 1 otherwise);
    force: ``force_resid`` (k, n) = ``positivity_residual``, ``force_scale`` = max |{Z, H_I}|.
    """

    parts: tuple[str, ...]
    zs: np.ndarray
    d: int
    quantities: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.quantities[name]


PARTS = ("values", "cp", "pure", "force")


def _survey_point(model: AbstractModel, z: Float[Array, " n"], parts: tuple[str, ...]) -> dict:
    """``survey``'s quantities at one point (reduced over the points by ``_survey_program``); the
    general form is traced once for all parts."""
    H = hamiltonian_rep(model, z)
    herm = jnp.zeros((), jnp.abs(H).dtype) if is_diagonal(model) else jnp.max(jnp.abs(H - jnp.conj(H.T)))
    out = dict(finite=jnp.all(jnp.isfinite(H)), h_scale=jnp.max(jnp.abs(H)), h_herm=herm)
    if parts == ("values",):
        return out
    form = general_form(model, z)
    general = isinstance(model, AbstractGeneralModel)
    if "cp" in parts:
        _, amount = consistency(model, z, pure=False, form=form)
        out.update(deficit=amount[0], cp_resid=amount[1])
    if "pure" in parts:
        rates = form.rates
        out["excess"] = jnp.max(rates) if rates is not None and rates.size else jnp.zeros((), z.dtype)
        back = form.back if general else jnp.zeros((1, 1), z.dtype)
        out["back_herm"] = jnp.max(jnp.abs(back - jnp.conj(jnp.swapaxes(back, -1, -2))))
        out["back_scale"] = jnp.max(jnp.abs(back)) if general else jnp.ones((), z.dtype)
    if "force" in parts:
        back = form.back  # generator's force: G + G^dag (general form), else back = {Z, H_I} / 2
        force = back + jnp.conj(jnp.swapaxes(back, -1, -2)) if general else 2 * back
        out.update(force_resid=positivity_residual(form.sigma, force), force_scale=jnp.max(jnp.abs(force)))
    return out


_PER_POINT = ("deficit", "cp_resid", "force_resid")  # kept per point; the rest reduced over the points


@eqx.filter_jit
def _survey_program(model: AbstractModel, zs: Float[Array, "k n"], parts: tuple[str, ...]) -> dict:
    """``_survey_point`` vmapped over the points and reduced: one program per model type, shapes
    and parts, so that a run's checks compile (and trace the generator) once."""
    each = jax.vmap(lambda z: _survey_point(model, z, parts))(zs)
    return {k: v if k in _PER_POINT else (jnp.all(v) if k == "finite" else jnp.max(v)) for k, v in each.items()}


def _check_shapes(model: AbstractModel, zs: Float[Array, "k n"]) -> int:
    """The Hilbert-space dimension d from the shapes of H(z) (traced, not run); refuses a wrong
    shape or complex energies before anything is computed."""
    n = model.n_coords
    if zs.shape[-1] != n:
        raise InputError("z_mean", f"model has {n} coordinates {list(model.coords)}, got {zs.shape[-1]}")
    H = jax.eval_shape(lambda z: hamiltonian_rep(model, z), zs[0])
    if is_diagonal(model):
        if len(H.shape) != 1:
            raise InputError("model.energies(z)", f"expected a (d,) vector, got shape {H.shape}")
        if jnp.issubdtype(H.dtype, jnp.complexfloating):
            raise InputError("model.energies(z)", f"the diagonal of H(z) must be real, got dtype {H.dtype}")
        return H.shape[0]
    if len(H.shape) != 2 or H.shape[0] != H.shape[1]:
        raise InputError("model.hamiltonian(z)", f"expected a (d, d) matrix, got shape {H.shape}")
    return H.shape[0]


def survey(model: AbstractModel, zs: Float[Array, "k n"], parts: tuple[str, ...] = ("values",)) -> Survey:
    """Everything ``validate_model`` and the unravelling checks need at the points ``zs``, from one
    compiled program (``parts``: a subset of ``PARTS``; "values" always). The shapes are checked
    first (``InputError``), so a wrong model never reaches the program."""
    d = _check_shapes(model, zs)
    parts = tuple(p for p in PARTS if p in parts or p == "values")
    got = jax.device_get(_survey_program(model, zs, parts))
    return Survey(parts=parts, zs=np.asarray(zs), d=d, quantities={k: np.asarray(v) for k, v in got.items()})


def _surveyed(at: Survey | None, model: AbstractModel, zs, *parts: str) -> Survey:
    """``at`` when it has ``parts``, else a new survey of them."""
    if at is not None and all(p in at.parts for p in parts):
        return at
    return survey(model, zs, parts)


def check_complete_positivity(
    model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9, *, at: Survey | None = None
) -> None:
    """Raise ValueError naming the violated condition of the block matrix and by how much
    (``at``: a survey of ``zs`` with the "cp" part, to reuse)."""
    at = _surveyed(at, model, zs, "cp")
    worst = float(at["deficit"].max())
    if worst > rtol:
        where = [round(float(v), 4) for v in at.zs[int(at["deficit"].argmax())]]
        raise ValueError(
            f"complete positivity: the decoherence-diffusion trade-off 2 D0 >= D1^dag pinv(D2) D1 fails "
            f"by {worst:.3g} (smallest eigenvalue of D0 - D1^dag pinv(sigma sigma^T) D1 is {-worst:.3g} "
            f"at z = {where}): the block matrix [[2 D2, D1], [D1^dag, D0]] is not positive semi-definite, so "
            "no trajectory can unravel this dynamics ('cqjax master' integrates its master equation)"
        )
    if isinstance(model, AbstractGeneralModel) and float(at["cp_resid"].max()) > 1e-6:
        raise ValueError(
            f"complete positivity: (I - D2 pinv(D2)) D1 = {float(at['cp_resid'].max()):.3g} != 0: a coordinate "
            "without noise carries a back-reaction; the block matrix [[2 D2, D1], [D1^dag, D0]] is not "
            "positive semi-definite"
        )


def positivity_residual(sigma: Float[Array, "n m"], force: Array) -> Float[Array, " n"]:
    """|| ((I - sigma pinv(sigma)) F)_i || per coordinate i, from sigma (n, m) and the force
    operators F = {Z, H_I} (n, ...).

    Complete positivity of the healed dynamics needs this to vanish (seed 004, the condition
    stated with eq. 12 and in App. C.1): no coordinate may feel a quantum force without noise.
    """
    proj = sigma @ jnp.linalg.pinv(sigma)
    resid = jnp.tensordot(jnp.eye(proj.shape[0], dtype=sigma.dtype) - proj, force, axes=1)
    return jnp.sqrt(jnp.sum(jnp.abs(resid.reshape(resid.shape[0], -1)) ** 2, axis=-1))


def check_positivity(
    model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-5, *, at: Survey | None = None
) -> None:
    """Raise ValueError naming the coordinates that feel a quantum force but have no noise."""
    at = _surveyed(at, model, zs, "force")
    bad = at["force_resid"].max(axis=0) > rtol * max(float(at["force_scale"]), 1e-30)
    if bad.any():
        names = [c for c, b in zip(model.coords, bad.tolist()) if b]
        worst = float(at["force_resid"].max())
        raise ValueError(
            f"positivity: coordinates {names} feel a quantum back-reaction {{Z, H_I}} but have no "
            f"noise: (I - sigma pinv(sigma)) {{Z, H_I}} = {worst:.3g} != 0 at the initial points; "
            "the healed dynamics would not be completely positive (seed 004 eq. 12). "
            "Give these coordinates noise."
        )


def validate_model(
    model: AbstractModel,
    zs: Float[Array, "k n"],
    psi_dim: int | None = None,
    rtol: float = 1e-5,
    *,
    at: Survey | None = None,
) -> None:
    """Check shapes, finiteness and Hermiticity at the given points; raise InputError naming what is
    wrong (``at``: a survey of ``zs`` to reuse).

    A diagonal model is checked through ``energies`` (real, finite, shape (d,)), never as d x d
    matrices; an operator is a dense (d, d) Hermitian matrix or a ``PauliString`` on log2(d) qubits.
    """
    if callable(getattr(model, "inside", None)) and not isinstance(model, AbstractAbsorbingModel):
        raise InputError(
            "model.inside",
            f"{type(model).__name__} defines an absorbing rule but is not a "
            "cqjax.AbstractAbsorbingModel; subclass it so that the rule is applied",
        )
    at = _surveyed(at, model, zs, "values")
    d = at.d
    if psi_dim is not None and psi_dim != d:
        raise InputError("psi", f"the model's Hilbert space has d = {d}, got {psi_dim} amplitudes")
    if is_diagonal(model):
        if not at["finite"]:
            raise InputError("model.energies(z)", "H(z) is not finite at the initial points")
    else:
        if at["h_herm"] > rtol * max(float(at["h_scale"]), 1e-30):
            raise InputError("model.hamiltonian(z)", "H(z) is not Hermitian at the initial points")
        if not at["finite"]:
            raise InputError("model.hamiltonian(z)", "H(z) is not finite at the initial points")
    _check_operators(model, d, rtol)


def _check_operators(model: AbstractModel, d: int, rtol: float) -> None:
    """The named operators: Pauli strings on log2(d) qubits or dense Hermitian (d, d) matrices
    (checked on the host: no compiled program per operator)."""
    from ..operators._pauli import PauliString

    for name, op in model.operators().items():
        if isinstance(op, PauliString):  # Hermitian by construction
            if op.dim != d:
                raise InputError(
                    f"model.operators()[{name!r}]",
                    f"Pauli string {op.labels!r} acts on {op.n_qubits} qubits (d = {op.dim}), the model has d = {d}",
                )
            continue
        dense = np.asarray(op)
        if dense.shape != (d, d):
            raise InputError(f"model.operators()[{name!r}]", f"expected shape ({d}, {d}), got {dense.shape}")
        if np.abs(dense - dense.conj().T).max() > rtol * max(float(np.abs(dense).max()), 1e-30):
            raise InputError(f"model.operators()[{name!r}]", "operator is not Hermitian")


def _pure_state_obstacle(model: AbstractModel, at: Survey, rtol: float) -> str | None:
    """Why pure states cannot unravel this (completely positive) model, or None if they can
    (``at``: a survey with the "pure" part)."""
    if isinstance(model, AbstractJumpModel):
        return None
    name = type(model).__name__
    if float(at["excess"]) > rtol:
        return (
            f"{name} has decoherence above the saturated (healed) value (excess rate {float(at['excess']):.3g} at the "
            "initial points), so pure states cannot unravel it"
        )
    if not _hermitian_back(at):
        return f"{name} has a non-Hermitian back-reaction D1^{{a0}} L_a; the pure-state step needs a Hermitian one"
    return None


def _hermitian_back(at: Survey, rtol: float = 1e-6) -> bool:
    return bool(at["back_herm"] <= rtol * max(float(at["back_scale"]), 1e-30))


def hermitian_back_reaction(
    model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-6, *, at: Survey | None = None
) -> bool:
    """Whether every G_i = D1^{a0}_i L_a is Hermitian at the given points (always, unless general form)."""
    if not isinstance(model, AbstractGeneralModel):
        return True
    return _hermitian_back(_surveyed(at, model, zs, "pure"), rtol)


def check_unravellable(
    model: AbstractModel, zs: Float[Array, "k n"], mixed: bool, rtol: float = 1e-9, *, at: Survey | None = None
) -> None:
    """Raise ValueError if trajectories cannot unravel this model in the chosen representation.

    Any completely positive generator has a mixed-state unravelling (seed 004 eqs. 7-8); the
    pure-state one needs saturation (no excess decoherence) and Hermitian back-reaction G_i.
    """
    at = _surveyed(at, model, zs, "cp", "pure")
    check_complete_positivity(model, zs, rtol, at=at)
    if not mixed and (why := _pure_state_obstacle(model, at, rtol)) is not None:
        raise InputError(
            "state", f'{why}; use the mixed-state unravelling (state = "mixed" or "auto")', refs=("state",)
        )


def needs_mixed(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9, *, at: Survey | None = None) -> bool:
    """Whether the automatic choice is the mixed-state unravelling: excess decoherence, or a
    general model whose back-reaction is not Hermitian."""
    return _pure_state_obstacle(model, _surveyed(at, model, zs, "pure"), rtol) is not None
