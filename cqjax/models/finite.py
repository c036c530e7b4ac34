"""Finite classical state spaces: the classical variable takes K discrete values (seed 003, J.
Oppenheim, "A postquantum theory of classical gravity?", eqs. 6 and 14-15 with z discrete).

    d rho(z)/dt = -i[H(z), rho(z)] + sum_ab lam^ab(z) (L_a rho(z) L_b^dag - 1/2 {L_b^dag L_a, rho(z)})
                  + sum_z' W^ab(z|z') L_a rho(z') L_b^dag - 1/2 W^ab(z) {L_b^dag L_a, rho(z)},
    W^ab(z) = sum_z' W^ab(z'|z)                                                      (eq. 15).

Completely positive (seed 003 after eq. 16) when W^ab(z|z') is positive semi-definite in (a, b)
for z != z' and lam^ab(z) + W^ab(z|z) is. A model gives H(z) per state, the operators L_a, the
kernel W (indexed [z, z', a, b]: into z from z') and optionally lam.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

POSITIVITY_RTOL = 1e-9


class AbstractFiniteModel(eqx.Module):
    """A CQ model whose classical variable takes K values ``values()`` (seed 003 eq. 6/14)."""

    @abc.abstractmethod
    def values(self) -> Float[Array, " K"]:
        """The classical value of each of the K states (what the observable ``z`` reads)."""

    @abc.abstractmethod
    def hamiltonians(self) -> Complex[Array, "K d d"]:
        """H(z) for each classical state."""

    @abc.abstractmethod
    def lindblad_operators(self) -> Complex[Array, "A d d"]:
        """The operators L_a of the kernels."""

    @abc.abstractmethod
    def kernel(self) -> Complex[Array, "K K A A"]:
        """W^ab(z|z') as an array [z, z', a, b]: the rate matrix of jumps into z from z'."""

    def decoherence(self) -> Complex[Array, "K A A"]:
        """lam^ab(z): Lindblad couplings that leave z unchanged (default none)."""
        a = np.shape(self.lindblad_operators())[0]
        return jnp.zeros((len(self.values()), a, a), complex)

    @abc.abstractmethod
    def operators(self) -> dict[str, Complex[Array, "d d"]]:
        """Named Hermitian quantum operators for observables."""


def finite_data(model: AbstractFiniteModel) -> dict[str, np.ndarray]:
    """The model's arrays in complex128 (numpy), shapes checked: values (K,), H (K, d, d), L (A, d, d),
    W (K, K, A, A) with lam added on the diagonal z = z'."""
    values = np.asarray(model.values(), float)
    H = np.asarray(model.hamiltonians(), complex)
    L = np.asarray(model.lindblad_operators(), complex)
    W = np.asarray(model.kernel(), complex)
    lam = np.asarray(model.decoherence(), complex)
    K, A = values.shape[0], L.shape[0]
    d = H.shape[-1]
    for name, x, shape in (("hamiltonians", H, (K, d, d)), ("lindblad_operators", L, (A, d, d))):
        if x.shape != shape:
            raise ValueError(f"model.{name}: expected shape {shape}, got {x.shape}")
    if W.shape != (K, K, A, A) or lam.shape != (K, A, A):
        raise ValueError(f"model.kernel/decoherence: expected ({K}, {K}, {A}, {A}) and ({K}, {A}, {A})")
    full = W.copy()
    full[np.arange(K), np.arange(K)] += lam
    for x in (H, full):
        if not np.all(np.isfinite(x)):
            raise ValueError("model: the Hamiltonians and kernels must be finite")
    return {"values": values, "H": H, "L": L, "W": full}


def check_finite_positivity(model: AbstractFiniteModel) -> None:
    """Refuse a model whose generator is not completely positive (seed 003 after eq. 16): H(z)
    Hermitian, W^ab(z|z') Hermitian and positive semi-definite in (a, b) for z != z', and
    lam^ab(z) + W^ab(z|z) likewise; the message names the states and the smallest eigenvalue."""
    data = finite_data(model)
    H, W, K = data["H"], data["W"], len(data["values"])
    scale = max(1.0, float(np.abs(W).max()), float(np.abs(H).max()))
    for z in range(K):
        if np.abs(H[z] - H[z].conj().T).max() > POSITIVITY_RTOL * scale:
            raise ValueError(f"model.hamiltonians: H(z) is not Hermitian at state {z}")
        for zp in range(K):
            m = W[z, zp]
            if np.abs(m - m.conj().T).max() > POSITIVITY_RTOL * scale:
                raise ValueError(f"model.kernel: W^ab({z}|{zp}) is not Hermitian in (a, b)")
            low = float(np.linalg.eigvalsh(m).min())
            if low < -POSITIVITY_RTOL * scale:
                what = "lam^ab(z) + W^ab(z|z)" if z == zp else "W^ab(z|z')"
                raise ValueError(
                    f"model.kernel: {what} is not positive semi-definite for z = {z}, z' = {zp} "
                    f"(smallest eigenvalue {low:.3g}): the dynamics is not completely positive (seed 003 eq. 14)"
                )


def finite_observable(name: str, model: AbstractFiniteModel) -> tuple[np.ndarray, np.ndarray]:
    """A linear observable E[f(z) Tr(O rho)] as (f per state (K,), O (d, d)). Names: ``z``, ``z*z``,
    ``P<k>`` (the indicator of state k), an operator of ``model.operators()``, or a product of one
    classical factor and one operator (``z*sz``, ``P2*sx``)."""
    data = finite_data(model)
    values, d = data["values"], data["H"].shape[-1]
    ops = {k: np.asarray(v, complex) for k, v in model.operators().items()}
    f, op = np.ones(len(values)), np.eye(d, dtype=complex)
    for part in name.split("*"):
        part = part.strip()
        if part == "z":
            f = f * values
        elif part.startswith("P") and part[1:].isdigit() and int(part[1:]) < len(values):
            f = f * (np.arange(len(values)) == int(part[1:]))
        elif part in ops and np.allclose(op, np.eye(d)):
            op = ops[part]
        else:
            raise ValueError(
                f"observables: {name!r}: {part!r} is not z, P0..P{len(values) - 1} or one operator of {sorted(ops)}"
            )
    return f, op


def initial_probabilities(p0, K: int) -> np.ndarray:
    """p(z, 0) from a state index or a probability vector (K,), validated."""
    if np.ndim(p0) == 0:
        k = int(p0)
        if k != p0 or not 0 <= k < K:
            raise ValueError(f"z0: a state index in 0..{K - 1}, got {p0!r}")
        return np.eye(K)[k]
    p = np.asarray(p0, float)
    if p.shape != (K,) or not np.all(p >= 0) or abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"z0: probabilities of the {K} states (non-negative, sum 1), got {p0!r}")
    return p


def expm(a: np.ndarray) -> np.ndarray:
    """exp(a) by scaling and squaring of a Taylor series (complex128; small dense matrices)."""
    norm = np.linalg.norm(a, 1)
    s = int(np.ceil(np.log2(norm / 0.25))) if norm > 0.25 else 0
    a = a / 2**s
    out, term = np.eye(len(a), dtype=complex), np.eye(len(a), dtype=complex)
    for j in range(1, 24):
        term = term @ a / j
        out = out + term
    for _ in range(s):
        out = out @ out
    return out
