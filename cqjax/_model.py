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
from jaxtyping import Array, ArrayLike, Complex, Float

__all__ = ["AbstractModel", "AbstractDiagonalModel", "AbstractJumpModel"]


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


class AbstractJumpModel(AbstractModel):
    """A model whose back-reaction acts by finite jumps of the classical point (seed 003 sec. IV).

    The classical drift is {Z, H_C} and the unitary part -i[H_I, rho] as for any model, but
    there is no continuous back-reaction force or classical noise: instead, at rate
    Tr(L_k varrho L_k^dag) the state is mapped to L_k varrho L_k^dag and the classical point
    jumps by ``shifts[k]`` (seed 003 eq. 68: the flow of the coupling h_k over the time tau).
    """

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


def generator(model: AbstractModel, z: Float[Array, " n"]) -> Generator:
    """Split H = H_C I + H_I with H_C = Tr H / d and differentiate (seed 004 eqs. 11-12).

    The classical drift is {Z, H_C} and the back-reaction operators are F = {Z, H_I}, both from
    forward-mode autodiff of H(z); ``h`` is H_I / hbar, the generator of the unitary part. For a
    jump model the back-reaction is carried by its jumps, so ``force`` is zero.
    """
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
    if isinstance(model, AbstractJumpModel):
        force = jnp.zeros_like(force)
    return Generator(h=hi / model.reduced_planck(), drift=drift, force=force)


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
    """Check shapes and Hermiticity at the given points; raise ValueError naming what is wrong."""
    n = model.n_coords
    if zs.shape[-1] != n:
        raise ValueError(f"initial.z_mean: model has {n} coordinates {list(model.coords)}, got {zs.shape[-1]}")
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
        op = jnp.asarray(op)
        if op.shape != (d, d):
            raise ValueError(f"model.operators()[{name!r}]: expected shape ({d}, {d}), got {op.shape}")
        if float(jnp.max(jnp.abs(op - jnp.conj(op.T)))) > rtol * max(float(jnp.max(jnp.abs(op))), 1e-30):
            raise ValueError(f"model.operators()[{name!r}]: operator is not Hermitian")


def check_unravellable(model: AbstractModel, zs: Float[Array, "k n"], rtol: float = 1e-9) -> None:
    """Raise ValueError if the continuous pure-state unravellings cannot run this model.

    They follow the healed generator only: a jump model or a model with extra Lindblad channels
    of non-zero rate at the given points needs another unravelling (the master-equation solver
    runs both).
    """
    name = type(model).__name__
    if isinstance(model, AbstractJumpModel):
        raise ValueError(
            f"model: {name} acts on the classical system by jumps; trajectories of jump models are "
            "not available yet (use 'cqjax master' for its master equation)"
        )
    if model.dissipators(zs[0]) is None:
        return
    rates = jax.jit(jax.vmap(lambda z: model.dissipators(z)[0]))(zs)
    worst = float(jnp.max(jnp.abs(rates))) if rates.size else 0.0
    if worst > rtol:
        sign = "below" if float(jnp.min(rates)) < -rtol else "above"
        more = (
            "it is not completely positive, so no trajectory can unravel it"
            if sign == "below"
            else "trajectories need the mixed-state unravelling, which is not available yet"
        )
        raise ValueError(
            f"model: {name} has decoherence {sign} the saturated (healed) value (extra rate "
            f"{worst:.3g} at the initial points): {more}; 'cqjax master' integrates its master equation"
        )
