"""Pauli operators: the single-qubit table and Pauli strings on n qubits applied without 2^n x 2^n matrices."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ._operator import AbstractOperator


def pauli() -> dict[str, jnp.ndarray]:
    """sx, sy, sz in the basis (|0>, |1>) with sz|0> = +|0>."""
    return {
        "sx": jnp.array([[0, 1], [1, 0]], dtype=jnp.complex64),
        "sy": jnp.array([[0, -1j], [1j, 0]], dtype=jnp.complex64),
        "sz": jnp.array([[1, 0], [0, -1]], dtype=jnp.complex64),
    }


_DENSE = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


# single-site products a b = phase * c
_PRODUCT = {
    ("X", "Y"): (1j, "Z"),
    ("Y", "X"): (-1j, "Z"),
    ("Y", "Z"): (1j, "X"),
    ("Z", "Y"): (-1j, "X"),
    ("Z", "X"): (1j, "Y"),
    ("X", "Z"): (-1j, "Y"),
}


class PauliString(AbstractOperator):
    """``sign * P_1 (x) ... (x) P_n``, ``labels`` a string over "IXYZ" (qubit 1 first), sign +-1: the
    Pauli-string representation of an operator (one Hermitian string, no 2^n x 2^n matrix)."""

    labels: str = eqx.field(static=True)
    sign: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        if not self.labels or any(c not in "IXYZ" for c in self.labels):
            raise ValueError(f"PauliString: labels must be a non-empty string over 'IXYZ', got {self.labels!r}")
        if self.sign not in (1, -1):
            raise ValueError(f"PauliString: sign must be +1 or -1, got {self.sign!r}")

    @property
    def n_qubits(self) -> int:
        return len(self.labels)

    @property
    def dim(self) -> int:
        """d = 2^n, the dimension of the Hilbert space it acts on."""
        return 1 << len(self.labels)

    def _signs(self, dtype) -> Array | None:
        """(-1)^(sum of the bits of the Y and Z sites) as a (2,)*n array, or None if there are none."""
        if not any(c in "YZ" for c in self.labels):
            return None
        out = jnp.ones((), dtype)
        for c in self.labels:
            out = out[..., None] * jnp.asarray([1.0, -1.0] if c in "YZ" else [1.0, 1.0], dtype)
        return out

    def apply(self, psi: Complex[Array, " d"]) -> Complex[Array, " d"]:
        """P |psi> in O(n 2^n) operations (formula in the module docstring)."""
        if psi.shape != (self.dim,):
            raise ValueError(f"PauliString {self.labels!r}: expects a state of shape ({self.dim},), got {psi.shape}")
        flip = tuple(i for i, c in enumerate(self.labels) if c in "XY")
        out = psi.reshape((2,) * self.n_qubits)
        if flip:
            out = jnp.flip(out, axis=flip)
        signs = self._signs(jnp.real(psi).dtype)
        if signs is not None:
            out = out * signs
        phase = self.sign * (-1j) ** self.labels.count("Y")
        out = out.reshape(psi.shape)
        return out if phase == 1 else out * jnp.asarray(phase, psi.dtype)

    def expect(self, psi: Complex[Array, " d"] | Complex[Array, "d d"]) -> Float[Array, ""]:
        """<psi|P|psi> / <psi|psi> (real: P is Hermitian), for a state of any norm; for a density
        matrix (d, d), Re Tr(P rho) / Tr rho (O(n d^2): small d only)."""
        if psi.ndim == 2:
            p_rho = jax.vmap(self.apply, in_axes=1, out_axes=1)(psi)
            return jnp.real(jnp.trace(p_rho)) / jnp.real(jnp.trace(psi))
        prob = jnp.real(psi) ** 2 + jnp.imag(psi) ** 2
        if all(c in "IZ" for c in self.labels):  # diagonal: a signed sum of probabilities
            signs = self._signs(prob.dtype)
            num = jnp.sum(prob) if signs is None else jnp.sum(prob.reshape(signs.shape) * signs)
            return self.sign * num / jnp.sum(prob)
        return jnp.real(jnp.vdot(psi, self.apply(psi))) / jnp.sum(prob)

    def dense(self) -> np.ndarray:
        """The (2^n, 2^n) matrix (numpy, complex128): for small n only."""
        out = np.ones((1, 1), complex)
        for c in self.labels:
            out = np.kron(out, _DENSE[c])
        return self.sign * out

    def __array__(self, dtype=None, copy=None):
        dense = self.dense()
        return dense if dtype is None else dense.astype(dtype)


def local(n: int, site: int, pauli: str) -> PauliString:
    """The single-site operator ``pauli`` ("X", "Y", "Z") on qubit ``site`` (1-based) of n."""
    if not 1 <= site <= n:
        raise ValueError(f"local: site must be in 1..{n}, got {site}")
    return PauliString("I" * (site - 1) + pauli + "I" * (n - site))


def global_string(n: int, pauli: str) -> PauliString:
    """``pauli`` on every one of the n qubits: X^n, Y^n or Z^n."""
    return PauliString(pauli * n)


def multiply(a: PauliString, b: PauliString) -> PauliString:
    """The product a b of two commuting Pauli strings (Hermitian); ValueError if they anticommute."""
    if a.n_qubits != b.n_qubits:
        raise ValueError(f"PauliString: cannot multiply strings on {a.n_qubits} and {b.n_qubits} qubits")
    phase, labels = complex(a.sign * b.sign), []
    for x, y in zip(a.labels, b.labels):
        if x == "I" or y == "I":
            labels.append(y if x == "I" else x)
        elif x == y:
            labels.append("I")
        else:
            f, c = _PRODUCT[(x, y)]
            phase *= f
            labels.append(c)
    if phase.imag != 0:
        raise ValueError(f"PauliString: {a.labels!r} and {b.labels!r} anticommute; their product is not Hermitian")
    return PauliString("".join(labels), round(phase.real))
