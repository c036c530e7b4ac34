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
with second-order transport the step is U(dt/2) (varrho + Phi(Phi(varrho))) / 2 U(dt/2)^dag, Phi the
step above without U (``channel_step``: second order in dt);
mass that jumps off the grid is counted per axis and side in ``lost``. Diffusion must be diagonal
(D2_ij = 0 for i != j): correlated noise is refused naming the pair of coordinates.

The scheme in one notation: the Physics page of the documentation (docs/physics.md, "Numerical steps").
"""

from __future__ import annotations

import functools
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
from ._traced import concrete, eigvalsh, hermitian_function, is_traced, safe_abs, safe_sqrt
from .grid import PhaseSpaceGrid
from .transport import check_transport, limited_transport, transport_rate

Values = np.ndarray | Array  # the builders run on numpy values (deciding pass) and on jax ones (traced)

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
    transport: str = eqx.field(static=True, default="upwind")

    @property
    def stay_rates(self) -> Values:
        """The scalar rates that the stay operator K0 accounts for: all of them for upwind jumps,
        none when the drift is moved by the limited transport of ``transport.py``."""
        return self.rates if self.transport == "upwind" else self.rates[:0]


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


def _norm(ops: Values, diagonal: bool, xp) -> Values:
    """Operator norm per cell of Hermitian (or diagonal) operators (differentiable with xp = jnp)."""
    if diagonal:
        return xp.max(np.abs(ops) if xp is np else safe_abs(jnp.asarray(ops)), axis=-1)
    return xp.max(xp.abs(np.linalg.eigvalsh(ops) if xp is np else eigvalsh(ops)), axis=-1)


def _sqrt(x: Values, xp) -> Values:
    return np.sqrt(x) if xp is np else safe_sqrt(jnp.asarray(x))


def _as_rep(ops: Values, diagonal: bool, what: str, xp) -> Values:
    """Dense (..., d, d) model operators in the model's representation (diagonals if diagonal)."""
    if not diagonal:
        return ops
    if xp is np:
        off = ops - np.einsum("...i,ij->...ij", np.diagonal(ops, axis1=-2, axis2=-1), np.eye(ops.shape[-1]))
        if float(np.max(np.abs(off), initial=0.0)) > 1e-12 * max(float(np.max(np.abs(ops), initial=0.0)), 1e-30):
            raise InputError(what, "operator is not diagonal, but the model is an AbstractDiagonalModel")
    return xp.diagonal(ops, axis1=-2, axis2=-1)


def _split_shift(shift: float, spacing: float, cells: int, what: str) -> tuple[tuple[int, float], ...]:
    """A shift in coordinate units as whole-cell offsets with linear weights."""
    if cells == 1:
        if abs(shift) > 0:
            raise InputError(what, "jumps move a coordinate the grid holds at a single value")
        return ((0, 1.0),)
    x = shift / spacing
    lo = math.floor(x + 1e-9)
    frac = x - lo
    if frac < 1e-9:
        return ((lo, 1.0),)
    return ((lo, 1.0 - frac), (lo + 1, frac))


def map_cells(f, points: Array, *args):
    """``f(z, *args)`` on every row ``z`` of ``points`` (cells, n), in batches of ``_CELL_BATCH``
    cells (vmapped inside a batch), so that a 4-D grid never holds every cell's Jacobians at once.
    ``f`` a module-level function: compiled once per ``f``, grid size and structure of ``args``
    (a model's array leaves, traced ones included, are arguments, not constants)."""
    return _map_cells(f, points, args, min(_CELL_BATCH, points.shape[0]))


@eqx.filter_jit
def _map_cells(f, points, args, batch: int):
    return jax.lax.map(lambda z: f(z, *args), points, batch_size=batch)


def _cell(z: Array, model: AbstractModel, cdtype):
    """The model at one cell centre: H_I / hbar, F, drift, D2, extra channels, jumps (``_cell_fields``)."""
    g = generator(model, z)
    sigma = jnp.asarray(model.noise(z), z.dtype)
    d2 = 0.5 * sigma @ sigma.T
    fields = (g.h.astype(cdtype), g.force.astype(cdtype), g.drift, d2, extra_channels(model, z))
    jumps = model.jump_channels(z) if isinstance(model, AbstractJumpModel) else None
    if isinstance(model, AbstractAbsorbingModel):  # the model may be undefined (NaN) outside: where, not product
        keep = model.inside(z)
        fields = jax.tree.map(lambda x: jnp.where(keep, x, jnp.zeros_like(x)), fields)
        if jumps is not None:
            jumps = (jnp.where(keep, jumps[0], jnp.zeros_like(jumps[0])), jumps[1])
    return (*fields, jumps)


def _cell_fields(model: AbstractModel, grid: PhaseSpaceGrid, dtype, cdtype):
    """The model on every cell centre (flattened): H_I / hbar, F, drift, D2, extra channels, jumps.

    An absorbing model's cells outside its domain (``inside`` false at the centre) get no
    dynamics at all (every field zero: no jumps out, U = I): mass that jumps into them stays
    frozen there, as a stopped trajectory's point and state do, and is what ``stopped`` reads."""
    points = grid.points(dtype).reshape(-1, grid.ndim)
    fields = map_cells(_cell, points, model, jnp.dtype(cdtype))
    h, force, drift, d2 = (concrete(x) for x in fields[:4])
    if not all(bool(np.all(np.isfinite(x))) for x in (h, force, drift, d2)):
        raise InputError("master", "the model's Hamiltonian, drift or noise is not finite on the grid")
    _check_uncorrelated(d2, model.coords)
    return fields


def _check_uncorrelated(d2: np.ndarray, coords: tuple[str, ...]) -> None:
    """The lattice jumps along one axis at a time: refuse a D2 with off-diagonal entries, naming them."""
    scale = max(float(np.max(np.abs(d2))), 1e-30)
    off = np.max(np.abs(d2), axis=0) * (1 - np.eye(d2.shape[-1]))
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    if off[i, j] > 1e-12 * scale:
        raise InputError(
            "master",
            f"correlated noise D2[{coords[i]}, {coords[j]}] = {off[i, j]:.3g} (sigma sigma^T / 2 not "
            "diagonal) is not supported on the lattice, whose jumps move one coordinate at a time",
        )


class _Builder:
    """Collects the channels of the lattice (cells flattened) while they are built.

    Two passes: on the values (numpy, ``xp = np``) it decides which channels exist and records
    each decision in ``decisions``; on the traced model (``xp = jnp`` inside ``jax.jit``) it
    replays them, so that the same code yields values through which ``jax.grad`` flows."""

    def __init__(self, n_axes: int, d: int, diagonal: bool, cdtype, xp, replay: tuple | None = None):
        self.n_axes, self.diagonal, self.cdtype, self.xp = n_axes, diagonal, cdtype, xp
        self.eye = xp.ones(d, cdtype) if diagonal else xp.eye(d, dtype=cdtype)
        self.kraus: list[tuple[Values, tuple[int, ...]]] = []
        self.scalar: list[tuple[Values, tuple[int, ...]]] = []
        self.local: list[tuple[Values, Values]] = []  # (signed rate (cells,), operator field)
        self.moves = [False] * n_axes
        self.h: Values = self.eye  # H_I / hbar per cell, set by ``_build``
        self.transport = "upwind"
        self.jump_rate = 0.0  # the largest rate of the model's own jumps (deciding pass)
        self.negative: list[bool] = []  # per local channel: whether its rate is negative somewhere
        self.decisions: list = []
        self._replay = None if replay is None else iter(replay)

    @property
    def deciding(self) -> bool:
        """Whether this pass decides (on values) rather than replays."""
        return self._replay is None

    def decide(self, rule):
        """``rule()`` (a hashable decision from the values) in the deciding pass; the recorded one after."""
        if self._replay is not None:
            return next(self._replay)
        value = rule()
        self.decisions.append(value)
        return value

    def op(self, x: Values) -> Values:
        """A per-cell scalar broadcast against per-cell operators."""
        return x[:, None] if self.diagonal else x[:, None, None]

    def unit(self, axis: int, sign: int) -> tuple[int, ...]:
        return tuple(sign if a == axis else 0 for a in range(self.n_axes))

    def _moved(self, offset):
        for i, k in enumerate(offset):
            self.moves[i] |= k != 0

    def add(self, kraus: Values, offset: tuple[int, ...]) -> None:
        if self.decide(lambda: float(np.max(np.abs(kraus))) > 0):
            self.kraus.append((kraus, offset))
            self._moved(offset)

    def add_scalar(self, rate: Values, offset: tuple[int, ...]) -> None:
        if self.decide(lambda: float(np.max(rate)) > 0):
            self.scalar.append((rate, offset))
            self._moved(offset)


def _axis_channels(b: _Builder, i: int, grid: PhaseSpaceGrid, name: str, force, d2ii, drift) -> None:
    """Along axis ``i``: the back-reaction/diffusion pair sqrt(r)(I +- a G) (module docstring),
    the decoherence beyond what that pair builds in, and the upwind drift."""
    xp, delta = b.xp, grid.spacing[i]
    rate = xp.maximum(d2ii / delta**2, _norm(force, b.diagonal, xp) / (4 * delta))
    if grid.cells[i] == 1:
        if b.deciding and float(np.max(rate)) > 0:
            raise InputError(
                "master",
                f"coordinate {name!r} has one grid cell but diffuses or feels a back-reaction; give it more cells",
            )
        if b.deciding and float(np.max(np.abs(drift))) > 0:
            raise InputError("master", f"coordinate {name!r} has one grid cell but drifts; give it more cells")
        return
    safe = xp.where(rate > 0, rate, 1.0)
    a = xp.where(rate > 0, 1.0 / (4 * delta * safe), 0.0)
    for sign in (1, -1):
        b.add(b.op(_sqrt(rate, xp)) * (b.eye + sign * b.op(a) * force), b.unit(i, sign))
    built_in = xp.where(rate > 0, 1.0 / (8 * safe * delta**2), 0.0)
    healed = xp.where(d2ii > 0, 1.0 / (8 * xp.where(d2ii > 0, d2ii, 1.0)), 0.0)
    excess = healed - built_in  # zero (up to rounding) where r = D2 / Delta^2
    b.local.append((xp.where(xp.abs(excess) <= 1e-9 * healed, 0.0, excess), force))
    for sign in (1, -1):
        b.add_scalar(xp.maximum(sign * drift, 0.0) / delta, b.unit(i, sign))


def _model_jumps(b: _Builder, grid: PhaseSpaceGrid, jump_data) -> float:
    """The model's own jump channels, moved by their shifts (split between neighbouring offsets;
    the shifts are structure, decided from their values and not differentiated); returns the
    largest jump rate (deciding pass; 0 when replaying)."""
    jops, shifts = jump_data
    jops = _as_rep(b.xp.asarray(jops, b.cdtype), b.diagonal, "model.jump_channels", b.xp)
    jump_rate = 0.0
    for k in range(shifts.shape[1]):
        parts = b.decide(lambda k=k: _jump_offsets(np.asarray(shifts[:, k]), grid))
        ops = jops[:, k]
        if b.deciding:
            gram = np.sum(np.abs(ops) ** 2, axis=-1 if b.diagonal else (-2, -1))
            jump_rate = max(jump_rate, float(np.max(gram)))
        for combo in itertools.product(*parts):
            weight = math.prod(w for _, w in combo)
            b.add(math.sqrt(weight) * ops, tuple(o for o, _ in combo))
    return jump_rate


def _jump_offsets(s: np.ndarray, grid: PhaseSpaceGrid) -> tuple:
    """Per axis, the (offset, weight) pairs of one jump channel's shift (cells, n)."""
    if np.max(np.abs(s - s[0])) > 1e-12 * max(np.max(np.abs(s)), 1e-30):
        raise InputError("model.jump_channels", "the lattice needs shifts that do not depend on z")
    return tuple(
        _split_shift(float(s[0, i]), grid.spacing[i], grid.cells[i], "model.jump_channels") for i in range(grid.ndim)
    )


def lattice_generator(
    model: AbstractModel, grid: PhaseSpaceGrid, dtype=None, transport: str = "upwind"
) -> LatticeGenerator:
    """Build the lattice realisation of ``model``'s master equation on ``grid`` (see module doc);
    ``transport``: how the drift moves the cells, "upwind" jumps (default) or "second-order" (``transport.py``).

    Which channels exist and the rate bounds are decided from the model's values; when its
    parameters are traced (``jax.grad``), the fields are then rebuilt as jax expressions of them
    (``_traced_channels``) with the same decisions, so that derivatives flow through the lattice."""
    if grid.ndim != model.n_coords:
        raise InputError("grid", f"{grid.ndim} axes for the {model.n_coords} coordinates {list(model.coords)}")
    check_transport(transport)
    dtype = dtype or (jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)
    cdtype = jnp.result_type(dtype, jnp.complex64)
    fields = _cell_fields(model, grid, dtype, cdtype)
    diagonal = is_diagonal(model)
    structure = (grid, model.coords, diagonal, np.dtype(cdtype), transport)
    b = _build(jax.tree.map(concrete, fields), *structure, np, None)
    gen = _assemble(b, b.h, grid)
    if not is_traced(fields):
        return gen
    h, channels = _traced_channels(fields, *structure, tuple(b.decisions))
    return LatticeGenerator(h, channels, gen.rate_bound, gen.jump_rate, gen.unitary_rate, gen.moves)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _traced_channels(fields, grid, coords, diagonal, cdtype, transport, decisions) -> tuple[Values, LatticeChannels]:
    """The lattice's fields as jax expressions of the cell fields, replaying ``decisions``."""
    b = _build(fields, grid, coords, diagonal, cdtype, transport, jnp, decisions)
    return _stack(b, b.h, grid)


def _build(fields, grid: PhaseSpaceGrid, coords, diagonal: bool, cdtype, transport: str, xp, replay) -> _Builder:
    """Every channel of the lattice from the cell fields (one pass of ``_Builder``)."""
    h, force, drift, d2, diss, jump_data = fields
    b = _Builder(grid.ndim, h.shape[-1], diagonal, cdtype, xp, replay)
    b.h, b.transport = h, transport
    for i, name in enumerate(coords):
        _axis_channels(b, i, grid, name, force[:, i], d2[:, i, i], drift[:, i])
    if diss is not None:
        rates, ops = diss
        ops = _as_rep(xp.asarray(ops, cdtype), diagonal, "model.dissipators", xp)
        b.local += [(rates[:, k], ops[:, k]) for k in range(rates.shape[1])]
    b.jump_rate = _model_jumps(b, grid, jump_data) if jump_data is not None else 0.0
    keep = [b.decide(lambda L=L: float(np.max(np.abs(L))) > 0) for _, L in b.local]
    b.local = [channel for channel, k in zip(b.local, keep) if k]
    for rate, L in b.local:
        b.add(b.op(_sqrt(xp.maximum(rate, 0.0), xp).astype(cdtype)) * L, (0,) * grid.ndim)
    b.negative = [b.decide(lambda r=rate: float(np.min(r)) < 0) for rate, _ in b.local]
    return b


def _stack(b: _Builder, h: Values, grid: PhaseSpaceGrid) -> tuple[Values, LatticeChannels]:
    """The collected channels stacked into fields over the grid."""
    xp, shape = b.xp, grid.cells

    def field(x):
        return x.reshape(*shape, *x.shape[1:])

    jumps = xp.stack([field(k) for k, _ in b.kraus]) if b.kraus else xp.zeros((0, *shape, *b.eye.shape), b.cdtype)
    real = np.real(np.zeros((), b.cdtype)).dtype
    rates = xp.stack([field(r) for r, _ in b.scalar]).astype(real) if b.scalar else xp.zeros((0, *shape), real)
    negatives = [(xp.minimum(rate, 0.0), L) for (rate, L), neg in zip(b.local, b.negative) if neg]
    neg_rates = xp.stack([field(r) for r, _ in negatives]) if negatives else None
    neg_ops = xp.stack([field(L) for _, L in negatives]) if negatives else None
    channels = LatticeChannels(
        jumps=jumps,
        rates=rates,
        negative_rates=neg_rates,
        negative_ops=neg_ops,
        offsets=tuple(o for _, o in b.kraus),
        rate_offsets=tuple(o for _, o in b.scalar),
        diagonal=b.diagonal,
        transport=b.transport,
    )
    return field(h), channels


def _assemble(b: _Builder, h: Values, grid: PhaseSpaceGrid) -> LatticeGenerator:
    """The lattice from the deciding pass (numpy values): its fields on the device and the step's rate bounds."""
    h_field, ch = _stack(b, h, grid)
    bound = _gram(ch.jumps, ch.stay_rates, b.diagonal, np)
    bound = np.max(bound.real if b.diagonal else np.linalg.eigvalsh(bound), axis=-1)
    if ch.negative_rates is not None and ch.negative_ops is not None:
        norms = np.stack([_norm(L, b.diagonal, np) for L in ch.negative_ops])
        bound = bound + 2 * np.sum(np.abs(ch.negative_rates) * norms**2, axis=0)
    if ch.transport != "upwind":
        bound = np.maximum(bound, float(transport_rate(jnp.asarray(ch.rates))))
    to_device = lambda x: None if x is None else jnp.asarray(x)  # noqa: E731
    return LatticeGenerator(
        hamiltonian=jnp.asarray(h_field),
        channels=jax.tree.map(to_device, ch),
        rate_bound=float(np.max(bound)),
        jump_rate=b.jump_rate,
        unitary_rate=float(np.max(_norm(h, b.diagonal, np))),
        moves=tuple(b.moves),
    )


def _gram(jumps: Values, rates: Values, diagonal: bool, xp=jnp) -> Values:
    """sum_j M_j^dag M_j + sum_s rate_s I per cell: (*cells, d) diagonal or (*cells, d, d)."""
    scalar = xp.sum(rates, axis=0)
    if diagonal:
        return xp.sum(xp.real(xp.conj(jumps) * jumps), axis=0) + scalar[..., None]
    d = jumps.shape[-1]
    dense = xp.einsum("j...ki,j...kl->...il", xp.conj(jumps), jumps) if jumps.shape[0] else 0.0
    return dense + scalar[..., None, None] * xp.eye(d)


def _matrix_function(f, a: Values, diagonal: bool) -> np.ndarray:
    """f(a) for Hermitian a per cell (diagonal a: elementwise), on the host."""
    a = np.asarray(a)
    if diagonal:
        return f(np.real(a))
    w, v = np.linalg.eigh(a)
    return np.einsum("...ik,...k,...jk->...ij", v, f(w), np.conj(v))


def step_operators(gen: LatticeGenerator, dt: float) -> tuple[Array, Array]:
    """K0 = sqrt(I - dt sum_j M_j^dag M_j) and U = exp(-i H_I tau / hbar) per cell, tau = dt (upwind
    transport) or dt / 2 (second-order: ``channel_step``), on the host, or, when the lattice is
    traced, differentiably (``_traced_step_operators``).

    Raises InputError if dt > 1 / ``gen.rate_bound`` (the step would not be a CP map).
    """
    if dt * gen.rate_bound > 1.0 + 1e-12:
        raise InputError("dt", f"{dt:.4g} is unstable on this grid; need dt <= {1 / gen.rate_bound:.4g}")
    ch = gen.channels
    if is_traced((ch, gen.hamiltonian)):
        return _traced_step_operators(ch, gen.hamiltonian, float(dt))
    total = _gram(np.asarray(ch.jumps), np.asarray(ch.stay_rates), ch.diagonal, np)
    root = _matrix_function(lambda w: np.sqrt(np.maximum(1.0 - dt * w, 0.0)), total, ch.diagonal)
    tau = _unitary_time(ch, dt)
    unitary = _matrix_function(lambda w: np.exp(-1j * w * tau), np.asarray(gen.hamiltonian), ch.diagonal)
    real = np.real(np.zeros((), ch.jumps.dtype)).dtype
    root = root.astype(real) if ch.diagonal else root.astype(ch.jumps.dtype)  # diagonal: real, half the work
    return jnp.asarray(root), jnp.asarray(unitary.astype(ch.jumps.dtype))


def _unitary_time(ch: LatticeChannels, dt: float) -> float:
    """The time of the step's unitary U: dt (upwind), dt / 2 on both sides of the channels (second order)."""
    return dt if ch.transport == "upwind" else dt / 2


@functools.partial(jax.jit, static_argnums=2)
def _traced_step_operators(ch: LatticeChannels, hamiltonian: Array, dt: float) -> tuple[Array, Array]:
    """``step_operators`` as jax expressions (derivatives by ``hermitian_function``); ``dt`` static."""
    total = _gram(ch.jumps, ch.stay_rates, ch.diagonal)
    root_of = lambda w: safe_sqrt(jnp.maximum(1.0 - dt * w, 0.0))  # noqa: E731
    tau = _unitary_time(ch, dt)
    phase_of = lambda w: jnp.exp(-1j * w * tau)  # noqa: E731
    if ch.diagonal:
        return root_of(jnp.real(total)), phase_of(jnp.real(hamiltonian)).astype(ch.jumps.dtype)
    root = hermitian_function(root_of, total).astype(ch.jumps.dtype)
    return root, hermitian_function(phase_of, hamiltonian).astype(ch.jumps.dtype)


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


def channel_step(
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: float | Float[Array, ""],
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """The channels of one step on cell masses ``rho`` (every cell at once: the per-cell maps
    broadcast over the grid axes); ``lost`` accumulates what left the grid per (axis, side).
    ``ops`` = ``step_operators(gen, dt)``; see the module docstring.

    Upwind transport: U Phi(rho) U^dag, Phi the CP map ``_kraus_map`` (the drift's upwind jumps
    included), first order in dt. Second-order transport: U_h (rho + Phi(Phi(rho))) / 2 U_h^dag,
    U_h = exp(-i H_I dt / 2 hbar): Heun's method in its strong-stability-preserving form (C.-W. Shu and
    S. Osher, "Efficient implementation of essentially non-oscillatory shock-capturing schemes",
    J. Comput. Phys. 77 (1988), the two-stage SSP Runge-Kutta scheme), a convex combination of CP
    maps, hence CP, of second order in dt where Phi = 1 + dt L + O(dt^3), i.e. where
    sum_j M_j^dag M_j is a multiple of I in every cell (Diosi, every Pauli coupling); otherwise it
    keeps the remainder (dt^2 / 4) D[G'] per step of Phi (G' the part of sum_j M_j^dag M_j that is
    not a multiple of I). Its errors are powers of dt L, not of the grid's jump rates, which cancel
    on smooth densities."""
    k0, unitary = ops
    if channels.transport == "upwind":
        out, gone = _kraus_map(rho, channels, k0, dt)
        return sandwich_ops(unitary, out, unitary), lost + gone
    rho = sandwich_ops(unitary, rho, unitary)
    once, gone_once = _kraus_map(rho, channels, k0, dt)
    twice, gone_twice = _kraus_map(once, channels, k0, dt)
    return sandwich_ops(unitary, (rho + twice) / 2, unitary), lost + (gone_once + gone_twice) / 2


def _kraus_map(rho: Array, channels: LatticeChannels, k0: Array, dt) -> tuple[Array, Array]:
    """Phi(rho) = K0 rho K0 + dt sum_j shift_j(M_j rho M_j^dag) (+ the upwind drift's scalar jumps,
    + dt E(rho) for negative rates): the CP, trace-preserving first-order step of the jumps, and
    the trace it moved beyond the grid per (axis, side)."""
    out = sandwich_ops(k0, rho, k0)
    lost = jnp.zeros((rho.ndim - 2, 2), jnp.real(rho).dtype)
    for j, offset in enumerate(channels.offsets):
        moved, gone = _shift(dt * sandwich_ops(channels.jumps[j], rho, channels.jumps[j]), offset)
        out, lost = out + moved, lost + gone
    for s, offset in enumerate(channels.rate_offsets if channels.transport == "upwind" else ()):
        moved, gone = _shift((dt * channels.rates[s])[..., None, None] * rho, offset)
        out, lost = out + moved, lost + gone
    if channels.negative_rates is not None and channels.negative_ops is not None:
        for s in range(channels.negative_rates.shape[0]):
            rate = channels.negative_rates[s][..., None, None]
            out = out + dt * rate * dissipator(channels.negative_ops[s], rho)
    return out, lost


def _drift(state: tuple[Array, Array], channels: LatticeChannels, dt) -> tuple[Array, Array]:
    """The drift's limited second-order transport over dt (``transport.py``); nothing for upwind."""
    if channels.transport == "upwind" or not channels.rate_offsets:
        return state
    rho, gone = limited_transport(state[0], channels.rates, channels.rate_offsets, dt, _shift)
    return rho, state[1] + gone


def _strang(channels: LatticeChannels, ops, dt, n_steps, loop):
    """n_steps >= 1 steps T(dt/2) C(dt) T(dt/2) (Strang splitting of the drift T and the channels
    C: second order in dt), the inner half steps merged into whole ones; ``loop(n, body, state)``
    runs the middle part."""
    step = lambda state: _drift(channel_step(state[0], state[1], channels, ops, dt), channels, dt)  # noqa: E731
    last = lambda state: _drift(channel_step(state[0], state[1], channels, ops, dt), channels, dt / 2)  # noqa: E731
    return lambda state: last(loop(n_steps - 1, step, _drift(state, channels, dt / 2)))


def master_step(
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: float | Float[Array, ""],
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """One step of the lattice dynamics: the drift's transport for dt/2, the channels
    (``channel_step``), the transport for dt/2 (with upwind transport: ``channel_step`` alone)."""
    return _strang(channels, ops, dt, 1, lambda n, body, state: state)((rho, lost))


@jax.jit
def advance(
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: Float[Array, ""],
    n_steps: Array,
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """``n_steps`` >= 1 steps of ``master_step``, the adjacent half steps of the transport merged
    (a traced count: one compilation per grid shape)."""
    loop = lambda n, body, state: jax.lax.fori_loop(0, n, lambda _, x: body(x), state)  # noqa: E731
    return _strang(channels, ops, dt, n_steps, loop)((rho, lost))


@functools.partial(jax.jit, static_argnames="n_steps")
def advance_checkpointed(
    rho: Complex[Array, "*cells d d"],
    lost: Float[Array, "n 2"],
    channels: LatticeChannels,
    ops: tuple[Array, Array],
    dt: Float[Array, ""],
    n_steps: int,
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """``advance`` for reverse-mode differentiation: a scan of fixed length whose steps the backward
    pass recomputes (``jax.checkpoint``), so that it keeps one state per call and, while one call is
    differentiated, one per step, instead of every intermediate of every step."""

    def loop(n, body, state):
        step = jax.checkpoint(lambda x, _: (body(x), None))
        return jax.lax.scan(step, state, length=n)[0]

    return jax.checkpoint(_strang(channels, ops, dt, n_steps, loop))((rho, lost))
