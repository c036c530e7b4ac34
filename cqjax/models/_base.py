"""The model abstraction: a classical-quantum system given by its Hamiltonian H(z) and noise sigma(z).

A model holds its parameters as pytree leaves (so ``jax.grad`` flows to them) and states the
physics only: the classical coordinates in canonical pairs, the operator-valued Hamiltonian, the
classical noise matrix sigma(z) (method ``noise``) and named quantum operators. Everything the
dynamics needs beyond that is derived in ``_generator.py``.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics";
seed 003: J. Oppenheim, "A postquantum theory of classical gravity?".

The equations in one notation: the Physics page of the documentation (docs/physics.md); each shipped
model has its own page (docs/models/).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int, Real

from ..operators._operator import AbstractMatrixOperator, DenseOperator, DiagonalOperator
from ..operators._pauli import PauliString

CONSISTENCY_RTOL = 1e-5  # relative: rounding of the eigenvalues and projections in float32


class AbstractModel(eqx.Module):
    """A classical-quantum model: classical phase space (q_1..q_k, p_1..p_k) times C^d.

    Subclasses define ``positions`` and ``momenta`` (coordinate names, in canonical pairs: class
    variables, or properties where they depend on a field such as a number of sites), the
    parameters as fields, and the methods below. The phase-space point z is ordered
    ``positions + momenta``.
    """

    # Abstract properties rather than eqx.AbstractVar: a subclass implements them by a ClassVar or
    # by a property, and neither becomes a dataclass field (an __init__ argument).
    @property
    @abc.abstractmethod
    def positions(self) -> tuple[str, ...]:
        """The names of the positions q_1..q_k."""

    @property
    @abc.abstractmethod
    def momenta(self) -> tuple[str, ...]:
        """The names of the momenta p_1..p_k, conjugate to the positions in order."""

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
    def operators(self) -> Mapping[str, Complex[Array, "d d"] | PauliString]:
        """Named Hermitian quantum operators that observables may refer to."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # an optional method defined without its abstract base would be ignored: refuse it loudly
        for name, base in (("dissipators", "AbstractDissipativeModel"), ("reduced_planck", "AbstractPlanckModel")):
            if name in cls.__dict__ and not any(b.__name__ == base for b in cls.__mro__):
                raise TypeError(
                    f"{cls.__name__} defines {name}() but does not subclass cqjax.{base}, so the engine would "
                    f"ignore it; add cqjax.{base} to its bases"
                )

    @property
    def coords(self) -> tuple[str, ...]:
        return tuple(self.positions) + tuple(self.momenta)

    @property
    def n_coords(self) -> int:
        return len(self.positions) + len(self.momenta)


class AbstractDissipativeModel(AbstractModel):
    """A model with extra Lindblad channels sum_k gamma_k D[L_k] varrho beyond the healed decoherence.

    The healed generator already holds the saturated decoherence 1/4 pinv(sigma sigma^T) of the
    force operators (seed 004 sec. III: L_a = {Z_a, H_I}, D1^{0a}_i = delta_ia / 2 and eq. (6)
    saturated give the healed eqs. (11)-(12)); these channels add to it. A negative rate lowers the
    decoherence below saturation: the dynamics is then not completely positive, which the
    master-equation solver can integrate (and diagnose with ``min_eig``) but no trajectory can
    unravel. Combine with a model kind: ``class M(AbstractDiagonalModel, AbstractDissipativeModel)``.
    """

    @abc.abstractmethod
    def dissipators(self, z: Float[Array, " n"]) -> tuple[Float[Array, " k"], Complex[Array, "k d d"]] | None:
        """``(rates, operators)`` of the extra channels at z (or None: none)."""


class AbstractPlanckModel(AbstractModel):
    """A model in units where hbar is not 1: the unitary part is -i/hbar [H_I, rho]."""

    @abc.abstractmethod
    def reduced_planck(self) -> Real[ArrayLike, ""]:
        """hbar."""


def extra_dissipators(
    model: AbstractModel, z: Float[Array, " n"]
) -> tuple[Float[Array, " k"], Complex[Array, "k d d"]] | None:
    """The model's extra Lindblad channels at z (``AbstractDissipativeModel``), or None."""
    return model.dissipators(z) if isinstance(model, AbstractDissipativeModel) else None


def reduced_planck(model: AbstractModel) -> Real[ArrayLike, ""]:
    """hbar of the model (``AbstractPlanckModel``), 1 otherwise."""
    return model.reduced_planck() if isinstance(model, AbstractPlanckModel) else 1.0


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
    """General continuous CQ dynamics, seed 004 eqs. (5)-(8), with three printed errors corrected.

    d varrho/dt = - d_i(D1C_i varrho) + d_i d_j(D2_ij varrho) - i[H, varrho]
                  + D0^{ab} (L_a varrho L_b^dag - 1/2 {L_b^dag L_a, varrho})
                  - d_i(D1^{a0}_i L_a varrho + D1^{0a}_i varrho L_a^dag),
    with D2 = sigma sigma^T / 2 and D1^{a0} = conj(D1^{0a}). Corrections: eq. (5) prints the
    back-reaction term (last line) with a + sign; the paper's derivation from the unravelling
    (App. A, eqs. (A.5), (A.8)) gives the - sign used here. The text before eq. (7) prints
    D2 = 1/2 sigma sigma^2 for 1/2 sigma sigma^T. The last noise term of eq. (8) prints
    D1^{aa}; it is D1^{0a}_j pinv(sigma)_ij rho (L_a^dag - <L_a^dag>) dW_i.

    Define ``hamiltonian`` (H, the unitary part; its trace only adds a global phase), ``noise``
    (sigma), ``drift`` (D1C) and ``lindblad`` (L_a, D0, D1^{0a}). Complete positivity is the
    block-matrix condition [[2 D2, D1], [D1^dag, D0]] >= 0 (equivalent to eq. (6): 2 D0 >= D1^dag pinv(D2) D1 and
    (I - D2 pinv(D2)) D1 = 0), checked at the initial points before a run.
    """

    @abc.abstractmethod
    def drift(self, z: Float[Array, " n"]) -> Float[Array, " n"]:
        """D1C(z), the classical drift."""

    @abc.abstractmethod
    def lindblad(
        self, z: Float[Array, " n"]
    ) -> tuple[Complex[Array, "p d d"], Complex[Array, "p p"], Complex[Array, "n p"]]:
        """``(L, D0, D1)``: Lindblad operators L_a, the decoherence matrix D0^{ab} and D1^{0a}_i."""


class AbstractAbsorbingModel(AbstractModel):
    """A model with an absorbing rule: the dynamics is defined only where ``inside(z)`` holds.

    A trajectory whose point leaves this domain is stopped there: its classical point and quantum
    state stay frozen from that step on, and the runner reports the fraction of trajectories
    stopped at every saved time (``stopped``). Combine with a model kind:
    ``class Well(AbstractDiagonalModel, AbstractAbsorbingModel)``.
    """

    @abc.abstractmethod
    def inside(self, z: Float[Array, " n"]) -> Bool[Array, ""]:
        """False where the dynamics is not defined."""


class AbstractWalledModel(AbstractAbsorbingModel):
    """An absorbing model whose domain has several named walls, so that the stopped mass can be read
    per wall: the observable factor ``stopped[name]`` is 1_stopped(z) 1{wall(z) = name} (``stopped``
    is their sum). On the master grid it is the mass frozen in the outside cells whose centre lies
    beyond that wall. Implement ``walls`` (by a ClassVar or a property) and ``wall``.
    """

    @property
    @abc.abstractmethod
    def walls(self) -> tuple[str, ...]:
        """The names of the walls, in the order of ``wall``'s indices."""

    @abc.abstractmethod
    def wall(self, z: Float[Array, " n"]) -> Int[Array, ""]:
        """The index (into ``walls``) of the wall beyond which a point outside the domain lies."""


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


def symplectic(grad_z: Array, n_pairs: int) -> Array:
    """{Z, f} from the gradient of f along the *last* axis: ({q,f}, {p,f}) = (df/dp, -df/dq)."""
    dq, dp = grad_z[..., :n_pairs], grad_z[..., n_pairs:]
    return jnp.concatenate([dp, -dq], axis=-1)


def is_diagonal(model: AbstractModel) -> bool:
    return isinstance(model, AbstractDiagonalModel)


def representation(model: AbstractModel) -> type[AbstractMatrixOperator]:
    """The operator type the dynamics of ``model`` uses: diagonals for a diagonal model, else matrices."""
    return DiagonalOperator if is_diagonal(model) else DenseOperator


def hamiltonian_rep(model: AbstractModel, z: Array) -> Array:
    """H(z) in the model's representation: (d,) real energies or a (d, d) matrix."""
    return model.energies(z) if is_diagonal(model) else model.hamiltonian(z)
