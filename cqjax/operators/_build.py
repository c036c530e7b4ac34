"""Operators and states for users: Pauli matrices, basis states, tensor products, Pauli strings.

Dense operators are JAX arrays of JAX's default complex dtype (complex64, or complex128 with
``jax_enable_x64``); tensor products follow the QuTiP/dynamiqs order (the first factor is the
most significant digit of the index, qubit 1 first), the same as ``PauliString``.
"""

from __future__ import annotations

from functools import reduce

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex

from ._pauli import PauliString


def _complex():
    return jnp.result_type(complex)  # complex64, or complex128 with jax_enable_x64


def sigmax() -> Complex[Array, "*shape"]:
    """The Pauli matrix X = |0><1| + |1><0|."""
    return jnp.array([[0, 1], [1, 0]], _complex())


def sigmay() -> Complex[Array, "*shape"]:
    """The Pauli matrix Y = -i|0><1| + i|1><0|."""
    return jnp.array([[0, -1j], [1j, 0]], _complex())


def sigmaz() -> Complex[Array, "*shape"]:
    """The Pauli matrix Z = |0><0| - |1><1| (Z|0> = +|0>)."""
    return jnp.array([[1, 0], [0, -1]], _complex())


def identity(d: int) -> Complex[Array, "*shape"]:
    """The d x d identity."""
    return jnp.eye(d, dtype=_complex())


def basis(d: int, k: int) -> Complex[Array, " d"]:
    """The basis state |k> of C^d as a vector (d,) (QuTiP's ``basis`` returns a (d, 1) ket)."""
    if not 0 <= k < d:
        raise ValueError(f"basis: k must be in 0..{d - 1}, got {k}")
    return jnp.zeros(d, _complex()).at[k].set(1)


def tensor(*factors: ArrayLike) -> Complex[Array, "*shape"]:
    """The tensor (Kronecker) product of operators (d_i, d_i) or of state vectors (d_i,), first
    factor first: ``tensor(sigmaz(), identity(2))`` is Z on qubit 1 of two."""
    if not factors:
        raise ValueError("tensor: give at least one factor")
    arrays = [jnp.asarray(f) for f in factors]
    if len({a.ndim for a in arrays}) != 1 or arrays[0].ndim not in (1, 2):
        raise ValueError("tensor: give only operators (d, d) or only state vectors (d,)")
    return reduce(jnp.kron, arrays).astype(_complex())


def pauli_string(labels: str, sign: int = 1) -> PauliString:
    """``sign * P_1 (x) ... (x) P_n`` for ``labels`` over "IXYZ" (qubit 1 first), applied to a state
    in O(n 2^n) without its 2^n x 2^n matrix; ``np.asarray(s)`` gives the matrix for small n.
    Usable wherever an operator is: a model's ``operators()``, an observable of ``cqjax.run``."""
    return PauliString(labels, sign)


def dag(op: ArrayLike) -> Complex[Array, "*shape"]:
    """The conjugate transpose of an operator (the last two axes)."""
    return jnp.conj(jnp.swapaxes(jnp.asarray(op), -1, -2))
