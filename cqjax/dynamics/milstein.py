"""The Milstein scheme for the joint classical-quantum state."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._coefficients import MeasuredCoefficients
from ._quantum import centred_diffusion, normalise, quantum_drift
from ._solver import AbstractSolver, CoefficientsFn, State, classical_update


class Milstein(AbstractSolver):
    """Milstein scheme for the joint state X = (Z, psi or rho), then renormalisation.

    X + a(X) dt + sum_j B_j(X) dW_j + 1/2 sum_jk (DB_j . B_k)(X) (dW_j dW_k - delta_jk dt), with
    B_j = (sigma_j, (K_j - <K_j>) psi) the diffusion and DB_j . B_k its directional derivative
    (forward-mode autodiff). Strong order 1 for commutative noise (a single noise, or commuting
    diagonal K_j with additive sigma); for non-commutative noise the Levy areas are omitted and the
    strong order drops to 1/2. Weak order 1.
    """

    name: ClassVar[str] = "milstein"
    weak_order: ClassVar[float] = 1.0

    def step(
        self, coefficients: CoefficientsFn, z: Float[Array, " n"], state: State, dW: Float[Array, " m"] | None, dt
    ) -> tuple[Float[Array, " n"], State]:
        c = coefficients(z, state)
        z1 = classical_update(z, c, dW, dt)
        q1 = state + dt * quantum_drift(c, state)
        if not isinstance(c, MeasuredCoefficients):
            return z1, normalise(q1)
        assert dW is not None  # a measured step is driven by its increments

        def diffusion(z, state):
            cc = coefficients(z, state)
            return cc.sigma, centred_diffusion(cc, state)  # (n, m), (m, ...)

        sig, b = c.sigma, centred_diffusion(c, state)
        q1 = q1 + jnp.tensordot(dW, b, axes=1)
        tangents = (jnp.moveaxis(sig, -1, 0).astype(z.dtype), b)  # B_k for each k: (m, n), (m, ...)
        dsig, db = jax.vmap(lambda tz, tq: jax.jvp(diffusion, (z, state), (tz, tq))[1])(*tangents)
        # dsig[k] = D sigma . B_k (n, m); db[k] = D b . B_k (m, ...); weights I_jk = dW_j dW_k - delta_jk dt
        weights = 0.5 * (dW[:, None] * dW[None, :] - dt * jnp.eye(dW.shape[0], dtype=dW.dtype))
        z1 = z1 + jnp.einsum("knj,jk->n", dsig, weights)
        q1 = q1 + jnp.tensordot(weights.T, db, axes=2)
        return z1, normalise(q1)
