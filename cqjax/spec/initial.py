"""The initial CQ state: a Gaussian classical point and a pure state or density matrix."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._precision import complex_dtype


class InitialState(eqx.Module):
    """Gaussian classical point N(z_mean, z_cov) (z_cov None: a fixed point) and a quantum state:
    a pure state ``psi`` or a density matrix ``rho`` (give one; ``rho`` wins if both are set)."""

    z_mean: Float[Array, " n"]
    psi: Complex[Array, " d"] | None = None
    z_cov: Float[Array, "n n"] | None = None
    rho: Complex[Array, "d d"] | None = None

    def __check_init__(self):
        if self.psi is None and self.rho is None:
            raise ValueError("initial: give a state vector psi or a density matrix rho")

    @property
    def dim(self) -> int:
        state = self.rho if self.rho is not None else self.psi
        assert state is not None  # __check_init__
        return int(jnp.shape(state)[-1])

    def density(self, dtype=jnp.complex128) -> Array:
        """The initial density matrix, trace one."""
        if self.rho is not None:
            rho = jnp.asarray(self.rho).astype(dtype)
            return rho / jnp.real(jnp.trace(rho))
        psi = jnp.asarray(self.psi).astype(dtype)
        return jnp.outer(psi, jnp.conj(psi)) / jnp.real(jnp.vdot(psi, psi))

    def sample(self, key, dtype, mixed: bool = False) -> tuple[Array, Array]:
        """(z, psi) or, ``mixed``, (z, rho). From a density matrix a pure-state run samples
        eigenvector k with probability lambda_k (a decomposition of rho)."""
        z = jnp.asarray(self.z_mean, dtype)
        if self.z_cov is not None:
            evals, evecs = jnp.linalg.eigh(jnp.asarray(self.z_cov, dtype))
            root = evecs * jnp.sqrt(jnp.clip(evals, 0.0))
            z = z + root @ jax.random.normal(key, z.shape, dtype)
        cdtype = complex_dtype(dtype)
        if mixed:
            return z, self.density(cdtype)
        if self.rho is None:
            psi = jnp.asarray(self.psi).astype(cdtype)
            return z, psi / jnp.linalg.norm(psi)
        weights, vectors = jnp.linalg.eigh(self.density(cdtype))
        k = jax.random.categorical(jax.random.fold_in(key, 7), jnp.log(jnp.clip(weights, 0.0)))
        return z, vectors[:, k]
