"""The initial CQ state: a Gaussian classical point and a pure state or density matrix, or a
weighted mixture of such components (a correlated CQ state)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _threefry  # jax.random's numbers, fused (one XLA loop less per draw)
from .._precision import complex_dtype
from ..errors import InputError


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
            z = z + root @ _threefry.normal(key, z.shape, dtype)
        cdtype = complex_dtype(dtype)
        if mixed:
            return z, self.density(cdtype)
        if self.rho is None:
            psi = jnp.asarray(self.psi).astype(cdtype)
            return z, psi / jnp.linalg.norm(psi)
        weights, vectors = jnp.linalg.eigh(self.density(cdtype))
        k = _threefry.categorical(_threefry.fold_in(key, 7), jnp.log(jnp.clip(weights, 0.0)))
        return z, vectors[:, k]


class MixtureState(eqx.Module):
    """A correlated initial CQ state: varrho(z, 0) = sum_k w_k N(z; m_k, C_k) rho_k.

    Unlike a single ``InitialState`` (a product N(z) rho), the quantum state may depend on the
    classical point, e.g. |0> near q = -1 and |1> near q = +1 (a CQ-correlated state). The
    weights must be positive and are normalised by their sum. A trajectory draws its component
    k with probability w_k from its own key, then its point and state from that component.
    """

    weights: Float[Array, " k"]
    components: tuple[InitialState, ...]

    def __init__(self, components, weights):
        comps = tuple(components)
        if not comps or not all(isinstance(c, InitialState) for c in comps):
            raise InputError("components", "give one or more InitialState components")
        w = np.asarray(weights, float)
        if w.shape != (len(comps),):
            raise InputError("components", f"{len(comps)} components but weights of shape {w.shape}")
        if not np.all(np.isfinite(w)) or not np.all(w > 0):
            raise InputError("components", f"weights must be finite and positive, got {w.tolist()}")
        shapes = {(np.shape(c.z_mean)[-1], c.dim) for c in comps}
        if len(shapes) != 1:
            raise InputError("components", f"all components need the same (coordinates, d); got {sorted(shapes)}")
        self.weights = jnp.asarray(w / w.sum())
        self.components = comps

    @property
    def dim(self) -> int:
        return self.components[0].dim

    @property
    def z_mean(self) -> Array:
        """The mean of the classical marginal, sum_k w_k m_k."""
        return sum(w * jnp.asarray(c.z_mean) for w, c in zip(self.weights, self.components))

    @property
    def z_cov(self) -> Array:
        """The covariance of the classical marginal, sum_k w_k (C_k + m_k m_k^T) - m m^T."""
        m = self.z_mean
        second = 0.0
        for w, c in zip(self.weights, self.components):
            mk = jnp.asarray(c.z_mean)
            ck = 0.0 if c.z_cov is None else jnp.asarray(c.z_cov)
            second = second + w * (ck + jnp.outer(mk, mk))
        return second - jnp.outer(m, m)

    @property
    def psi(self) -> None:
        return None

    @property
    def rho(self) -> Array | None:
        """The quantum marginal sum_k w_k rho_k when a component is mixed, else None (every
        component pure: trajectories can carry pure states)."""
        if all(c.rho is None for c in self.components):
            return None
        return self.density()

    def density(self, dtype=jnp.complex128) -> Array:
        """The quantum marginal Tr_z varrho(z, 0) = sum_k w_k rho_k."""
        return sum(w * c.density(dtype) for w, c in zip(self.weights, self.components))

    def sample(self, key, dtype, mixed: bool = False) -> tuple[Array, Array]:
        """Draw the component from the weights (a key folded from ``key``), then its (z, state)."""
        k = _threefry.categorical(_threefry.fold_in(key, 13), jnp.log(self.weights))
        draws = [c.sample(key, dtype, mixed) for c in self.components]
        return jax.tree.map(lambda *xs: jnp.stack(xs)[k], *draws)
