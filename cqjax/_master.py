"""The CQ master equation on a phase-space grid, as a completely positive lattice dynamics.

For one degree of freedom (q, p) the healed generator (PHYSICS.md section 2 with L = F = {Z, H_I},
D1^{0a}_i = delta_ia / 2, D0 = 1/4 pinv(sigma sigma^T)) is realised, as in seed 003 sec. IV.A, by
jumps between neighbouring cells:

- along a coordinate i with diffusion D2_ii > 0: jumps z -> z +- Delta_i e_i at rate
  r_i = D2_ii / Delta_i^2 with Kraus operators M_+- = sqrt(r_i) (I +- a_i F_i), a_i = Delta_i / (4 D2_ii).
  Expanding to second order in Delta_i gives D2_ii d_i^2 varrho - d_i({F_i, varrho}/2) and the
  saturated decoherence D0_ii (F varrho F - {F^2, varrho}/2) with D0_ii = 1 / (8 D2_ii): the healed
  generator, for any grid step;
- the classical drift {Z_i, H_C}: upwind jumps at rate |v_i| / Delta_i with Kraus sqrt(rate) I;
- the unitary -i[H_I, varrho] in each cell.

One time step is the CP map (Lie splitting of the jumps and the unitary, both CP)
varrho'(c) = U(c) [K0(c) varrho(c) K0(c) + dt sum_j M_j varrho(c - e_j) M_j^dag] U(c)^dag,
K0 = sqrt(I - dt sum_j M_j^dag M_j), U = exp(-i H_I dt): positivity holds exactly, and the trace
exactly, while dt <= 1 / max ||sum_j M_j^dag M_j||; what jumps off the grid is counted as lost.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from ._model import AbstractModel, check_positivity, generator, is_diagonal

__all__ = ["PhaseSpaceGrid", "LatticeGenerator", "lattice_generator", "master_step"]


class PhaseSpaceGrid(eqx.Module):
    """Uniform cell centres ``q`` (Nq,) and ``p`` (Np,) for one degree of freedom."""

    q: Float[Array, " Nq"]
    p: Float[Array, " Np"]

    @property
    def spacing(self) -> tuple[float, float]:
        return float(self.q[1] - self.q[0]), float(self.p[1] - self.p[0])

    @property
    def cell_volume(self) -> float:
        dq, dp = self.spacing
        return dq * dp

    def points(self) -> Float[Array, "Nq Np 2"]:
        qq, pp = jnp.meshgrid(self.q, self.p, indexing="ij")
        return jnp.stack([qq, pp], axis=-1)


class LatticeGenerator(eqx.Module):
    """Per-cell Kraus data of the lattice dynamics.

    ``jumps`` (J, Nq, Np, d, d), or (J, Nq, Np, d) for diagonal models: the jump Kraus operators
    without sqrt(dt), at the source cell; ``shifts`` the J cell offsets (static);
    ``rate_bound``: max_c ||sum_j M_j^dag M_j||.
    """

    hamiltonian: Array
    jumps: Array
    shifts: tuple[tuple[int, int], ...] = eqx.field(static=True)
    rate_bound: float = eqx.field(static=True)


def lattice_generator(model: AbstractModel, grid: PhaseSpaceGrid) -> LatticeGenerator:
    """Build the CP lattice realisation of the healed generator of ``model`` on ``grid``."""
    if len(model.positions) != 1:
        raise ValueError(f"master: one degree of freedom (q, p) is supported, model has {model.coords}")
    points = grid.points().reshape(-1, 2)
    delta = grid.spacing
    diagonal = is_diagonal(model)

    def cell(z):
        g = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        return g.h.astype(jnp.result_type(z.dtype, jnp.complex64)), g.force, g.drift, 0.5 * sigma @ sigma.T

    check_positivity(model, points)  # no quantum force without noise, at every cell
    h, force, drift, d2 = jax.jit(jax.vmap(cell))(points)
    if float(jnp.max(jnp.abs(d2[:, 0, 1]))) > 1e-12 * max(float(jnp.max(jnp.abs(d2))), 1e-30):
        raise ValueError("master: correlated (q, p) noise (D2_qp != 0) is not supported on the lattice")
    d = h.shape[-1]
    eye = jnp.ones(d, h.dtype) if diagonal else jnp.eye(d, dtype=h.dtype)
    op = (lambda x: x[:, None]) if diagonal else (lambda x: x[:, None, None])
    jumps, shifts = [], []
    for i in range(2):
        d2ii = d2[:, i, i]
        noisy = d2ii > 0
        rate = jnp.where(noisy, d2ii / delta[i] ** 2, 0.0)
        a = jnp.where(noisy, delta[i] / (4 * jnp.where(noisy, d2ii, 1.0)), 0.0)
        for sign in (1, -1):
            m = op(jnp.sqrt(rate)) * (eye + sign * op(a) * force[:, i])
            jumps.append(m)
            shifts.append((sign, 0) if i == 0 else (0, sign))
        v = drift[:, i]
        for sign in (1, -1):
            up = jnp.sqrt(jnp.clip(sign * v, 0.0) / delta[i])
            jumps.append(op(up) * eye)
            shifts.append((sign, 0) if i == 0 else (0, sign))
    jumps = jnp.stack(jumps)
    nq, np_ = grid.q.shape[0], grid.p.shape[0]
    jumps = jumps.reshape(len(shifts), nq, np_, *jumps.shape[2:])
    bound = float(jnp.max(_eigvals(_gram(jumps))))
    return LatticeGenerator(
        hamiltonian=h.reshape(nq, np_, *h.shape[1:]),
        jumps=jumps,
        shifts=tuple(shifts),
        rate_bound=bound,
    )


def _sandwich(a: Array, rho: Array, b: Array) -> Array:
    """a rho b^dag per cell, for dense (..., d, d) or diagonal (..., d) a and b."""
    if a.ndim == rho.ndim - 1:
        return a[..., :, None] * rho * jnp.conj(b)[..., None, :]
    return a @ rho @ jnp.conj(jnp.swapaxes(b, -1, -2))


def _shift(x: Array, offset: tuple[int, int]) -> Array:
    """x moved by ``offset`` cells along the two grid axes; what leaves is dropped, zeros enter."""
    for axis, k in enumerate(offset):
        if k == 0:
            continue
        n = x.shape[axis]
        idx = jnp.arange(n)
        src = jnp.clip(idx - k, 0, n - 1)
        valid = ((idx - k) >= 0) & ((idx - k) < n)
        shape = [1] * x.ndim
        shape[axis] = n
        x = jnp.where(valid.reshape(shape), jnp.take(x, src, axis=axis), 0)
    return x


def step_operators(gen: LatticeGenerator, dt: float) -> tuple[Array, Array]:
    """K0 = sqrt(I - dt sum_j M_j^dag M_j) and U = exp(-i H_I dt) per cell (dt <= 1 / rate_bound)."""
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise ValueError(
            f"master: dt = {dt:.3g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.3g}"
        )
    total = _gram(gen.jumps)
    root = _matrix_function(lambda w: jnp.sqrt(jnp.clip(1.0 - dt * w, 0.0)), total)
    unitary = _matrix_function(lambda w: jnp.exp(-1j * w * dt), gen.hamiltonian)
    return root, unitary


def _gram(jumps: Array) -> Array:
    """sum_j M_j^dag M_j per cell."""
    if jumps.ndim == 4:  # diagonal (J, Nq, Np, d)
        return jnp.sum(jnp.abs(jumps) ** 2, axis=0)
    return jnp.einsum("jabki,jabkl->abil", jnp.conj(jumps), jumps)


def _eigvals(a: Array) -> Array:
    return jnp.real(a) if a.ndim == 3 else jnp.linalg.eigvalsh(a)


def _matrix_function(f, a: Array) -> Array:
    """f(a) for Hermitian a per cell (diagonal a: elementwise)."""
    if a.ndim == 3:
        return f(jnp.real(a))
    w, v = jnp.linalg.eigh(a)
    return jnp.einsum("...ik,...k,...jk->...ij", v, f(w), jnp.conj(v))


def master_step(
    rho: Complex[Array, "Nq Np d d"], gen: LatticeGenerator, ops: tuple[Array, Array], dt: float
) -> Complex[Array, "Nq Np d d"]:
    """One CP step of the lattice dynamics on cell masses rho (summing to trace 1)."""
    k0, unitary = ops
    out = _sandwich(k0, rho, k0)
    for j, offset in enumerate(gen.shifts):
        m = gen.jumps[j]
        out = out + dt * _shift(_sandwich(m, rho, m), offset)
    return _sandwich(unitary, out, unitary)
