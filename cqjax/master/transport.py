"""Second-order transport of cell masses along the drift {Z_i, H_C}, positivity kept by flux correction.

The drift moves varrho as a whole (a scalar flux: d_t varrho = -d_i(v_i varrho), v_i = {Z_i, H_C},
the Liouville term of the CQ master equation, seed 004 eq. (5), Layton, Oppenheim and
Weller-Davies, "A healthier semi-classical dynamics"). First-order upwind jumps (``lattice.py``
with ``transport = "upwind"``) add a numerical diffusion |v| Delta (1 - lam) / 2 along the axis,
which dephases coherences whose phase varies in space (the Diosi model's rho_01 turns at 4 lam q).

Per axis and direction of the velocity (the scalar channels of ``LatticeChannels``: rate
r = |v_i| / Delta_i at the source cell, lam = dt r), flux-corrected transport (S. T. Zalesak,
"Fully multidimensional flux-corrected transport algorithms for fluids", J. Comput. Phys. 31
(1979); R. J. LeVeque, "Finite Volume Methods for Hyperbolic Problems", sec. 6.4-6.12):
- the low-order step: each cell sends lam_c varrho_c downwind (upwind jumps: a convex
  combination of the cells, positive for sum_s lam_s <= 1);
- the high-order flux of the Fromm scheme (second order in space and time for a smooth velocity)
  adds the antidiffusive part A_c = s lam_c (1 - lam_c) S_c / 2 across the same face (s = +-1 the
  direction, S_c = (varrho_{c+1} - varrho_{c-1}) / 2 the central slope, empty cells beyond the
  grid);
- each face's A is scaled by alpha in [0, 1] so that every cell stays positive: with K_c the
  number of corrections that touch cell c, the low-order varrho^L_c is split into K_c equal parts
  and each correction is kept within its part, varrho^L_c / K_c -+ alpha A >= 0 (source: -,
  target: +); then varrho'_c, the sum of the parts, is positive. alpha is the smaller of the two
  one-sided reaches sup {y : varrho^L_c / K_c + y B >= 0} (a generalised eigenvalue problem:
  closed form for d = 2, bisection with an unrolled LDL test for larger d), capped at 1.
Where the cells are smooth and mixed alpha = 1 and the step is the Fromm scheme; near the edge of
the occupied region, or where a cell is nearly pure while its neighbours' states differ, alpha < 1
falls back towards upwind there. Inside the reach varrho^L_c / K_c gets eps (tr + |B|) I added (eps
= 1e-15 in float64, 1e-6 in float32): the eigenvalue a cell may lose, relative to its mass and the
correction, to rounding.

The correction factors are a numerical device: derivatives (``jax.grad`` through a master run) treat
alpha as a constant (``jax.lax.stop_gradient``), exact where it does not bind.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from ..errors import InputError

_EPS = {4: 1e-6, 8: 1e-15}  # by the real dtype's size: the regularisation of the limiter (module doc)
_SAFETY = 0.95  # the reach is used with this margin against the rounding of the eigenvalue problem


TRANSPORTS = ("second-order", "upwind")


def check_transport(transport: str) -> None:
    """``transport`` must name a scheme: "second-order" (this module) or "upwind" (``lattice.py``)."""
    if transport not in TRANSPORTS:
        raise InputError("transport", f"must be one of {', '.join(map(repr, TRANSPORTS))}, got {transport!r}")


def transport_rate(rates: Float[Array, " S *cells"]) -> Float[Array, ""]:
    """The rate 1/dt must exceed for the low-order step to stay positive: max_c sum_s r_s(c)."""
    return jnp.max(jnp.sum(rates, axis=0)) if rates.shape[0] else jnp.zeros((), rates.dtype)


def reach(rho: Complex[Array, "*cells d d"], direction: Complex[Array, "*cells d d"]) -> Float[Array, " *cells"]:
    """sup {y >= 0 : rho + eps (tr rho + |B|) I + y B >= 0} per cell (B = ``direction``, Hermitian,
    |B| its Frobenius norm; rho positive semi-definite): for d = 2 in closed form with a margin
    (``_SAFETY``), inf where B never leaves the cone; for larger d by bisection on [0, 1] (inf
    beyond 1), enough for a correction factor capped at 1. Both are first divided by tr rho + |B|
    (the reach is scale-free), so that the regularisation keeps an empty cell's reach at about eps
    instead of an indeterminate 0 / 0."""
    real = jnp.real(rho).dtype
    d = rho.shape[-1]
    eps = _EPS[real.itemsize]
    if d == 2:  # on the four real entries of each Hermitian matrix: several times faster than complex 2 x 2
        a, b = _parts(rho), _parts(direction)
        inv = 1.0 / (a[0] + a[1] + jnp.sqrt(b[0] ** 2 + b[1] ** 2 + 2 * (b[2] ** 2 + b[3] ** 2)) + jnp.finfo(real).tiny)
        a = (a[0] * inv + eps, a[1] * inv + eps, a[2] * inv, a[3] * inv)
        y = _SAFETY * _reach_parts(a, tuple(x * inv for x in b))
    else:
        trace = jnp.real(jnp.trace(rho, axis1=-2, axis2=-1))
        size = jnp.sqrt(jnp.sum(jnp.abs(direction) ** 2, axis=(-2, -1)))
        scale = (trace + size + jnp.finfo(real).tiny)[..., None, None]  # both to entries <= 1
        y = _reach_bisection(rho / scale + eps * jnp.eye(d, dtype=rho.dtype), direction / scale)
    return jnp.where(y > 0, y, 0.0)  # 0 also where rounding left rho slightly negative (NaN, y < 0)


def _positive_definite(m: Array) -> Array:
    """Whether each Hermitian (..., d, d) matrix is positive definite: the pivots of its LDL^dag
    factorisation, unrolled over the static d (elementwise jax operations only: XLA's CPU LAPACK
    calls inside the master's step loop were seen to deadlock)."""
    d = m.shape[-1]
    low: dict[tuple[int, int], Array] = {}
    pivots: list[Array] = []
    ok = jnp.ones(m.shape[:-2], bool)
    for k in range(d):
        pivot = jnp.real(m[..., k, k]) - sum((jnp.abs(low[k, j]) ** 2 * pivots[j] for j in range(k)), 0.0)
        ok = ok & (pivot > 0)
        pivots.append(jnp.where(pivot > 0, pivot, 1.0))
        for i in range(k + 1, d):
            row = m[..., i, k] - sum((low[i, j] * jnp.conj(low[k, j]) * pivots[j] for j in range(k)), 0.0)
            low[i, k] = row / pivots[k]
    return ok


def _reach_bisection(rho: Array, direction: Array, halvings: int = 10) -> Array:
    """The same for any d, to within 2^-halvings on [0, 1] (all a correction factor capped at 1
    needs): inf where rho + B is positive definite, else the largest y = k 2^-halvings found by
    bisection with rho + y B positive definite (rho positive definite)."""

    def halve(_, bounds):
        lo, hi = bounds
        mid = (lo + hi) / 2
        ok = _positive_definite(rho + mid[..., None, None] * direction)
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    zeros = jnp.zeros(rho.shape[:-2], jnp.real(rho).dtype)
    lo, _ = jax.lax.fori_loop(0, halvings, halve, (zeros, zeros + 1))
    return jnp.where(_positive_definite(rho + direction), jnp.inf, lo)


def _parts(x: Array) -> tuple[Array, Array, Array, Array]:
    """The real entries (x_00, x_11, Re x_01, Im x_01) of Hermitian 2 x 2 matrices."""
    return jnp.real(x[..., 0, 0]), jnp.real(x[..., 1, 1]), jnp.real(x[..., 0, 1]), jnp.imag(x[..., 0, 1])


def _reach_parts(rho: tuple, direction: tuple) -> Array:
    """sup {y >= 0 : rho + y B >= 0} from the real entries of rho and B (``_parts``):
    det(rho + y B) = a + b y + c y^2 (a = det rho > 0, b = rho_00 B_11 + rho_11 B_00 - 2 Re(rho_01
    B_01^*), c = det B) first vanishes at its smallest positive root, and rho + y B stays positive
    before it: y = 2a / (sqrt(b^2 - 4ac) - b) for b <= 0, y = (sqrt(b^2 - 4ac) + b) / (-2c) for b > 0
    and c < 0 (the two forms without cancellation), no root (inf) otherwise."""
    (r0, r1, rr, ri), (b0, b1, br, bi) = rho, direction
    a = r0 * r1 - rr**2 - ri**2
    c = b0 * b1 - br**2 - bi**2
    b = r0 * b1 + r1 * b0 - 2 * (rr * br + ri * bi)
    root = jnp.sqrt(jnp.maximum(b**2 - 4 * a * c, 0.0))
    falling = (b <= 0) & (b**2 >= 4 * a * c) & (root - b > 0)
    turning = (b > 0) & (c < 0)
    y = jnp.where(falling, 2 * a / jnp.where(falling, root - b, 1.0), (root + b) / jnp.where(turning, -2 * c, 1.0))
    return jnp.where(falling | turning, y, jnp.inf)


def _slopes(rho: Array, offsets) -> dict[int, Array]:
    """The central slope (varrho_{c+1} - varrho_{c-1}) / 2 along every axis a channel moves along."""
    axes = {next(i for i, k in enumerate(o) if k != 0) for o in offsets}
    unit = lambda axis, k: tuple(k if i == axis else 0 for i in range(rho.ndim - 2))  # noqa: E731
    return {axis: (_moved(rho, unit(axis, -1)) - _moved(rho, unit(axis, 1))) / 2 for axis in axes}


def limited_transport(
    rho: Complex[Array, "*cells d d"],
    rates: Float[Array, " S *cells"],
    offsets: tuple[tuple[int, ...], ...],
    dt: float | Float[Array, ""],
    shift,
) -> tuple[Complex[Array, "*cells d d"], Float[Array, "n 2"]]:
    """One step of the flux-corrected transport (module doc) of the scalar channels (``rates[s]``
    moving by the unit ``offsets[s]``); ``shift(x, offset)`` moves x and returns the trace that left
    the grid per (axis, side). Returns varrho' and that lost trace."""
    lam = [dt * rates[s] for s in range(len(offsets))]
    low = rho
    for s, offset in enumerate(offsets):
        low = low - lam[s][..., None, None] * rho + shift(lam[s][..., None, None] * rho, offset)[0]
    slopes = _slopes(rho, offsets)
    corrections = []
    for s, offset in enumerate(offsets):
        axis = next(i for i, k in enumerate(offset) if k != 0)
        corrections.append((offset[axis] * lam[s] * (1 - lam[s]) / 2)[..., None, None] * slopes[axis])
    active = [(lam[s] > 0).astype(jnp.int32) for s in range(len(offsets))]
    touching = sum(a + _moved(a, o) for a, o in zip(active, offsets))
    part = low / jnp.maximum(touching, 1)[..., None, None]
    out, lost = rho, jnp.zeros((len(offsets[0]), 2), jnp.real(rho).dtype)
    for s, offset in enumerate(offsets):
        at_target = _moved(reach(part, _moved(corrections[s], offset)), tuple(-k for k in offset), fill=jnp.inf)
        alpha = jax.lax.stop_gradient(jnp.minimum(1.0, jnp.minimum(reach(part, -corrections[s]), at_target)))
        flux = lam[s][..., None, None] * rho + alpha[..., None, None] * corrections[s]
        moved, gone = shift(flux, offset)
        out, lost = out - flux + moved, lost + gone
    return out, lost


def _moved(x: Array, offset: tuple[int, ...], fill=0) -> Array:
    """x moved by the unit ``offset`` along the grid axes (``fill`` where nothing comes in)."""
    axis = next(i for i, k in enumerate(offset) if k != 0)
    n, k = x.shape[axis], offset[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 0) if k > 0 else (0, 1)
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, n) if k > 0 else slice(1, n + 1)
    return jnp.pad(x, pad, constant_values=fill)[tuple(index)]
