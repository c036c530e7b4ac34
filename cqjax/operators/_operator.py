"""The operator representation as a type: dense matrices and diagonals, one or a stack of them.

An operator the dynamics applies is a ``DenseOperator`` ((..., d, d) matrices) or, for models
diagonal in the computational basis, a ``DiagonalOperator`` ((..., d) diagonals), whose every
method is elementwise. A stack of operators carries its stack axis first. The solvers call these
methods and never test the representation themselves; ``PauliString`` (``_pauli.py``) is the third
``AbstractOperator``: a single Hermitian Pauli string applied without its 2^n x 2^n matrix.

Contractions over the short axes of one trajectory (the d entries of a qubit's diagonal, the m
noises, the n coordinates) are written out as sums of slices (``small_sum``): under ``vmap`` XLA
then fuses a whole diagonal step into a few elementwise loops instead of many small batched dots.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact, Shaped

from ._ops import dissipator, expm_multiply, is_mixed

EXACT_CHANNEL_DIM = 8  # dense channels up to this d by the exponential of their superoperator
UNROLL = 8  # axes up to this length are summed as unrolled slices (fusable); longer ones with jnp.sum

State = Complex[Array, " d"] | Complex[Array, "d d"]


def small_sum(x: Shaped[Array, "*shape"], axis: int = 0) -> Array:
    """sum over ``axis``; a short axis (<= ``UNROLL``) as a chain of slice additions, which XLA fuses."""
    k = x.shape[axis]
    if k == 0 or k > UNROLL:
        return jnp.sum(x, axis=axis)
    parts = [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(k)]
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def small_dot(a: Shaped[Array, "... k"], b: Shaped[Array, "k ..."]) -> Array:
    """sum_i a[..., i] b[i, ...] (``a`` with one index, or a matrix times a vector/stack), unrolled when short."""
    if a.ndim == 1:
        return small_sum(a.reshape(a.shape + (1,) * (b.ndim - 1)) * b, axis=0)
    return small_sum(a.reshape(a.shape + (1,) * (b.ndim - 1)) * b[None], axis=a.ndim - 1)


def norm_squared(psi: Complex[Array, "*k d"]) -> Float[Array, "*k"]:
    """<psi|psi> (real) of a vector or of each vector of a stack."""
    return small_sum(jnp.real(psi) ** 2 + jnp.imag(psi) ** 2, axis=-1)


def scale(psi: Complex[Array, "*shape"], factor: Inexact[Array, "*factor"]) -> Complex[Array, "*shape"]:
    """psi * factor, in real arithmetic when ``factor`` is real (two products, not a complex one)."""
    if jnp.iscomplexobj(factor) or not jnp.iscomplexobj(psi):
        return psi * factor
    return jax.lax.complex(jnp.real(psi) * factor, jnp.imag(psi) * factor).astype(psi.dtype)


class AbstractOperator(eqx.Module):
    """A quantum operator (or a stack of them, stack axis first) in one representation."""

    @abc.abstractmethod
    def apply(self, psi: Complex[Array, " d"]) -> Complex[Array, "*k d"]:
        """op |psi>: (d,) for one operator, (k, d) for a stack."""

    @abc.abstractmethod
    def expect(self, state: State) -> Float[Array, "*k"]:
        """Re <op> in a normalised psi (d,) or rho (d, d)."""


_Op = TypeVar("_Op", bound="AbstractMatrixOperator")  # a method returns the representation it is called on


class AbstractMatrixOperator(AbstractOperator):
    """Operators stored as arrays (dense or diagonal): everything the solvers do with them."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """d, the dimension of the Hilbert space."""

    @property
    @abc.abstractmethod
    def stack_len(self) -> int:
        """k, the number of operators of a stack (leading axis)."""

    @classmethod
    @abc.abstractmethod
    def from_array(cls: type[_Op], array: Array, stack: bool = False) -> _Op:
        """An array in this representation: one operator, or a stack (``stack``); the diagonal
        representation takes (k, d, d) / (d, d) matrices by their diagonals."""

    @abc.abstractmethod
    def apply_each(self, vecs: Complex[Array, "k d"]) -> Complex[Array, "k d"]:
        """op_i |vecs_i> for a stack and a matching stack of vectors."""

    @abc.abstractmethod
    def left(self, rho: Complex[Array, "d d"]) -> Complex[Array, "*k d d"]:
        """op rho."""

    @abc.abstractmethod
    def expect_complex(self, state: State) -> Complex[Array, "*k"]:
        """Tr(op rho) (complex: op need not be Hermitian) in a normalised psi or rho."""

    @abc.abstractmethod
    def adjoint(self: _Op) -> _Op:
        """op^dag."""

    @abc.abstractmethod
    def combine(self: _Op, coeffs: Inexact[Array, "*m k"]) -> _Op:
        """sum_i coeffs[..., i] op_i, a linear combination of the stack."""

    @abc.abstractmethod
    def map_apply(self, linear: Callable[[Array], Array], psi: Complex[Array, " d"]) -> Complex[Array, " d"]:
        """A psi for a linear map ``linear`` built from operators of this representation."""

    @abc.abstractmethod
    def sandwich(self, linear: Callable[[Array], Array], rho: Complex[Array, "d d"]) -> Complex[Array, "d d"]:
        """A rho A^dag for such a linear map A."""

    @abc.abstractmethod
    def cayley(self, psi: Complex[Array, " d"], dt) -> Complex[Array, " d"]:
        """(I + i h dt/2)^-1 (I - i h dt/2) psi for a Hermitian h = self: unitary, exp(-i h dt) to O(dt^3)."""

    @abc.abstractmethod
    def cayley_conjugate(self, rho: Complex[Array, "d d"], dt) -> Complex[Array, "d d"]:
        """U rho U^dag with U the Cayley transform of exp(-i h dt)."""

    @abc.abstractmethod
    def ldagger_l(self: _Op, weights: Float[Array, " k"]) -> _Op:
        """sum_k weights_k L_k^dag L_k of a stack, one operator."""

    @abc.abstractmethod
    def propagate(self, generator: AbstractMatrixOperator, psi: Complex[Array, " d"], dt) -> Complex[Array, " d"]:
        """exp(-(i self + generator) dt) psi for Hermitian ``self`` and ``generator``."""

    @abc.abstractmethod
    def channel(self, rates: Float[Array, " k"], rho: Complex[Array, "d d"], dt) -> Complex[Array, "d d"]:
        """exp(dt sum_k rates_k D[L_k]) rho for the stack L_k (see ``_quantum.excess_channel``)."""

    def astype(self: _Op, dtype) -> _Op:
        return jax.tree.map(lambda a: a.astype(dtype), self)

    def scaled(self: _Op, factors: Float[Array, " k"]) -> _Op:
        """factors_k L_k for each operator of a stack."""
        return jax.tree.map(lambda a: a * factors.reshape(factors.shape + (1,) * (a.ndim - 1)), self)

    def stacked(self: _Op, other: _Op) -> _Op:
        """The stack of ``self`` followed by ``other``."""
        dtype = jnp.result_type(*jax.tree.leaves(self), *jax.tree.leaves(other))
        return jax.tree.map(lambda a, b: jnp.concatenate([a.astype(dtype), b.astype(dtype)]), self, other)

    def lindblad(self, rates: Float[Array, " k"], rho: Complex[Array, "d d"]) -> Complex[Array, "d d"]:
        """sum_k rates_k D[L_k] rho for the stack L_k."""
        return jnp.tensordot(rates, dissipator(self.array, rho[None]), axes=1)

    @property
    @abc.abstractmethod
    def array(self) -> Array:
        """The stored array: (..., d, d) matrices or (..., d) diagonals."""


class DenseOperator(AbstractMatrixOperator):
    """Operators as (..., d, d) matrices."""

    matrix: Complex[Array, "*k d d"] | Float[Array, "*k d d"]

    @property
    def array(self) -> Array:
        return self.matrix

    @property
    def dim(self) -> int:
        return self.matrix.shape[-1]

    @property
    def stack_len(self) -> int:
        return self.matrix.shape[0]

    @classmethod
    def from_array(cls, array, stack=False):
        return cls(array)

    def apply(self, psi):
        return jnp.einsum("...ij,j->...i", self.matrix, psi)

    def apply_each(self, vecs):
        return jnp.einsum("mij,mj->mi", self.matrix, vecs)

    def left(self, rho):
        return jnp.einsum("...ij,jk->...ik", self.matrix, rho)

    def expect(self, state):
        return jnp.real(self.expect_complex(state))

    def expect_complex(self, state):
        if is_mixed(state):
            return jnp.einsum("...ij,ji->...", self.matrix, state)
        return jnp.einsum("i,...ij,j->...", jnp.conj(state), self.matrix, state)

    def adjoint(self):
        return DenseOperator(jnp.conj(jnp.swapaxes(self.matrix, -1, -2)))

    def combine(self, coeffs):
        return DenseOperator(jnp.tensordot(coeffs.astype(jnp.result_type(coeffs, self.matrix)), self.matrix, axes=1))

    def map_apply(self, linear, psi):
        return linear(psi)

    def sandwich(self, linear, rho):
        left = jax.vmap(linear, in_axes=1, out_axes=1)(rho)  # A rho
        return jnp.conj(jax.vmap(linear, in_axes=1, out_axes=1)(jnp.conj(left.T))).T  # (A (A rho)^dag)^dag

    def cayley(self, psi, dt):
        half = 0.5j * dt
        eye = jnp.eye(psi.shape[-1], dtype=psi.dtype)
        return jnp.linalg.solve(eye + half * self.matrix, psi - half * (self.matrix @ psi))

    def cayley_conjugate(self, rho, dt):  # the Cayley matrix once, not one linear solve per column
        half = 0.5j * dt
        eye = jnp.eye(rho.shape[-1], dtype=rho.dtype)
        u = jnp.linalg.solve(eye + half * self.matrix, eye - half * self.matrix)
        return u @ rho @ jnp.conj(u.T)

    def ldagger_l(self, weights):
        return DenseOperator(jnp.einsum("k,kji,kjl->il", weights, jnp.conj(self.matrix), self.matrix))

    def propagate(self, generator, psi, dt):
        return expm_multiply(-dt * (1j * self.matrix + generator.array), psi)

    def channel(self, rates, rho, dt):
        """d <= ``EXACT_CHANNEL_DIM``: the exponential of the d^2 x d^2 Lindblad superoperator (exact).
        Larger d: the Kraus operators K_0 = I - dt/2 sum r L^dag L, K_k = sqrt(r dt) L, each multiplied
        by S^-1/2 with S = sum K^dag K: trace preserving at any dt, first order."""
        ops, d = self.matrix, rho.shape[-1]
        eye = jnp.eye(d, dtype=rho.dtype)
        ldl = self.ldagger_l(rates).matrix
        if d <= EXACT_CHANNEL_DIM:  # row-major vec: vec(A rho B) = (A kron B^T) vec(rho)
            sup = jnp.einsum("k,kij,klm->iljm", rates, ops, jnp.conj(ops)).reshape(d * d, d * d)
            sup = sup - 0.5 * (jnp.kron(ldl, eye) + jnp.kron(eye, ldl.T))
            return (jax.scipy.linalg.expm(dt * sup) @ rho.reshape(-1)).reshape(d, d)
        k0 = eye - 0.5 * dt * ldl
        kraus = jnp.concatenate([k0[None], jnp.sqrt(rates * dt)[:, None, None] * ops], axis=0)
        s = jnp.einsum("kji,kjl->il", jnp.conj(kraus), kraus)
        w, v = jnp.linalg.eigh(s)
        kraus = kraus @ ((v * (1.0 / jnp.sqrt(w))) @ jnp.conj(v.T))
        return jnp.einsum("kij,jl,kml->im", kraus, rho, jnp.conj(kraus))


class DiagonalOperator(AbstractMatrixOperator):
    """Operators diagonal in the computational basis, stored as their (..., d) diagonals; every
    method is elementwise."""

    diag: Complex[Array, "*k d"] | Float[Array, "*k d"]

    @property
    def array(self) -> Array:
        return self.diag

    @property
    def dim(self) -> int:
        return self.diag.shape[-1]

    @property
    def stack_len(self) -> int:
        return self.diag.shape[0]

    @classmethod
    def from_array(cls, array, stack=False):
        if array.ndim == (3 if stack else 2):  # matrices: their diagonals
            array = jnp.diagonal(array, axis1=-2, axis2=-1)
        return cls(array)

    def apply(self, psi):
        return scale(psi, self.diag) if self.diag.ndim == 1 else self.diag * psi

    def apply_each(self, vecs):
        return self.diag * vecs

    def left(self, rho):
        return self.diag[..., :, None] * rho

    def expect(self, state):
        weights = jnp.real(jnp.diagonal(state)) if is_mixed(state) else jnp.real(state) ** 2 + jnp.imag(state) ** 2
        return small_sum(jnp.real(self.diag) * weights, axis=-1)

    def expect_complex(self, state):
        weights = jnp.diagonal(state) if is_mixed(state) else jnp.real(state) ** 2 + jnp.imag(state) ** 2
        return small_sum(self.diag * weights, axis=-1)

    def adjoint(self):
        return DiagonalOperator(jnp.conj(self.diag))

    def combine(self, coeffs):
        return DiagonalOperator(small_dot(coeffs.astype(jnp.result_type(coeffs, self.diag)), self.diag))

    def map_apply(self, linear, psi):  # A is diagonal: A psi = (A 1) psi, real arithmetic where A 1 is real
        return scale(psi, linear(jnp.ones(psi.shape[-1], jnp.real(psi).dtype)))

    def sandwich(self, linear, rho):  # (A rho A^dag)_ab = g_a rho_ab g_b^*, g = A 1
        g = linear(jnp.ones(rho.shape[-1], rho.dtype))
        return g[:, None] * rho * jnp.conj(g)[None, :]

    def _phases(self, dt, dtype) -> Array:
        # real energies: (1 - ix) / (1 + ix) = ((1 - x^2) - 2ix) / (1 + x^2), x = h dt / 2
        x = 0.5 * dt * jnp.real(self.diag)
        inv = 1.0 / (1.0 + x * x)
        return jax.lax.complex((1.0 - x * x) * inv, -2.0 * x * inv).astype(dtype)

    def cayley(self, psi, dt):
        return psi * self._phases(dt, psi.dtype)

    def cayley_conjugate(self, rho, dt):
        u = self._phases(dt, rho.dtype)
        return u[:, None] * rho * jnp.conj(u)[None, :]

    def ldagger_l(self, weights):
        return DiagonalOperator(small_dot(weights, jnp.abs(self.diag) ** 2))

    def propagate(self, generator, psi, dt):
        return psi * jnp.exp(-dt * (1j * jnp.real(self.diag) + jnp.real(generator.diag)))

    def channel(self, rates, rho, dt):
        """rho_ab -> rho_ab exp(dt sum_k r_k (l_a l_b^* - (|l_a|^2 + |l_b|^2) / 2)), exact."""
        l = self.diag  # (k, d)
        n = jnp.einsum("k,ka->a", rates, jnp.abs(l) ** 2)
        gen = jnp.einsum("k,ka,kb->ab", rates, l, jnp.conj(l)) - 0.5 * (n[:, None] + n[None, :])
        return rho * jnp.exp(dt * gen)
