"""The CQ master equation on a 2k-dimensional phase-space grid as a lattice of Kraus channels between cells.

For k degrees of freedom (one grid axis per coordinate q_1..q_k, p_1..p_k, the same construction
along every axis) the CQ master equation of seed 004 eq. (5) (I. Layton, J. Oppenheim and
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

- Along a coordinate i (any axis) with diffusion D2_ii or back-reaction G_i = F_i: jumps z -> z +- Delta e_i
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
- The drift {Z_i, H_C}: upwind jumps at rate |v_i| / Delta_i (scalar channels: a rate per cell).
- Jump channels of a jump model: Kraus L_k, moved by the model's shift; a shift that is not a
  whole number of cells is split between the two neighbouring offsets with linear weights
  (conservative; mass and mean shift exact).

One step (Lie splitting of CP maps):
varrho'(c) = U(c) [K0(c) varrho(c) K0(c) + dt sum_j M_j varrho(c - o_j) M_j^dag + dt E(varrho)(c)] U(c)^dag
with K0 = sqrt(I - dt sum_j M_j^dag M_j), U = exp(-i H_I dt / hbar), E the explicit negative-rate
terms. Without E it is completely positive and trace preserving for dt <= 1 / max ||sum_j M_j^dag M_j||;
mass that jumps off the grid is counted per axis and side in ``lost``. Diffusion must be diagonal
(D2_ij = 0 for i != j): correlated noise is refused naming the pair of coordinates.

The scheme in one notation: the Physics page of the documentation (docs/physics.md, "Numerical steps").
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ..errors import InputError
from ..models._base import AbstractAbsorbingModel, AbstractJumpModel, AbstractModel, is_diagonal
from ..models._generator import extra_channels, generator
from ..operators._ops import dissipator, sandwich_ops
from .grid import PhaseSpaceGrid

_CELL_BATCH = 2**14  # cells per batch when the model is evaluated on the grid (bounds the memory)


class LatticeChannels(eqx.Module):
    """The jumps of one step. ``jumps`` (J, *cells, d, d), or (J, *cells, d) for diagonal models:
    Kraus operators without sqrt(dt) at the source cell, moved by ``offsets[j]`` cells (one entry
    per axis); ``rates`` (S, *cells): scalar channels sqrt(rate) I (the drift), moved by
    ``rate_offsets[s]``; ``negative_rates`` (S', *cells) <= 0 and ``negative_ops`` (S', *cells, ...):
    the explicit terms of a generator that is not completely positive (None when it is)."""

    jumps: Array
    rates: Array
    negative_rates: Array | None
    negative_ops: Array | None
    offsets: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    rate_offsets: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    diagonal: bool = eqx.field(static=True)


class LatticeGenerator(eqx.Module):
    """Per-cell data of the lattice dynamics and the rates that bound its time step.

    ``hamiltonian``: H_I / hbar per cell; ``channels``: see ``LatticeChannels``;
    ``rate_bound``: max_c ||sum_j M_j^dag M_j|| + 2 sum_s |rate_s| ||L_s||^2 (1/dt must exceed it);
    ``jump_rate``: the largest rate of the model's own (finite) jumps; ``unitary_rate``:
    max ||H_I|| / hbar; ``moves``: per axis, whether anything moves along it.
    """

    hamiltonian: Array
    channels: LatticeChannels
    rate_bound: float = eqx.field(static=True)
    jump_rate: float = eqx.field(static=True)
    unitary_rate: float = eqx.field(static=True)
    moves: tuple[bool, ...] = eqx.field(static=True)

    @property
    def completely_positive(self) -> bool:
        return self.channels.negative_rates is None


def _norm(ops: np.ndarray, diagonal: bool) -> np.ndarray:
    """Operator norm per cell of Hermitian (or diagonal) operators."""
    if diagonal:
        return np.max(np.abs(ops), axis=-1)
    return np.max(np.abs(np.linalg.eigvalsh(ops)), axis=-1)


def _as_rep(ops: np.ndarray, diagonal: bool, what: str) -> np.ndarray:
    """Dense (..., d, d) model operators in the model's representation (diagonals if diagonal)."""
    if not diagonal:
        return ops
    diag = np.diagonal(ops, axis1=-2, axis2=-1)
    off = ops - np.einsum("...i,ij->...ij", diag, np.eye(ops.shape[-1]))
    if float(np.max(np.abs(off), initial=0.0)) > 1e-12 * max(float(np.max(np.abs(ops), initial=0.0)), 1e-30):
        raise InputError(what, "operator is not diagonal, but the model is an AbstractDiagonalModel")
    return diag


def _split_shift(shift: float, spacing: float, cells: int, what: str) -> list[tuple[int, float]]:
    """A shift in coordinate units as whole-cell offsets with linear weights."""
    if cells == 1:
        if abs(shift) > 0:
            raise InputError(what, "jumps move a coordinate the grid holds at a single value")
        return [(0, 1.0)]
    x = shift / spacing
    lo = math.floor(x + 1e-9)
    frac = x - lo
    if frac < 1e-9:
        return [(lo, 1.0)]
    return [(lo, 1.0 - frac), (lo + 1, frac)]


def map_cells(f, points: Array | np.ndarray):
    """``f`` on every row of ``points`` (cells, n), compiled once, in batches of ``_CELL_BATCH``
    cells (vmapped inside a batch), so that a 4-D grid never holds every cell's Jacobians at once."""
    batch = min(_CELL_BATCH, points.shape[0])
    return jax.jit(lambda p: jax.lax.map(f, p, batch_size=batch))(points)


def _cell_fields(model: AbstractModel, grid: PhaseSpaceGrid, dtype, cdtype):
    """The model on every cell centre (flattened): H_I / hbar, F, drift, D2, extra channels, jumps.

    An absorbing model's cells outside its domain (``inside`` false at the centre) get no
    dynamics at all (every field zero: no jumps out, U = I): mass that jumps into them stays
    frozen there, as a stopped trajectory's point and state do, and is what ``stopped`` reads."""
    jumpy = isinstance(model, AbstractJumpModel)
    absorbing = isinstance(model, AbstractAbsorbingModel)

    def cell(z):
        g = generator(model, z)
        sigma = jnp.asarray(model.noise(z), z.dtype)
        d2 = 0.5 * sigma @ sigma.T
        fields = (g.h.astype(cdtype), g.force.astype(cdtype), g.drift, d2, extra_channels(model, z))
        jumps = model.jump_channels(z) if jumpy else None
        if absorbing:  # the model may be undefined (NaN) outside: where, not multiplication
            keep = model.inside(z)
            fields = jax.tree.map(lambda x: jnp.where(keep, x, jnp.zeros_like(x)), fields)
            if jumps is not None:
                jumps = (jnp.where(keep, jumps[0], jnp.zeros_like(jumps[0])), jumps[1])
        return (*fields, jumps)

    points = grid.points(dtype).reshape(-1, grid.ndim)
    h, force, drift, d2, diss, jump_data = jax.tree.map(np.asarray, map_cells(cell, points))
    if not all(bool(np.all(np.isfinite(x))) for x in (h, force, drift, d2)):
        raise InputError("master", "the model's Hamiltonian, drift or noise is not finite on the grid")
    _check_uncorrelated(d2, model.coords)
    return h, force, drift, d2, diss, jump_data


def _check_uncorrelated(d2: np.ndarray, coords: tuple[str, ...]) -> None:
    """The lattice jumps along one axis at a time: refuse a D2 with off-diagonal entries, naming them."""
    scale = max(float(np.max(np.abs(d2))), 1e-30)
    off = np.max(np.abs(d2), axis=0) * (1 - np.eye(d2.shape[-1]))
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    if off[i, j] > 1e-12 * scale:
        raise ValueError(
            f"master: correlated noise D2[{coords[i]}, {coords[j]}] = {off[i, j]:.3g} (sigma sigma^T / 2 not "
            "diagonal) is not supported on the lattice, whose jumps move one coordinate at a time"
        )


class _Builder:
    """Collects the channels of the lattice (cells flattened) while they are built."""

    def __init__(self, n_axes: int, d: int, diagonal: bool, cdtype):
        self.n_axes, self.diagonal, self.cdtype = n_axes, diagonal, cdtype
        self.eye = np.ones(d, cdtype) if diagonal else np.eye(d, dtype=cdtype)
        self.kraus: list[tuple[np.ndarray, tuple[int, ...]]] = []
        self.scalar: list[tuple[np.ndarray, tuple[int, ...]]] = []
        self.local: list[tuple[np.ndarray, np.ndarray]] = []  # (signed rate (cells,), operator field)
        self.moves = [False] * n_axes

    def op(self, x: np.ndarray) -> np.ndarray:
        """A per-cell scalar broadcast against per-cell operators."""
        return x[:, None] if self.diagonal else x[:, None, None]

    def unit(self, axis: int, sign: int) -> tuple[int, ...]:
        return tuple(sign if a == axis else 0 for a in range(self.n_axes))

    def _moved(self, offset):
        for i, k in enumerate(offset):
            self.moves[i] |= k != 0

    def add(self, kraus: np.ndarray, offset: tuple[int, ...]) -> None:
        if float(np.max(np.abs(kraus))) > 0:
            self.kraus.append((kraus, offset))
            self._moved(offset)

    def add_scalar(self, rate: np.ndarray, offset: tuple[int, ...]) -> None:
        if float(np.max(rate)) > 0:
            self.scalar.append((rate, offset))
            self._moved(offset)


def _axis_channels(b: _Builder, i: int, grid: PhaseSpaceGrid, name: str, force, d2ii, drift) -> None:
    """Along axis ``i``: the back-reaction/diffusion pair sqrt(r)(I +- a G) (module docstring),
    the decoherence beyond what that pair builds in, and the upwind drift."""
    delta = grid.spacing[i]
    rate = np.maximum(d2ii / delta**2, _norm(force, b.diagonal) / (4 * delta))
    if grid.cells[i] == 1:
        if float(np.max(rate)) > 0:
            raise ValueError(
                f"master: coordinate {name!r} has one grid cell but diffuses or feels a back-reaction; "
                "give it more cells"
            )
        if float(np.max(np.abs(drift))) > 0:
            raise InputError("master", f"coordinate {name!r} has one grid cell but drifts; give it more cells")
        return
    safe = np.where(rate > 0, rate, 1.0)
    a = np.where(rate > 0, 1.0 / (4 * delta * safe), 0.0)
    for sign in (1, -1):
        b.add(b.op(np.sqrt(rate)) * (b.eye + sign * b.op(a) * force), b.unit(i, sign))
    built_in = np.where(rate > 0, 1.0 / (8 * safe * delta**2), 0.0)
    healed = np.where(d2ii > 0, 1.0 / (8 * np.where(d2ii > 0, d2ii, 1.0)), 0.0)
    excess = healed - built_in  # zero (up to rounding) where r = D2 / Delta^2
    b.local.append((np.where(np.abs(excess) <= 1e-9 * healed, 0.0, excess), force))
    for sign in (1, -1):
        b.add_scalar(np.maximum(sign * drift, 0.0) / delta, b.unit(i, sign))


def _model_jumps(b: _Builder, grid: PhaseSpaceGrid, jump_data) -> float:
    """The model's own jump channels, moved by their shifts (split between neighbouring offsets);
    returns the largest jump rate."""
    jops, shifts = jump_data
    jops = _as_rep(np.asarray(jops, b.cdtype), b.diagonal, "model.jump_channels")
    shifts = np.asarray(shifts)
    jump_rate = 0.0
    for k in range(shifts.shape[1]):
        s = shifts[:, k]
        if np.max(np.abs(s - s[0])) > 1e-12 * max(np.max(np.abs(s)), 1e-30):
            raise InputError("model.jump_channels", "the lattice needs shifts that do not depend on z")
        parts = [
            _split_shift(float(s[0, i]), grid.spacing[i], grid.cells[i], "model.jump_channels")
            for i in range(grid.ndim)
        ]
        ops = jops[:, k]
        gram = np.sum(np.abs(ops) ** 2, axis=-1) if b.diagonal else np.sum(np.abs(ops) ** 2, axis=(-2, -1))
        jump_rate = max(jump_rate, float(np.max(gram)))
        for combo in itertools.product(*parts):
            weight = math.prod(w for _, w in combo)
            b.add(math.sqrt(weight) * ops, tuple(o for o, _ in combo))
    return jump_rate


def lattice_generator(model: AbstractModel, grid: PhaseSpaceGrid, dtype=None) -> LatticeGenerator:
    """Build the lattice realisation of ``model``'s master equation on ``grid`` (see module doc)."""
    if grid.ndim != model.n_coords:
        raise InputError("grid", f"{grid.ndim} axes for the {model.n_coords} coordinates {list(model.coords)}")
    dtype = dtype or (jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)
    cdtype = jnp.result_type(dtype, jnp.complex64)
    h, force, drift, d2, diss, jump_data = _cell_fields(model, grid, dtype, cdtype)
    diagonal = is_diagonal(model)
    b = _Builder(grid.ndim, h.shape[-1], diagonal, cdtype)
    for i, name in enumerate(model.coords):
        _axis_channels(b, i, grid, name, force[:, i], d2[:, i, i], drift[:, i])
    if diss is not None:
        rates, ops = diss
        ops = _as_rep(np.asarray(ops, cdtype), diagonal, "model.dissipators")
        b.local += [(np.asarray(rates[:, k], dtype), ops[:, k]) for k in range(rates.shape[1])]
    jump_rate = _model_jumps(b, grid, jump_data) if jump_data is not None else 0.0
    b.local = [(rate, L) for rate, L in b.local if float(np.max(np.abs(L))) > 0]
    for rate, L in b.local:
        b.add(b.op(np.sqrt(np.maximum(rate, 0.0)).astype(cdtype)) * L, (0,) * grid.ndim)
    return _assemble(b, h, grid, jump_rate)


def _assemble(b: _Builder, h: np.ndarray, grid: PhaseSpaceGrid, jump_rate: float) -> LatticeGenerator:
    """Stack the collected channels into fields over the grid and bound the step's rates."""
    shape = grid.cells

    def field(x):
        return x.reshape(*shape, *x.shape[1:])

    jumps = np.stack([field(k) for k, _ in b.kraus]) if b.kraus else np.zeros((0, *shape, *b.eye.shape), b.cdtype)
    real = np.real(b.eye).dtype
    rates = np.stack([field(r) for r, _ in b.scalar]).astype(real) if b.scalar else np.zeros((0, *shape), real)
    total = _gram(jumps, rates, b.diagonal)
    bound = total.real if b.diagonal else np.linalg.eigvalsh(total)
    bound = np.max(bound, axis=-1)
    negatives = [(np.minimum(rate, 0.0), L) for rate, L in b.local if float(np.min(rate)) < 0]
    neg_rates = neg_ops = None
    if negatives:
        neg_rates = np.stack([field(r) for r, _ in negatives])
        neg_ops = np.stack([field(L) for _, L in negatives])
        norms = np.stack([field(_norm(L, b.diagonal)) for _, L in negatives])
        bound = bound + 2 * np.sum(np.abs(neg_rates) * norms**2, axis=0)
    to_device = lambda x: None if x is None else jnp.asarray(x)
    channels = LatticeChannels(
        jumps=jnp.asarray(jumps),
        rates=jnp.asarray(rates),
        negative_rates=to_device(neg_rates),
        negative_ops=to_device(neg_ops),
        offsets=tuple(o for _, o in b.kraus),
        rate_offsets=tuple(o for _, o in b.scalar),
        diagonal=b.diagonal,
    )
    return LatticeGenerator(
        hamiltonian=jnp.asarray(field(h)),
        channels=channels,
        rate_bound=float(np.max(bound)),
        jump_rate=jump_rate,
        unitary_rate=float(np.max(_norm(h, b.diagonal))),
        moves=tuple(b.moves),
    )


def _gram(jumps: np.ndarray, rates: np.ndarray, diagonal: bool) -> np.ndarray:
    """sum_j M_j^dag M_j + sum_s rate_s I per cell: (*cells, d) diagonal or (*cells, d, d)."""
    scalar = np.sum(rates, axis=0)
    if diagonal:
        return np.sum(np.abs(jumps) ** 2, axis=0) + scalar[..., None]
    d = jumps.shape[-1]
    dense = np.einsum("j...ki,j...kl->...il", np.conj(jumps), jumps) if jumps.shape[0] else 0.0
    return dense + scalar[..., None, None] * np.eye(d)


def _matrix_function(f, a: np.ndarray, diagonal: bool) -> np.ndarray:
    """f(a) for Hermitian a per cell (diagonal a: elementwise)."""
    if diagonal:
        return f(np.real(a))
    w, v = np.linalg.eigh(a)
    return np.einsum("...ik,...k,...jk->...ij", v, f(w), np.conj(v))


def step_operators(gen: LatticeGenerator, dt: float) -> tuple[Array, Array]:
    """K0 = sqrt(I - dt sum_j M_j^dag M_j) and U = exp(-i H_I dt / hbar) per cell.

    Raises ValueError if dt > 1 / ``gen.rate_bound`` (the step would not be a CP map).
    """
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise InputError("dt", f"{dt:.4g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.4g}")
    ch = gen.channels
    total = _gram(np.asarray(ch.jumps), np.asarray(ch.rates), ch.diagonal)
    root = _matrix_function(lambda w: np.sqrt(np.maximum(1.0 - dt * w, 0.0)), total, ch.diagonal)
    unitary = _matrix_function(lambda w: np.exp(-1j * w * dt), np.asarray(gen.hamiltonian), ch.diagonal)
    real = np.real(np.zeros((), ch.jumps.dtype)).dtype
    root = root.astype(real) if ch.diagonal else root.astype(ch.jumps.dtype)  # diagonal: real, half the work
    return jnp.asarray(root), jnp.asarray(unitary.astype(ch.jumps.dtype))


def _trace(x: Array) -> Array:
    return jnp.sum(jnp.real(jnp.trace(x, axis1=-2, axis2=-1)))


def _shift(x: Array, offset: tuple[int, ...]) -> tuple[Array, Array]:
    """x moved by ``offset`` cells; returns it and the trace that left, per (axis, low/high side)."""
    lost = jnp.zeros((len(offset), 2), jnp.real(x).dtype)
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
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: float | Float[Array, ""],
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """One step of the lattice dynamics on cell masses ``rho`` (every cell at once: the per-cell
    Kraus maps broadcast over the grid axes); ``lost`` accumulates what left the grid per (axis,
    side). ``ops`` = ``step_operators(gen, dt)``; see the module docstring."""
    k0, unitary = ops
    out = sandwich_ops(k0, rho, k0)
    for j, offset in enumerate(channels.offsets):
        moved, gone = _shift(dt * sandwich_ops(channels.jumps[j], rho, channels.jumps[j]), offset)
        out, lost = out + moved, lost + gone
    for s, offset in enumerate(channels.rate_offsets):
        moved, gone = _shift((dt * channels.rates[s])[..., None, None] * rho, offset)
        out, lost = out + moved, lost + gone
    if channels.negative_rates is not None:
        for s in range(channels.negative_rates.shape[0]):
            rate = channels.negative_rates[s][..., None, None]
            out = out + dt * rate * dissipator(channels.negative_ops[s], rho)
    return sandwich_ops(unitary, out, unitary), lost


@jax.jit
def advance(
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: Float[Array, ""],
    n_steps: Array,
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """``n_steps`` steps of ``master_step`` (a traced count: one compilation per grid shape)."""
    return jax.lax.fori_loop(0, n_steps, lambda _, state: master_step(*state, channels, ops, dt), (rho, lost))
