"""Standard qubit operators."""

import jax.numpy as jnp

__all__ = ["pauli"]


def pauli() -> dict[str, jnp.ndarray]:
    """sx, sy, sz in the basis (|0>, |1>) with sz|0> = +|0>."""
    return {
        "sx": jnp.array([[0, 1], [1, 0]], dtype=jnp.complex64),
        "sy": jnp.array([[0, -1j], [1j, 0]], dtype=jnp.complex64),
        "sz": jnp.array([[1, 0], [0, -1]], dtype=jnp.complex64),
    }
