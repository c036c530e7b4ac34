"""Fixed-step integrators for one trajectory (PHYSICS.md section 4).

A solver advances the classical point and the quantum state (a vector psi or, for the
mixed-state unravelling, a density matrix rho) with the same Wiener increment dW. Euler-Maruyama
and the Kraus step update the classical point by Euler-Maruyama; Milstein adds the second-order
Ito-Taylor term to both. All have weak order 1; strong orders are 1/2 (Euler-Maruyama) and 1
(Milstein, Kraus) for a single noise, measured in ``tests/test_integrators.py``.
"""

from __future__ import annotations

import abc
from typing import Callable, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from ._ops import apply, apply_each, dissipator, hermitian_part, is_mixed, sandwich, trace
from ._unravelling import StepCoefficients

__all__ = ["AbstractSolver", "Kraus", "EulerMaruyama", "Milstein"]


def _normalise(state: Array) -> Array:
    if is_mixed(state):
        return hermitian_part(state) / trace(state)
    return state / jnp.sqrt(jnp.real(jnp.vdot(state, state)))


def _adjoint(ops: Array, diagonal: bool) -> Array:
    return jnp.conj(ops) if diagonal else jnp.conj(jnp.swapaxes(ops, -1, -2))


def _left(op: Array, rho: Array, diagonal: bool) -> Array:
    """op rho for one operator or a stack (leading axis)."""
    return op[..., :, None] * rho if diagonal else jnp.einsum("...ij,jk->...ik", op, rho)


def _centred(c: StepCoefficients, state: Array, diagonal: bool) -> Array:
    """b_i: (K_i - <K_i>) psi, or (K_i - <K_i>) rho + h.c. -- the quantum diffusion (m, ...)."""
    if not is_mixed(state):
        return apply(c.kappa, state, diagonal) - c.mean_kappa[:, None] * state
    x = _left(c.kappa, state, diagonal) - c.mean_kappa[:, None, None] * state
    return x + jnp.conj(jnp.swapaxes(x, -1, -2))


def _lindblad(ops: Array, rates: Array, rho: Array) -> Array:
    """sum_k rates_k D[ops_k] rho."""
    return jnp.tensordot(rates, dissipator(ops, rho[None]), axes=1)


def _ldagger_l(ops: Array, diagonal: bool) -> Array:
    return jnp.abs(ops) ** 2 if diagonal else jnp.einsum("kji,kjl->kil", jnp.conj(ops), ops)


def _drift(c: StepCoefficients, state: Array, diagonal: bool) -> Array:
    """The Ito drift of the quantum state (eq. 8 / eq. 12; for non-Hermitian K the diffusive
    stochastic Schrodinger equation d psi = [-i h - 1/2 sum (K^dag K - 2 r K + r^2)] psi dt + ...,
    r = Re<K>)."""
    if not is_mixed(state):
        v = -1j * apply(c.h, state, diagonal)
        if c.kappa is not None:
            b = _centred(c, state, diagonal)  # (K - r) psi, r = Re<K>
            if c.hermitian:  # 1/2 (K - r)^2 psi
                kb = apply_each(c.kappa, b, diagonal) - c.mean_kappa[:, None] * b
            else:  # 1/2 (K^dag K - 2 r K + r^2) psi
                k_psi = apply(c.kappa, state, diagonal)
                r = c.mean_kappa[:, None]
                kb = apply_each(_adjoint(c.kappa, diagonal), k_psi, diagonal) - 2 * r * k_psi + r**2 * state
            v = v - 0.5 * jnp.sum(kb, axis=0)
        return v
    h_rho = _left(c.h, state, diagonal)
    out = -1j * (h_rho - jnp.conj(h_rho.T))
    if c.kappa is not None:
        out = out + _lindblad(c.kappa, jnp.ones(c.kappa.shape[0], jnp.real(state).dtype), state)
    if c.rates is not None:
        out = out + _lindblad(c.ops, c.rates, state)
    return out


def cayley(h: Array, psi: Array, dt, diagonal: bool) -> Array:
    """(I + i h dt/2)^-1 (I - i h dt/2) psi: unitary, exp(-i h dt) psi up to O(dt^3)."""
    if diagonal:  # real energies: (1 - ix) / (1 + ix) = ((1 - x^2) - 2ix) / (1 + x^2), x = h dt / 2
        x = 0.5 * dt * jnp.real(h)
        inv = 1.0 / (1.0 + x * x)
        return psi * jax.lax.complex((1.0 - x * x) * inv, -2.0 * x * inv)
    half = 0.5j * dt
    eye = jnp.eye(psi.shape[-1], dtype=psi.dtype)
    return jnp.linalg.solve(eye + half * h, psi - half * (h @ psi))


def excess_channel(rho: Array, rates: Array, ops: Array, dt, diagonal: bool) -> Array:
    """The CPTP map exp(dt sum_k rates_k D[ops_k]) (the decoherence beyond saturation).

    Rates are used as given: a negative one (not completely positive, refused before and along a
    run by ``consistency``) is not clipped.

    Diagonal operators: rho_ab -> rho_ab exp(dt sum_k r_k (l_a l_b^* - (|l_a|^2 + |l_b|^2) / 2)).
    Dense, d <= ``EXACT_CHANNEL_DIM``: the exponential of the d^2 x d^2 Lindblad superoperator.
    Both are exact. Larger d: the Kraus operators K_0 = I - dt/2 sum r L^dag L, K_k = sqrt(r dt) L,
    each multiplied by S^-1/2 with S = sum K^dag K: trace preserving at any dt, first order.
    """
    if diagonal:
        l = ops  # (k, d)
        gen = jnp.einsum("k,ka,kb->ab", rates, l, jnp.conj(l)) - 0.5 * (
            jnp.einsum("k,ka->a", rates, jnp.abs(l) ** 2)[:, None]
            + jnp.einsum("k,kb->b", rates, jnp.abs(l) ** 2)[None, :])
        return rho * jnp.exp(dt * gen)
    d = rho.shape[-1]
    eye = jnp.eye(d, dtype=rho.dtype)
    ldl = jnp.einsum("k,kij->ij", rates, _ldagger_l(ops, False))
    if d <= EXACT_CHANNEL_DIM:  # row-major vec: vec(A rho B) = (A kron B^T) vec(rho)
        sup = jnp.einsum("k,kij,klm->iljm", rates, ops, jnp.conj(ops)).reshape(d * d, d * d)
        sup = sup - 0.5 * (jnp.kron(ldl, eye) + jnp.kron(eye, ldl.T))
        return (jax.scipy.linalg.expm(dt * sup) @ rho.reshape(-1)).reshape(d, d)
    k0 = eye - 0.5 * dt * ldl
    kraus = jnp.concatenate([k0[None], jnp.sqrt(rates * dt)[:, None, None] * ops], axis=0)
    s = jnp.einsum("kji,kjl->il", jnp.conj(kraus), kraus)
    w, v = jnp.linalg.eigh(s)
    s_inv_half = (v * (1.0 / jnp.sqrt(w))) @ jnp.conj(v.T)
    kraus = kraus @ s_inv_half
    return jnp.einsum("kij,jl,kml->im", kraus, rho, jnp.conj(kraus))


EXACT_CHANNEL_DIM = 8


CoefficientsFn = Callable[[Array, Array], StepCoefficients]


class AbstractSolver(eqx.Module):
    """A fixed-step update of (z, quantum state) from the unravelling's coefficients."""

    name: ClassVar[str]
    weak_order: ClassVar[float]

    def classical_update(self, z: Array, c: StepCoefficients, dW: Array | None, dt) -> Array:
        """Z + drift dt + sigma dW (Euler-Maruyama)."""
        dz = c.drift * dt
        if c.sigma is not None:
            dz = dz + c.sigma @ dW
        return z + dz

    @abc.abstractmethod
    def quantum_update(self, state: Array, c: StepCoefficients, dW: Array | None, dt, diagonal: bool) -> Array:
        """The normalised quantum state after one step."""

    def step(self, coefficients: CoefficientsFn, z: Array, state: Array, dW: Array | None, dt, diagonal: bool):
        """One step from (z, state) with increment dW; ``coefficients(z, state)`` as in the unravelling."""
        c = coefficients(z, state)
        return self.classical_update(z, c, dW, dt), self.quantum_update(state, c, dW, dt, diagonal)


class Kraus(AbstractSolver):
    """Rouchon-Ralph Kraus step (PHYSICS.md sec. 4), weak order 1.

    psi -> U M psi / |M psi| and rho -> E(U M rho M^dag U^dag / Tr), with
    M = I - 1/2 sum (K_i^dag K_i + K_i^2) dt + A + 1/2 A^2,  A = sum_i K_i dY_i,
    the innovation dY_i = dW_i + 2 Re<K_i> dt (the classical increment in record form, seed
    004 A.11-A.13), the unitary part split off as the Cayley transform U of exp(-i H_I dt) (when
    H_I and the K_i commute the phases are then exact to O(dt^3); a -i H_I dt term inside M,
    renormalised, rotates coherences too fast by 1 + K^2 dt), and E the CPTP channel of the
    decoherence beyond saturation (``excess_channel``). Positive and normalised at any dt.
    """

    name: ClassVar[str] = "kraus"
    weak_order: ClassVar[float] = 1.0

    def quantum_update(self, state, c, dW, dt, diagonal):
        measure = lambda v: v
        if c.kappa is not None:
            dY = dW + 2.0 * c.mean_kappa * dt
            kappa_dag = None if c.hermitian else _adjoint(c.kappa, diagonal)

            def measure(v):
                k_v = apply(c.kappa, v, diagonal)  # (m, d): K_i v
                a_v = dY @ k_v  # A v
                aa_v = dY @ apply(c.kappa, a_v, diagonal)  # A^2 v
                kk_v = apply_each(c.kappa, k_v, diagonal)  # K_i^2 v
                if kappa_dag is not None:
                    kk_v = 0.5 * (kk_v + apply_each(kappa_dag, k_v, diagonal))
                return v - dt * jnp.sum(kk_v, axis=0) + a_v + 0.5 * aa_v

        unitary = lambda v: cayley(c.h, v, dt, diagonal)
        if not is_mixed(state):
            return unitary(_normalise(measure(state)))
        if diagonal:  # M and U are diagonal: (U M rho M^dag U^dag)_ab = g_a rho_ab g_b^*, g = U M 1
            g = unitary(measure(jnp.ones(state.shape[-1], state.dtype)))
            rho = _normalise(g[:, None] * state * jnp.conj(g)[None, :])
        else:  # the Cayley matrix once, not one linear solve per column
            half = 0.5j * dt
            eye = jnp.eye(state.shape[-1], dtype=state.dtype)
            u = jnp.linalg.solve(eye + half * c.h, eye - half * c.h)
            rho = u @ _normalise(sandwich(measure, state)) @ jnp.conj(u.T)
        if c.rates is not None:
            rho = excess_channel(rho, c.rates, c.ops, dt, diagonal)
        return _normalise(rho)


class EulerMaruyama(AbstractSolver):
    """Euler-Maruyama on eq. (12) (pure) or eq. (8) (mixed), then renormalisation, weak order 1.

    psi + [-i H_I - 1/2 sum (K_i - <K_i>)^2] psi dt + sum (K_i - <K_i>) psi dW_i, then /|.|;
    rho + L(rho) dt + sum ((K_i - <K_i>) rho + h.c.) dW_i, then /Tr. Without the renormalisation
    the norm error grows like sqrt(dt) per unit time; positivity of rho is not guaranteed.
    """

    name: ClassVar[str] = "euler-maruyama"
    weak_order: ClassVar[float] = 1.0

    def quantum_update(self, state, c, dW, dt, diagonal):
        v = state + dt * _drift(c, state, diagonal)
        if c.kappa is not None:
            v = v + jnp.tensordot(dW, _centred(c, state, diagonal), axes=1)
        return _normalise(v)


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

    def quantum_update(self, state, c, dW, dt, diagonal):
        """The Euler-Maruyama part only: ``step`` adds the Milstein correction, which needs the
        diffusion as a function of the state, not the coefficients at one point."""
        return EulerMaruyama().quantum_update(state, c, dW, dt, diagonal)

    def step(self, coefficients, z, state, dW, dt, diagonal):
        c = coefficients(z, state)
        z1 = self.classical_update(z, c, dW, dt)
        q1 = state + dt * _drift(c, state, diagonal)
        if c.sigma is None:
            return z1, _normalise(q1)

        def diffusion(z, state):
            cc = coefficients(z, state)
            return cc.sigma, _centred(cc, state, diagonal)  # (n, m), (m, ...)

        sig, b = c.sigma, _centred(c, state, diagonal)
        q1 = q1 + jnp.tensordot(dW, b, axes=1)
        tangents = (jnp.moveaxis(sig, -1, 0).astype(z.dtype), b)  # B_k for each k: (m, n), (m, ...)
        dsig, db = jax.vmap(lambda tz, tq: jax.jvp(diffusion, (z, state), (tz, tq))[1])(*tangents)
        # dsig[k] = D sigma . B_k (n, m); db[k] = D b . B_k (m, ...); weights I_jk = dW_j dW_k - delta_jk dt
        weights = 0.5 * (dW[:, None] * dW[None, :] - dt * jnp.eye(dW.shape[0], dtype=dW.dtype))
        z1 = z1 + jnp.einsum("knj,jk->n", dsig, weights)
        q1 = q1 + jnp.tensordot(weights.T, db, axes=2)
        return z1, _normalise(q1)


SOLVERS: dict[str, type[AbstractSolver]] = {"kraus": Kraus, "euler-maruyama": EulerMaruyama, "milstein": Milstein}
