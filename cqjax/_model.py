"""The model abstraction: a classical-quantum system given by its Hamiltonian H(z) and noise sigma(z).

A model holds its parameters as pytree leaves (so ``jax.grad`` flows to them) and states the
physics only: the classical coordinates in canonical pairs, the operator-valued Hamiltonian, the
classical noise matrix sigma(z) (method ``noise``) and named quantum operators. Everything the dynamics needs beyond that
(the split H = H_C I + H_I, the classical drift, the back-reaction operators) is derived here by
automatic differentiation (``../shared/PHYSICS.md`` sections 1 and 3; seed 004 eqs. 11-12).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Complex, Float

__all__ = ["AbstractModel", "AbstractDiagonalModel", "AbstractGeneralModel", "AbstractJumpModel", "consistency"]


class AbstractModel(eqx.Module):
    """A classical-quantum model: classical phase space (q_1..q_k, p_1..p_k) times C^d.

    Subclasses define the class variables ``positions`` and ``momenta`` (coordinate names, in
    canonical pairs), the parameters as fields, and the methods below. The phase-space point z
    is ordered ``positions + momenta``.
    """

    positions: eqx.AbstractClassVar[tuple[str, ...]]
    momenta: eqx.AbstractClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def hamiltonian(self, z: Float[Array, " n"]) -> Complex[Array, "d d"]:
        """The Hermitian operator-valued Hamiltonian H(z)."""

    @abc.abstractmethod
    def noise(self, z: Float[Array, " n"]) -> Float[Array, "n m"]:
        """Classical noise matrix sigma(z): dZ = ... + sigma(z) dW with m independent Wiener processes.

        ``m = n`` is the square case of seed 004; a singular or rectangular sigma (noise on the
        momenta only) is allowed as long as the positivity condition holds.
        """

    @abc.abstractmethod
    def operators(self) -> dict[str, Complex[Array, "d d"]]:
        """Named Hermitian quantum operators that observables may refer to."""

    def dissipators(self, z: Float[Array, " n"]) -> tuple[Float[Array, " k"], Complex[Array, "k d d"]] | None:
        """Extra Lindblad channels sum_k gamma_k D[L_k] varrho beyond the healed decoherence.

        Returns ``(rates, operators)`` or None (the default: none). The healed generator already
        holds the saturated decoherence 1/4 pinv(sigma sigma^T) of the force operators
        (PHYSICS.md section 3); these channels add to it. A negative rate lowers the decoherence
        below saturation: the dynamics is then not completely positive, which the master-equation
        solver can integrate (and diagnose with ``min_eig``) but no trajectory can unravel.
        """
        return None

    def reduced_planck(self) -> Float[ArrayLike, ""]:
        """hbar: the unitary part is -i/hbar [H_I, rho] (1 unless the model says otherwise)."""
        return 1.0

    def inside(self, z: Float[Array, " n"]) -> Bool[Array, ""] | None:
        """The absorbing rule: False where the dynamics is not defined (None: no boundary).

        A trajectory whose point leaves this domain is stopped there: its classical point and
        quantum state stay frozen from that step on, and the runner reports the fraction of
        trajectories stopped at every saved time (``stopped``).
        """
        return None

    @property
    def coords(self) -> tuple[str, ...]:
        return tuple(self.positions) + tuple(self.momenta)

    @property
    def n_coords(self) -> int:
        return len(self.positions) + len(self.momenta)


class AbstractDiagonalModel(AbstractModel):
    """A model whose Hamiltonian is diagonal in the computational basis for every z.

    Define ``energies(z)`` (the real diagonal of H(z)); the engine then applies every operator of
    the dynamics elementwise instead of as a d x d matrix.
    """

    @abc.abstractmethod
    def energies(self, z: Float[Array, " n"]) -> Float[Array, " d"]:
        """The real diagonal of H(z)."""

    def hamiltonian(self, z: Float[Array, " n"]) -> Complex[Array, "d d"]:
        e = self.energies(z)
        return jnp.diag(e).astype(jnp.result_type(e.dtype, jnp.complex64))


class AbstractGeneralModel(AbstractModel):
    """General continuous CQ dynamics, seed 004 eqs. (5)-(8), PHYSICS.md section 2.

    d varrho/dt = - d_i(D1C_i varrho) + d_i d_j(D2_ij varrho) - i[H, varrho]
                  + D0^{ab} (L_a varrho L_b^dag - 1/2 {L_b^dag L_a, varrho})
                  - d_i(D1^{a0}_i L_a varrho + D1^{0a}_i varrho L_a^dag),
    with D2 = sigma sigma^T / 2 and D1^{a0} = conj(D1^{0a}). Define ``hamiltonian`` (H, the
    unitary part; its trace only adds a global phase), ``noise`` (sigma), ``drift`` (D1C) and
    ``lindblad`` (L_a, D0, D1^{0a}). Complete positivity is the block-matrix condition
    [[2 D2, D1], [D1^dag, D0]] >= 0, checked at the initial points before a run.
    """

    @abc.abstractmethod
    def drift(self, z: Float[Array, " n"]) -> Float[Array, " n"]:
        """D1C(z), the classical drift."""

    @abc.abstractmethod
    def lindblad(
        self, z: Float[Array, " n"]
    ) -> tuple[Complex[Array, "p d d"], Complex[Array, "p p"], Complex[Array, "n p"]]:
        """``(L, D0, D1)``: Lindblad operators L_a, the decoherence matrix D0^{ab} and D1^{0a}_i."""

    def dissipators(self, z):
        """The decoherence beyond saturation, D0 - D1^dag pinv(sigma sigma^T) D1, as channels."""
        form = general_form(self, z)
        return form.rates, form.ops


class AbstractJumpModel(AbstractModel):
    """A model whose back-reaction acts by finite jumps of the classical point (seed 003 sec. IV).

    Seed 003 decomposes the Hamiltonian as H(z) = h^00(z) I + sum_ab h^ab(z) L_b^dag L_a (its
    eqs. 18, 68): the purely classical part h^00 drives the classical drift {Z, h^00}, the
    unitary part is -i[H, rho] (H_I up to a multiple of the identity), and the rest of the
    back-reaction is carried by jumps: at rate Tr(L_k varrho L_k^dag) the state is mapped to
    L_k varrho L_k^dag and the classical point jumps by ``shifts[k]`` (eq. 68: the flow of the
    coupling h^kk over the time tau). The force is therefore not {Z, Tr H / d}: a part of H with
    a trace that the jumps realise must not be counted again. A jump model may also have
    classical noise (``noise``, zero by default) and extra Lindblad channels (``dissipators``).
    """

    @abc.abstractmethod
    def classical_hamiltonian(self, z: Float[Array, " n"]) -> Float[Array, ""]:
        """h^00(z): the purely classical part of H in seed 003's decomposition (eq. 18)."""

    @abc.abstractmethod
    def jump_channels(self, z: Float[Array, " n"]) -> tuple[Complex[Array, "k d d"], Float[Array, "k n"]]:
        """``(operators, shifts)``: jump operators L_k (rates included) and the shift of z each causes."""

    def noise(self, z: Float[Array, " n"]) -> Float[Array, "n 1"]:
        return jnp.zeros((z.shape[0], 1), z.dtype)


# --------------------------------------------------------------------------------------------
# Derived quantities (PHYSICS.md section 3).


def symplectic(grad_z: Array, n_pairs: int) -> Array:
    """{Z, f} from the gradient of f along the *last* axis: ({q,f}, {p,f}) = (df/dp, -df/dq)."""
    dq, dp = grad_z[..., :n_pairs], grad_z[..., n_pairs:]
    return jnp.concatenate([dp, -dq], axis=-1)


def is_diagonal(model: AbstractModel) -> bool:
    return isinstance(model, AbstractDiagonalModel)


def hamiltonian_rep(model: AbstractModel, z: Array) -> Array:
    """H(z) in the model's representation: (d,) real energies or a (d, d) matrix."""
    return model.energies(z) if is_diagonal(model) else model.hamiltonian(z)


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

    (dhi, dhc), (hi, _) = jax.jacfwd(split, has_aux=True)(z)
    drift = symplectic(jnp.real(dhc), k)
    force = jnp.moveaxis(symplectic(dhi, k), -1, 0)
    if jumps and isinstance(model, AbstractJumpModel):  # seed 003 eq. 18: only h^00 drives the drift
        force = jnp.zeros_like(force)
        drift = symplectic(jax.grad(lambda z: jnp.real(model.classical_hamiltonian(z)))(z), k)
    return Generator(h=hi / model.reduced_planck(), drift=drift, force=force)


class GeneralForm(eqx.Module):
    """The generator at one point in the form the unravellings use (PHYSICS.md sections 2-3).

    ``h``: H / hbar (diagonal (d,) or (d, d)); ``drift``: D1C (n,); ``sigma``: (n, m);
    ``back``: G_i = D1^{a0}_i L_a (n, d) or (n, d, d), so that the back-reaction term is
    -d_i(G_i varrho + varrho G_i^dag); ``rates``, ``ops``: the decoherence beyond saturation
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
        diss = model.dissipators(z)
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
    return GeneralForm(h=H / model.reduced_planck(), drift=jnp.asarray(model.drift(z), z.dtype),
                       sigma=sigma, back=back, rates=rates, ops=ops)


def complete_positivity(model: AbstractModel, z: Float[Array, " n"]) -> tuple[Array, Array]:
    """How far the generator at z is from complete positivity (PHYSICS.md section 2).

    Returns ``(deficit, residual)``: the trade-off deficit max(0, -lambda_min(D0 - D1^dag
    pinv(sigma sigma^T) D1)) (the Schur complement of the block matrix [[2 D2, D1], [D1^dag, D0]])
    and ||(I - sigma pinv(sigma)) D1||. Both vanish iff the block matrix is PSD.
    """
    form = general_form(model, z)
    deficit = jnp.zeros((), z.dtype)
    if form.rates is not None and form.rates.size:
        deficit = jnp.maximum(-jnp.min(form.rates), 0.0)
    if isinstance(model, AbstractGeneralModel):
        _, _, D1 = model.lindblad(z)
        proj = form.sigma @ jnp.linalg.pinv(form.sigma)
        resid = jnp.linalg.norm((jnp.eye(proj.shape[0], dtype=z.dtype) - proj) @ D1)
    else:
        resid = jnp.max(positivity_residual(model, z))
    return deficit, resid


CONSISTENCY = ("complete positivity", "noise on every coupled coordinate", "Hermiticity")
CONSISTENCY_RTOL = 1e-5  # relative: rounding of the eigenvalues and projections in float32


def consistency(model: AbstractModel, z: Float[Array, " n"], pure: bool = True) -> tuple[Array, Array]:
    """What the dynamics assumes at every point it visits, as ``(relative (3,), amount (3,))``.

    0: the trade-off deficit max(0, -lambda_min(D0 - D1^dag pinv(sigma sigma^T) D1)) (seed 004
       eq. 9 as a block-matrix condition), relative to the decoherence scale max|D0| + max|rates|;
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
        return (f"complete positivity: the decoherence-diffusion trade-off 2 D0 >= D1^dag pinv(D2) D1 fails by "
                f"{amount:.3g} {where}: the block matrix [[2 D2, D1], [D1^dag, D0]] is not positive semi-definite "
                "there, so no trajectory can unravel this dynamics")
    if check == 1:
        return (f"complete positivity: (I - sigma pinv(sigma)) D1 = {amount:.3g} != 0 {where}: a coordinate without "
                "noise feels a quantum back-reaction")
    return f"Hermiticity: H(z) (or the back-reaction) is not Hermitian {where} (anti-Hermitian part {amount:.3g})"


def check_complete_positivity(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> None:
    """Raise ValueError naming the violated condition of the block matrix and by how much."""
    deficit, resid = jax.jit(jax.vmap(lambda z: complete_positivity(model, z)))(zs)
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
    if not isinstance(model, AbstractGeneralModel) and model.dissipators(zs[0]) is None:
        return 0.0
    rates = jax.jit(jax.vmap(lambda z: general_form(model, z).rates))(zs)
    return float(jnp.max(rates)) if rates.size else 0.0


def positivity_residual(model: AbstractModel, z: Float[Array, " n"]) -> Float[Array, " n"]:
    """|| ((I - sigma pinv(sigma)) F)_i || per coordinate i, with F = {Z, H_I}.

    Complete positivity of the healed dynamics needs this to vanish (seed 004 eq. 12 and
    App. C.1; PHYSICS.md section 3): no coordinate may feel a quantum force without noise.
    """
    force = generator(model, z).force  # (n, ...)
    sigma = jnp.asarray(model.noise(z), dtype=z.dtype)
    proj = sigma @ jnp.linalg.pinv(sigma)
    resid = jnp.tensordot(jnp.eye(proj.shape[0], dtype=z.dtype) - proj, force, axes=1)
    return jnp.sqrt(jnp.sum(jnp.abs(resid.reshape(resid.shape[0], -1)) ** 2, axis=-1))


def check_positivity(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-5) -> None:
    """Raise ValueError naming the coordinates that feel a quantum force but have no noise."""
    resid, scale = jax.jit(jax.vmap(lambda z: (
        positivity_residual(model, z), jnp.max(jnp.abs(generator(model, z).force))
    )))(zs)
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
    """Check shapes and Hermiticity at the given points; raise ValueError naming what is wrong.

    A diagonal model is checked through ``energies`` (real, finite, shape (d,)), never as d x d
    matrices; an operator is a dense (d, d) Hermitian matrix or a ``PauliString`` on log2(d) qubits.
    """
    from ._pauli_strings import PauliString

    n = model.n_coords
    if zs.shape[-1] != n:
        raise ValueError(f"initial.z_mean: model has {n} coordinates {list(model.coords)}, got {zs.shape[-1]}")
    if is_diagonal(model):
        E = jax.jit(jax.vmap(model.energies))(zs)
        if E.ndim != 2:
            raise ValueError(f"model.energies(z): expected a (d,) vector, got shape {E.shape[1:]}")
        if jnp.iscomplexobj(E):
            raise ValueError(f"model.energies(z): the diagonal of H(z) must be real, got dtype {E.dtype}")
        if not bool(jnp.all(jnp.isfinite(E))):
            raise ValueError("model.energies(z): H(z) is not finite at the initial points")
        d = E.shape[-1]
        if psi_dim is not None and psi_dim != d:
            raise ValueError(f"initial.psi: the model's Hilbert space has d = {d}, got {psi_dim} amplitudes")
    else:
        H = jax.jit(jax.vmap(model.hamiltonian))(zs)
        if H.ndim != 3 or H.shape[-1] != H.shape[-2]:
            raise ValueError(f"model.hamiltonian(z): expected a (d, d) matrix, got shape {H.shape[1:]}")
        d = H.shape[-1]
        if psi_dim is not None and psi_dim != d:
            raise ValueError(f"initial.psi: the model's Hilbert space has d = {d}, got {psi_dim} amplitudes")
        scale = max(float(jnp.max(jnp.abs(H))), 1e-30)
        if float(jnp.max(jnp.abs(H - jnp.conj(jnp.swapaxes(H, -1, -2))))) > rtol * scale:
            raise ValueError("model.hamiltonian(z): H(z) is not Hermitian at the initial points")
        if not bool(jnp.all(jnp.isfinite(H))):
            raise ValueError("model.hamiltonian(z): H(z) is not finite at the initial points")
    for name, op in model.operators().items():
        if isinstance(op, PauliString):  # Hermitian by construction
            if op.dim != d:
                raise ValueError(
                    f"model.operators()[{name!r}]: Pauli string {op.labels!r} acts on {op.n_qubits} qubits "
                    f"(d = {op.dim}), the model has d = {d}"
                )
            continue
        op = jnp.asarray(op)
        if op.shape != (d, d):
            raise ValueError(f"model.operators()[{name!r}]: expected shape ({d}, {d}), got {op.shape}")
        if float(jnp.max(jnp.abs(op - jnp.conj(op.T)))) > rtol * max(float(jnp.max(jnp.abs(op))), 1e-30):
            raise ValueError(f"model.operators()[{name!r}]: operator is not Hermitian")


def _pure_state_obstacle(model: AbstractModel, zs: Float[Array, "k n"], rtol: float) -> str | None:
    """Why pure states cannot unravel this (completely positive) model, or None if they can."""
    if isinstance(model, AbstractJumpModel):
        return None
    name = type(model).__name__
    excess = excess_decoherence(model, zs, rtol)
    if excess > rtol:
        return (f"{name} has decoherence above the saturated (healed) value (excess rate {excess:.3g} at the "
                "initial points), so pure states cannot unravel it")
    if not hermitian_back_reaction(model, zs):
        return f"{name} has a non-Hermitian back-reaction D1^{{a0}} L_a; the pure-state step needs a Hermitian one"
    return None


def hermitian_back_reaction(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-6) -> bool:
    """Whether every G_i = D1^{a0}_i L_a is Hermitian at the given points (always, unless general form)."""
    if not isinstance(model, AbstractGeneralModel):
        return True
    back = jax.jit(jax.vmap(lambda z: general_form(model, z).back))(zs)
    scale = max(float(jnp.max(jnp.abs(back))), 1e-30)
    return float(jnp.max(jnp.abs(back - jnp.conj(jnp.swapaxes(back, -1, -2))))) <= rtol * scale


def check_unravellable(model: AbstractModel, zs: Float[Array, "k n"], mixed: bool, rtol: float = 1e-9) -> None:
    """Raise ValueError if trajectories cannot unravel this model in the chosen representation.

    Any completely positive generator has a mixed-state unravelling (seed 004 eqs. 7-8); the
    pure-state one needs saturation (no excess decoherence) and Hermitian back-reaction G_i.
    """
    check_complete_positivity(model, zs, rtol)
    if not mixed and (why := _pure_state_obstacle(model, zs, rtol)) is not None:
        raise ValueError(f"run.state: {why}; use the mixed-state unravelling (run.state = \"mixed\" or \"auto\")")


def needs_mixed(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> bool:
    """Whether the automatic choice is the mixed-state unravelling: excess decoherence, or a
    general model whose back-reaction is not Hermitian."""
    return _pure_state_obstacle(model, zs, rtol) is not None
