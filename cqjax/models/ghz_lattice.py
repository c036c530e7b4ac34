"""n qubits with local classical fields, a GHZ state at the start: seed 004 App. C.5 and Fig. 4.

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

__all__ = ["GHZLattice"]

MAX_QUBITS = 30  # basis indices must fit in int32


def site_sum(c: Float[ArrayLike, " n"]) -> Float[Array, " d"]:
    """The diagonal of sum_i c_i sz^i: entry b is sum_i c_i (-1)^{b_i}, qubit 1 the most significant bit.

    Built as a Kronecker sum, one site at a time (O(2^n) work, no (n, 2^n) table).
    """
    c = jnp.asarray(c)
    out = jnp.zeros((1,), c.dtype)
    pm = jnp.asarray([1.0, -1.0], c.dtype)
    for i in range(c.shape[0]):
        out = (out[:, None] + c[i] * pm).reshape(-1)
    return out


class GHZLattice(AbstractDiagonalModel):
    """H = lam sum_i phi_i sz^i + sum_i pi_i^2 / 2m (+ h_z sum_i sz^i), noise sigma on each pi_i.

    Seed 004 eqs. (C.18)-(C.21), n qubits each coupled to its own classical field (phi_i, pi_i);
    no noise on the phi_i. Eq. (C.18) as printed has the kinetic term pi^2 / 2m; it is the sum
    over sites sum_i pi_i^2 / 2m, as eq. (C.19) (d phi_i = pi_i / m dt) requires. (App. C.6
    repeats C.5: its eqs. (C.22)-(C.25) are (C.18)-(C.21) again.) The healed dynamics is
    d phi_i = pi_i / m dt,  d pi_i = -lam <sz^i> dt + sigma dW_i,
    d|psi> = -i H_I |psi> dt - (lam / 2 sigma) sum_i (sz^i - <sz^i>)|psi> dW_i
             - (lam^2 / 8 sigma^2) sum_i (sz^i - <sz^i>)^2 |psi> dt.
    From the GHZ state (|0..0> + |1..1>)/sqrt2 the state stays in span{|0..0>, |1..1>}; the two
    branches push every pi_i apart by a force 2 lam, so the GHZ coherence decays at
    Gamma = n (2 lam)^2 / (8 sigma^2) = n lam^2 / (2 sigma^2) (the trade-off at saturation).

    ``n`` is a static integer (the Hilbert space has d = 2^n); coordinates ``phi_1..phi_n,
    pi_1..pi_n``; operators ``sx_i, sy_i, sz_i`` and the global ``X^n, Y^n, Z^n``, all
    ``PauliString``s applied without 2^n x 2^n matrices; named initial states ``ghz``, ``zeros``,
    ``ones``, ``plus``. ``h_z`` (default 0) adds a uniform unitary term h_z sum_i sz^i that is not
    in the paper: the authors' code for Fig. 4 has h_z = 2 lam.
    """

    n: int = eqx.field(static=True, default=5)
    m: Real[ArrayLike, ""] = 1.0
    lam: Real[ArrayLike, ""] = 1.0
    sigma: Real[ArrayLike, ""] = 1.0
    h_z: Real[ArrayLike, ""] = 0.0

    def __check_init__(self):
        require_count(self, "n", 1, MAX_QUBITS, "the number of qubits")
        require(self, ("m", "sigma"), strict=True)

    @property
    def positions(self) -> tuple[str, ...]:
        return tuple(f"phi_{i}" for i in range(1, self.n + 1))

    @property
    def momenta(self) -> tuple[str, ...]:
        return tuple(f"pi_{i}" for i in range(1, self.n + 1))

    def energies(self, z: Float[Array, " n"]) -> Float[Array, " d"]:
        phi, pi = z[: self.n], z[self.n :]
        # pi @ pi, not jnp.sum(pi**2): XLA CPU (jaxlib 0.10.2) miscompiles the vmapped jacfwd of the
        # latter in float32 for batches of ~500+ (its YNN fusion); tests/test_ghz_lattice.py checks this.
        kinetic = pi @ pi / (2 * self.m)
        return kinetic + site_sum(self.lam * phi + self.h_z)

    def noise(self, z: Float[Array, " n"]) -> Float[Array, "n m"]:
        s = jnp.asarray(self.sigma, z.dtype)
        return jnp.concatenate([jnp.zeros((self.n, self.n), z.dtype), s * jnp.eye(self.n, dtype=z.dtype)])

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
