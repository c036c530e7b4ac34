"""A chain of classical-quantum sites: a classical (q_x, p_x) and a qubit on each site, nearest-neighbour
springs, a local healed coupling and classical noise that may be correlated between sites
(seed 004 App. C.5, which allows a noise matrix that is not diagonal).

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from ..operators._pauli import PauliString, global_string, local
from ._base import AbstractDiagonalModel
from ._checks import require, require_count
from .ghz_lattice import MAX_QUBITS, site_sum

__all__ = ["CQChain"]


class CQChain(AbstractDiagonalModel):
    """H = sum_x p_x^2 / 2m + k/2 sum_x (q_{x+1} - q_x)^2 + lam sum_x q_x sz^x (open chain of n sites).

    The classical coordinates q_x, p_x of site x couple to its qubit through the local H_I = lam q_x
    sz^x (the coupling of seed 004 eq. C.18 with phi_x = q_x), and neighbouring sites through a
    harmonic spring k. The noise acts on the momenta with the matrix
        sigma_pp = sigma (I + c (S + S^T)),   S_{x, x+1} = 1,
    correlated between neighbours for c != 0 (|c| < 1/2 keeps it positive definite, so every
    momentum has noise as the healed dynamics requires). The healed dynamics (seed 004 eqs. 11-12):
        dq_x = p_x / m dt,  dp_x = k (q_{x+1} - 2 q_x + q_{x-1}) dt - lam <sz^x> dt + (sigma_pp dW)_x,
    K_x = -1/2 (pinv(sigma_pp) lam sz)_x. Between two basis states a, b (configurations s_a, s_b in
    {+1, -1}^n) the coherence decays at the trade-off rate (seed 004 eq. 6, saturated)
        Gamma_ab = 1/8 dF^T (sigma_pp sigma_pp^T)^-1 dF,   dF = -lam (s_a - s_b),
    which the correlations change (``cqjax.analysis.cq_chain_coherence`` gives E rho_ab(t)).

    ``n`` is a static integer (d = 2^n); coordinates ``q_1..q_n, p_1..p_n``; operators ``sx_i, sy_i,
    sz_i`` and ``X^n, Y^n, Z^n`` (``PauliString``s, no 2^n x 2^n matrices); named states ``ghz``,
    ``zeros``, ``ones``, ``plus``.
    """

    n: int = eqx.field(static=True, default=3)
    m: Real[ArrayLike, ""] = 1.0
    k: Real[ArrayLike, ""] = 1.0
    lam: Real[ArrayLike, ""] = 1.0
    sigma: Real[ArrayLike, ""] = 1.0
    c: Real[ArrayLike, ""] = 0.0

    def __check_init__(self):
        require_count(self, "n", 2, MAX_QUBITS, "the number of sites")
        require(self, ("m", "sigma"), strict=True)
        if isinstance(self.c, (int, float)) and not abs(self.c) < 0.5:
            raise ValueError(f"c: the neighbour noise correlation must satisfy |c| < 1/2, got {self.c}")

    @property
    def positions(self) -> tuple[str, ...]:
        return tuple(f"q_{i}" for i in range(1, self.n + 1))

    @property
    def momenta(self) -> tuple[str, ...]:
        return tuple(f"p_{i}" for i in range(1, self.n + 1))

    def noise_matrix(self, dtype=jnp.float32) -> Float[Array, "n n"]:
        """sigma_pp = sigma (I + c (S + S^T)): the noise on the momenta."""
        shift = jnp.eye(self.n, k=1, dtype=dtype)
        return jnp.asarray(self.sigma, dtype) * (jnp.eye(self.n, dtype=dtype) + self.c * (shift + shift.T))

    def energies(self, z: Float[Array, " n"]) -> Float[Array, " d"]:
        q, p = z[: self.n], z[self.n :]
        stretch = q[1:] - q[:-1]
        # p @ p rather than jnp.sum(p**2): see GHZLattice.energies (an XLA CPU miscompilation)
        classical = p @ p / (2 * self.m) + self.k * (stretch @ stretch) / 2
        return classical + site_sum(self.lam * q)

    def noise(self, z: Float[Array, " n"]) -> Float[Array, "n m"]:
        return jnp.concatenate([jnp.zeros((self.n, self.n), z.dtype), self.noise_matrix(z.dtype)])

    def operators(self) -> dict[str, PauliString]:
        ops = {f"s{a.lower()}_{i}": local(self.n, i, a) for i in range(1, self.n + 1) for a in "XYZ"}
        ops.update({f"{a}^n": global_string(self.n, a) for a in "XYZ"})
        return ops

    def named_states(self) -> dict[str, np.ndarray]:
        """Initial states by name: ``ghz`` (|0..0> + |1..1>)/sqrt2, ``zeros``, ``ones``, ``plus`` (|+>^n)."""
        d = 1 << self.n
        zeros, ones = np.zeros(d, complex), np.zeros(d, complex)
        zeros[0], ones[-1] = 1.0, 1.0
        return {"ghz": (zeros + ones) / np.sqrt(2), "zeros": zeros, "ones": ones, "plus": np.full(d, d**-0.5, complex)}
