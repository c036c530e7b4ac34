"""Bloch vectors of pure qubit and n-qubit states.

For one qubit the Bloch vector of |psi> is (<sx>, <sy>, <sz>). For n qubits (d = 2^n) the
figures of I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics"
(Fig. 4, the GHZ lattice of App. C) draw the collective components
(<sx^(x)n>, <sy^(x)n>, <sz^(x)n>), the expectations of the n-fold tensor powers of the Pauli
matrices; for a GHZ state (|0...0> + e^{i a}|1...1>)/sqrt(2) these are a point on the unit
sphere, so the collapse of the lattice reads like that of one qubit.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike, Float, Num

__all__ = ["bloch_vector", "bloch_vector_rho"]


def bloch_vector(psi: Num[ArrayLike, "*batch d"]) -> Float[np.ndarray, "*batch 3"]:
    """(<X>, <Y>, <Z>) of the pure states ``psi`` (normalised here), X = sx^(x)n, Y = sy^(x)n,
    Z = sz^(x)n for d = 2^n (one qubit: the Bloch vector).

    With basis index b (bits b_1..b_n, |b| ones, bit 1 = |1>, sz|1> = -|1>) and b' = b XOR (2^n - 1)
    its complement: X|b> = |b'>, Z|b> = (-1)^|b| |b>, and, as sy = i sx sz,
    Y|b> = i^n (-1)^|b| |b'>; so <X> = sum_b psi*_b' psi_b, <Y> = sum_b psi*_b' psi_b i^n (-1)^|b|,
    <Z> = sum_b |psi_b|^2 (-1)^|b|. Raises ValueError unless d is a power of 2.
    """
    amps = np.asarray(psi)
    amps = amps / np.linalg.norm(amps, axis=-1, keepdims=True)
    d = amps.shape[-1]
    n = d.bit_length() - 1
    if d != 1 << n:
        raise ValueError(f"bloch_vector: dimension {d} is not a power of 2")
    b = np.arange(d)
    ones = np.array([int(i).bit_count() for i in b])
    flipped = amps[..., b ^ (d - 1)]  # amplitude of the complementary bit string
    sx = np.sum(flipped.conj() * amps, axis=-1)
    sy = np.sum(flipped.conj() * amps * (1j**n) * (-1.0) ** ones, axis=-1)
    sz = np.sum(np.abs(amps) ** 2 * (-1.0) ** ones, axis=-1)
    return np.stack([sx.real, sy.real, sz], axis=-1)


def bloch_vector_rho(rho: Num[ArrayLike, "*batch 2 2"]) -> Float[np.ndarray, "*batch 3"]:
    """(<sx>, <sy>, <sz>) = (2 Re rho_01, -2 Im rho_01, rho_00 - rho_11) of qubit density matrices
    (normalised by their trace here); the length is 1 for a pure state, < 1 for a mixed one."""
    mats = np.asarray(rho)
    if mats.shape[-2:] != (2, 2):
        raise ValueError(f"bloch_vector_rho: expected 2 x 2 density matrices, got shape {mats.shape}")
    mats = mats / np.trace(mats, axis1=-2, axis2=-1)[..., None, None]
    r01 = mats[..., 0, 1]
    return np.stack([2 * r01.real, -2 * r01.imag, (mats[..., 0, 0] - mats[..., 1, 1]).real], axis=-1)
