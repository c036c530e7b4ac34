"""The CQ master equation on a (q, p) grid as a lattice of Kraus channels between cells.

For one degree of freedom the CQ master equation of seed 004 eq. (5) (I. Layton, J. Oppenheim and
Z. Weller-Davies, "A healthier semi-classical dynamics"), built from the model (healed
decoherence and back-reaction from F = {Z, H_I}, drift {Z, H_C}, diffusion D2 = sigma sigma^T / 2,
the model's extra Lindblad channels and jump channels, unitary -i[H_I, varrho] / hbar), is
realised as in seed 003 sec. IV.A (J. Oppenheim, "A postquantum theory of classical gravity?":
realisations of the jump kernels W^{ab}(z|z - Delta)) by jumps between cells. ``varrho`` is stored
as cell masses (d x d matrices summing to trace 1).

Sign of the back-reaction: eq. (5) as printed has + d_i(D1^{a0}_i L_a varrho + D1^{0a}_i varrho
L_a^dag); the term is - d_i(...), as the paper's own derivation from the unravelling gives (App. A,
eqs. (A.5) and (A.8)): it is the divergence of the flux that the drift <D1^{a0} L + D1^{0a} L^dag>
of eq. (7) carries. The lattice realises the minus sign.

- Along a coordinate i with diffusion D2_ii or back-reaction G_i = F_i: jumps z -> z +- Delta e_i
  at rate r_i with Kraus operators sqrt(r_i) (I +- a_i G_i), a_i = 1 / (4 Delta r_i). Their
  first moment is exactly the back-reaction flux 1/2 {G_i, varrho}; with r_i = D2_ii / Delta^2
  their second moment is D2_ii and their built-in decoherence 1/(8 r_i Delta^2) D[G_i] is exactly
  the saturated value 1/(8 D2_ii) (seed 004 trade-off). Where the grid Peclet number is large
  (D2_ii < Delta ||G_i|| / 4, including D2 = 0), r_i = ||G_i|| / (4 Delta): upwind-like, with
  numerical diffusion O(Delta) and less built-in decoherence than saturation.
- The physical decoherence minus the built-in one (zero at saturation on a fine grid) and the
  model's ``dissipators`` become local channels gamma D[L]: Kraus operators sqrt(gamma) L where
  gamma >= 0; where gamma < 0 (dynamics that is not completely positive) the term is applied
  explicitly and positivity is, correctly, not preserved.
- The drift {Z_i, H_C}: upwind jumps at rate |v_i| / Delta_i.
- Jump channels of a jump model: Kraus L_k, moved by the model's shift; a shift that is not a
  whole number of cells is split between the two neighbouring offsets with linear weights
  (conservative; mass and mean shift exact).

One step (Lie splitting of CP maps):
varrho'(c) = U(c) [K0(c) varrho(c) K0(c) + dt sum_j M_j varrho(c - o_j) M_j^dag + dt E(varrho)(c)] U(c)^dag
with K0 = sqrt(I - dt sum_j M_j^dag M_j), U = exp(-i H_I dt / hbar), E the explicit negative-rate
terms. Without E it is completely positive and trace preserving for dt <= 1 / max ||sum_j M_j^dag M_j||;
mass that jumps off the grid is counted per side in ``lost``.

The scheme in one notation: the Physics page of the documentation (docs/physics.md, "Numerical steps").
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ..models._base import AbstractJumpModel, AbstractModel, is_diagonal
from ..models._generator import extra_channels, generator
from ..operators._ops import dissipator, sandwich_ops
from .grid import PhaseSpaceGrid


class LatticeChannels(eqx.Module):
    """The jumps of one step: ``jumps`` (J, Nq, Np, d, d), or (J, Nq, Np, d) for diagonal models,
    Kraus operators without sqrt(dt) at the source cell, moved by ``offsets[j]`` cells;
    ``negative_rates`` (S, Nq, Np) <= 0 and ``negative_ops`` (S, Nq, Np, ...): the explicit
    terms of a generator that is not completely positive (None when it is)."""

    jumps: Array
    negative_rates: Array | None
    negative_ops: Array | None
    offsets: tuple[tuple[int, int], ...] = eqx.field(static=True)


class LatticeGenerator(eqx.Module):
    """Per-cell data of the lattice dynamics and the rates that bound its time step.

    ``hamiltonian``: H_I / hbar per cell; ``channels``: see ``LatticeChannels``;
    ``rate_bound``: max_c ||sum_j M_j^dag M_j|| + 2 sum_s |rate_s| ||L_s||^2 (1/dt must exceed it);
    ``jump_rate``: the largest rate of the model's own (finite) jumps; ``unitary_rate``:
    max ||H_I|| / hbar; ``moves``: whether anything moves along q, along p.
    """

    hamiltonian: Array
    channels: LatticeChannels
    rate_bound: float = eqx.field(static=True)
    jump_rate: float = eqx.field(static=True)
    unitary_rate: float = eqx.field(static=True)
    moves: tuple[bool, bool] = eqx.field(static=True)

    @property
    def completely_positive(self) -> bool:
        return self.channels.negative_rates is None


def _norm(ops: Array, diagonal: bool) -> Array:
    """Operator norm per cell of Hermitian (or diagonal) operators."""
    if diagonal:
        return np.max(np.abs(ops), axis=-1)
    return np.max(np.abs(np.linalg.eigvalsh(ops)), axis=-1)


def _as_rep(ops: Array, diagonal: bool, what: str) -> Array:
    """Dense (..., d, d) model operators in the model's representation (diagonals if diagonal)."""
    if not diagonal:
        return ops
    diag = np.diagonal(ops, axis1=-2, axis2=-1)
    off = ops - np.einsum("...i,ij->...ij", diag, np.eye(ops.shape[-1]))
    if float(np.max(np.abs(off), initial=0.0)) > 1e-12 * max(float(np.max(np.abs(ops), initial=0.0)), 1e-30):
        raise ValueError(f"{what}: operator is not diagonal, but the model is an AbstractDiagonalModel")
    return diag


def _split_shift(shift: float, spacing: float, cells: int, what: str) -> list[tuple[int, float]]:
    """A shift in coordinate units as whole-cell offsets with linear weights."""
    if cells == 1:
        if abs(shift) > 0:
            raise ValueError(f"{what}: jumps move a coordinate the grid holds at a single value")
        return [(0, 1.0)]
    x = shift / spacing
    lo = math.floor(x + 1e-9)
    frac = x - lo
    if frac < 1e-9:
        return [(lo, 1.0)]
    return [(lo, 1.0 - frac), (lo + 1, frac)]


def lattice_generator(model: AbstractModel, grid: PhaseSpaceGrid, dtype=None) -> LatticeGenerator:
    """Build the lattice realisation of ``model``'s master equation on ``grid`` (see module doc)."""
    if len(model.positions) != 1:
        raise ValueError(f"master: one degree of freedom (q, p) is supported, model has {list(model.coords)}")
    dtype = dtype or (jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)
    cdtype = jnp.result_type(dtype, jnp.complex64)
    points = grid.points(dtype).reshape(-1, 2)
    delta = grid.spacing
    diagonal = is_diagonal(model)
    jumpy = isinstance(model, AbstractJumpModel)

    def cell(z):
        g = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        diss = extra_channels(model, z)
        jumps = model.jump_channels(z) if jumpy else None
        return g.h.astype(cdtype), g.force.astype(cdtype), g.drift, 0.5 * sigma @ sigma.T, diss, jumps

    # one compiled evaluation on the device; the channels are assembled on the host in numpy
    h, force, drift, d2, diss, jump_data = jax.tree.map(np.asarray, jax.jit(jax.vmap(cell))(points))
    if not all(bool(np.all(np.isfinite(x))) for x in (h, force, drift, d2)):
        raise ValueError("master: the model's Hamiltonian, drift or noise is not finite on the grid")
    scale = max(float(np.max(np.abs(d2))), 1e-30)
    if float(np.max(np.abs(d2[:, 0, 1]))) > 1e-12 * scale:
        raise ValueError("master: correlated (q, p) noise (D2_qp != 0) is not supported on the lattice")
    d = h.shape[-1]
    shape = (*grid.cells,)
    eye = np.ones(d, cdtype) if diagonal else np.eye(d, dtype=cdtype)
    op = (lambda x: x[:, None]) if diagonal else (lambda x: x[:, None, None])

    channels: list[tuple[Array, tuple[int, int]]] = []  # (Kraus field (cells, ...), offset)
    local: list[tuple[Array, Array]] = []  # (signed rate (cells,), operator field)
    moves = [False, False]

    def add(kraus, offset):
        if float(np.max(np.abs(kraus))) > 0:
            channels.append((kraus, offset))
            for i in range(2):
                moves[i] |= offset[i] != 0

    for i in range(2):
        unit = (1, 0) if i == 0 else (0, 1)
        g = force[:, i]
        d2ii = d2[:, i, i]
        gnorm = _norm(g, diagonal)
        rate = np.maximum(d2ii / delta[i] ** 2, gnorm / (4 * delta[i]))
        if grid.cells[i] == 1:
            if float(np.max(rate)) > 0:
                raise ValueError(
                    f"master: coordinate {model.coords[i]!r} has one grid cell but diffuses or feels a "
                    "back-reaction; give it more cells"
                )
            continue
        safe = np.where(rate > 0, rate, 1.0)
        a = np.where(rate > 0, 1.0 / (4 * delta[i] * safe), 0.0)
        for sign in (1, -1):
            add(op(np.sqrt(rate)) * (eye + sign * op(a) * g), (sign * unit[0], sign * unit[1]))
        built_in = np.where(rate > 0, 1.0 / (8 * safe * delta[i] ** 2), 0.0)
        healed = np.where(d2ii > 0, 1.0 / (8 * np.where(d2ii > 0, d2ii, 1.0)), 0.0)
        excess = healed - built_in  # zero (up to rounding) where r = D2 / Delta^2
        local.append((np.where(np.abs(excess) <= 1e-9 * healed, 0.0, excess), g))
        v = drift[:, i]
        for sign in (1, -1):
            add(op(np.sqrt(np.maximum(sign * v, 0.0) / delta[i])) * eye, (sign * unit[0], sign * unit[1]))
    if grid.cells[0] == 1 and float(np.max(np.abs(drift[:, 0]))) > 0:
        raise ValueError(f"master: coordinate {model.coords[0]!r} has one grid cell but drifts; give it more cells")
    if grid.cells[1] == 1 and float(np.max(np.abs(drift[:, 1]))) > 0:
        raise ValueError(f"master: coordinate {model.coords[1]!r} has one grid cell but drifts; give it more cells")

    if diss is not None:
        rates, ops = diss
        ops = _as_rep(np.asarray(ops, cdtype), diagonal, "model.dissipators")
        for k in range(rates.shape[1]):
            local.append((np.asarray(rates[:, k], dtype), ops[:, k]))

    jump_rate = 0.0
    if jump_data is not None:
        jops, shifts = jump_data
        jops = _as_rep(np.asarray(jops, cdtype), diagonal, "model.jump_channels")
        shifts = np.asarray(shifts)
        for k in range(shifts.shape[1]):
            s = shifts[:, k]
            if np.max(np.abs(s - s[0])) > 1e-12 * max(np.max(np.abs(s)), 1e-30):
                raise ValueError("model.jump_channels: the lattice needs shifts that do not depend on z")
            parts = [_split_shift(float(s[0, i]), delta[i], grid.cells[i], "model.jump_channels") for i in range(2)]
            gram = (
                np.sum(np.abs(jops[:, k]) ** 2, axis=-1)
                if diagonal
                else np.real(np.trace(np.conj(np.swapaxes(jops[:, k], -1, -2)) @ jops[:, k], axis1=-2, axis2=-1))
            )
            jump_rate = max(jump_rate, float(np.max(gram)))
            for oq, wq in parts[0]:
                for op_, wp in parts[1]:
                    add(math.sqrt(wq * wp) * jops[:, k], (oq, op_))

    local = [(rate, L) for rate, L in local if float(np.max(np.abs(L))) > 0]
    for rate, L in local:
        add(op(np.sqrt(np.maximum(rate, 0.0)).astype(cdtype)) * L, (0, 0))
    negatives = [(np.minimum(rate, 0.0), L) for rate, L in local if float(np.min(rate)) < 0]

    def field(x):
        return x.reshape(*shape, *x.shape[1:])

    jumps = np.stack([field(k) for k, _ in channels]) if channels else np.zeros((0, *shape, *eye.shape), cdtype)
    bound = _eigvals(_gram(jumps)) if channels else np.zeros(shape)
    bound = np.max(bound, axis=-1) if bound.ndim == 3 else bound
    neg_rates = neg_ops = None
    if negatives:
        neg_rates = np.stack([field(r) for r, _ in negatives])
        neg_ops = np.stack([field(L) for _, L in negatives])
        norms = np.stack([field(_norm(L, diagonal)) for _, L in negatives])
        bound = bound + 2 * np.sum(np.abs(neg_rates) * norms**2, axis=0)
    to_device = lambda x: None if x is None else jnp.asarray(x)
    return LatticeGenerator(
        hamiltonian=jnp.asarray(field(h)),
        channels=LatticeChannels(
            jumps=jnp.asarray(jumps),
            negative_rates=to_device(neg_rates),
            negative_ops=to_device(neg_ops),
            offsets=tuple(o for _, o in channels),
        ),
        rate_bound=float(np.max(bound)),
        jump_rate=jump_rate,
        unitary_rate=float(np.max(_norm(h, diagonal))),
        moves=(moves[0], moves[1]),
    )


def _gram(jumps: Array) -> Array:
    """sum_j M_j^dag M_j per cell."""
    if jumps.ndim == 4:  # diagonal (J, Nq, Np, d)
        return np.sum(np.abs(jumps) ** 2, axis=0)
    return np.einsum("jabki,jabkl->abil", np.conj(jumps), jumps)


def _eigvals(a: Array) -> Array:
    return np.real(a) if a.ndim == 3 else np.linalg.eigvalsh(a)


def _matrix_function(f, a: Array) -> Array:
    """f(a) for Hermitian a per cell (diagonal a: elementwise)."""
    if a.ndim == 3:
        return f(np.real(a))
    w, v = np.linalg.eigh(a)
    return np.einsum("...ik,...k,...jk->...ij", v, f(w), np.conj(v))


def step_operators(gen: LatticeGenerator, dt: float) -> tuple[Array, Array]:
    """K0 = sqrt(I - dt sum_j M_j^dag M_j) and U = exp(-i H_I dt / hbar) per cell.

    Raises ValueError if dt > 1 / ``gen.rate_bound`` (the step would not be a CP map).
    """
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise ValueError(f"master.dt: {dt:.4g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.4g}")
    jumps = np.asarray(gen.channels.jumps)
    total = _gram(jumps) if jumps.shape[0] else np.zeros(jumps.shape[1:], np.real(jumps).dtype)
    root = _matrix_function(lambda w: np.sqrt(np.maximum(1.0 - dt * w, 0.0)), total)
    unitary = _matrix_function(lambda w: np.exp(-1j * w * dt), np.asarray(gen.hamiltonian))
    return jnp.asarray(root), jnp.asarray(unitary)


def _trace(x: Array) -> Array:
    return jnp.sum(jnp.real(jnp.trace(x, axis1=-2, axis2=-1)))


def _shift(x: Array, offset: tuple[int, int]) -> tuple[Array, Array]:
    """x moved by ``offset`` cells; returns it and the trace that left, per (axis, low/high side)."""
    lost = jnp.zeros((2, 2), jnp.real(x).dtype)
    for axis, k in enumerate(offset):
        if k == 0:
            continue
        n = x.shape[axis]
        m = min(abs(k), n)
        keep, gone = (slice(0, n - m), slice(n - m, n)) if k > 0 else (slice(m, n), slice(0, m))
        idx_keep = [slice(None)] * x.ndim
        idx_gone = [slice(None)] * x.ndim
        idx_keep[axis], idx_gone[axis] = keep, gone
        lost = lost.at[axis, int(k > 0)].add(_trace(x[tuple(idx_gone)]))
        pad = [(0, 0)] * x.ndim
        pad[axis] = (m, 0) if k > 0 else (0, m)
        x = jnp.pad(x[tuple(idx_keep)], pad)
    return x, lost


def master_step(
    rho: Complex[Array, "Nq Np d d"],
    lost: Float[Array, "2 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: float,
) -> tuple[Complex[Array, "Nq Np d d"], Float[Array, "2 2"]]:
    """One step of the lattice dynamics on cell masses ``rho``; ``lost`` accumulates what left
    the grid per (axis, side). ``ops`` = ``step_operators(gen, dt)``; see the module docstring."""
    k0, unitary = ops
    out = sandwich_ops(k0, rho, k0)
    for j, offset in enumerate(channels.offsets):
        moved, gone = _shift(dt * sandwich_ops(channels.jumps[j], rho, channels.jumps[j]), offset)
        out = out + moved
        lost = lost + gone
    if channels.negative_rates is not None:
        for s in range(channels.negative_rates.shape[0]):
            rate = channels.negative_rates[s][..., None, None]
            out = out + dt * rate * dissipator(channels.negative_ops[s], rho)
    return sandwich_ops(unitary, out, unitary), lost


@jax.jit
def advance(
    rho: Complex[Array, "Nq Np d d"],
    lost: Float[Array, "2 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: Float[Array, ""],
    n_steps: Array,
) -> tuple[Complex[Array, "Nq Np d d"], Float[Array, "2 2"]]:
    """``n_steps`` steps of ``master_step`` (a traced count: one compilation per grid shape)."""
    return jax.lax.fori_loop(0, n_steps, lambda _, state: master_step(*state, channels, ops, dt), (rho, lost))
