"""What is read off the grid at every saved time, on the device: the trace, min_eig, observable
means and the marginal of varrho on the histogram's axes; on the host: the histogram bins, the
observables' bounds and the error envelope."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ..models._base import AbstractAbsorbingModel
from ..spec.histogram import HistogramSpec
from ..spec.observables import parse_observable
from ._traced import is_traced
from .grid import PhaseSpaceGrid


def _coordinate_factors(model, names, grid):
    """(name, f(z_c) on the grid cells, operator or None) for each observable linear in varrho;
    f includes the indicator of the cells outside the domain for a ``stopped`` factor."""
    pts = grid.mesh()
    for item in names:
        obs = parse_observable(item, model)
        name = obs.name  # results are keyed by name (an Observable passed in carries its own)
        if not obs.linear:  # purity, norm_error, products of expectations, functions: trajectories only
            continue
        # a factor ``stopped``: only the mass frozen in the cells outside the domain
        f = np.ones(pts.shape[:-1]) if obs.inside is None else outside_mask(model, grid, inside=obs.inside)
        for i in obs.coord_indices:
            f = f * pts[..., i]
        yield name, f, None if obs.operator is None else np.asarray(obs.operator, complex)


def outside_mask(model, grid: PhaseSpaceGrid, inverse: bool = False, inside=None) -> np.ndarray:
    """1.0 on the cells whose centre is outside an absorbing model's domain, else 0.0 (``inverse``:
    the other way round); all inside for a model without an absorbing rule. ``inside``: the domain
    to use instead of ``model.inside`` (a ``stopped[wall]`` factor's)."""
    if not isinstance(model, AbstractAbsorbingModel):
        inside = np.ones(grid.cells, bool)
    else:
        pts = grid.points(jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)
        rule = model.inside if inside is None else inside
        inside = np.asarray(jax.jit(jax.vmap(rule))(pts.reshape(-1, grid.ndim))).reshape(grid.cells)
    return inside.astype(float) if inverse else (~inside).astype(float)


class Readout(eqx.Module):
    """The observables as fields f_o(z_c) (O, *cells) and operators (O, d, d) (identity for a
    coordinate observable), and the grid axes a histogram keeps (sorted; empty: none)."""

    names: tuple[str, ...] = eqx.field(static=True)
    factors: Array
    operators: Array
    histogram_axes: tuple[int, ...] = eqx.field(static=True)

    @staticmethod
    def build(model, names, grid: PhaseSpaceGrid, d: int, histogram: HistogramSpec | None, dtype) -> Readout:
        rows = list(_coordinate_factors(model, names, grid))
        cdtype = jnp.result_type(dtype, jnp.complex64)
        factors = np.stack([f for _, f, _ in rows]) if rows else np.zeros((0, *grid.cells))
        ops = np.stack([np.eye(d) if op is None else op for _, _, op in rows]) if rows else np.zeros((0, d, d))
        axes = () if histogram is None else tuple(sorted(histogram.axes(model.coords)))
        return Readout(tuple(n for n, _, _ in rows), jnp.asarray(factors, dtype), jnp.asarray(ops, cdtype), axes)


@eqx.filter_jit
def read(readout: Readout, rho: Complex[Array, "*cells d d"]) -> dict[str, Array]:
    """At one saved time: ``trace`` (mass on the grid), ``min_eig`` (the smallest eigenvalue of a
    cell's varrho relative to the largest cell trace), ``means`` (O,): sum_c f_o(z_c) Tr(O_o
    varrho_c), and ``marginal``: varrho summed over the axes the histogram does not keep."""
    n = rho.ndim - 2
    tr = jnp.real(jnp.trace(rho, axis1=-2, axis2=-1))
    low = jnp.min(_smallest_eigenvalue(0.5 * (rho + jnp.conj(jnp.swapaxes(rho, -1, -2)))))
    weighted = jnp.einsum("o...,...ij->oij", readout.factors.astype(rho.dtype), rho)
    out = {
        "trace": jnp.sum(tr),
        "min_eig": low / jnp.maximum(jnp.max(tr), 1e-300),
        "means": jnp.real(jnp.einsum("oij,oji->o", readout.operators, weighted)),
    }
    if readout.histogram_axes:
        out["marginal"] = jnp.sum(rho, axis=tuple(a for a in range(n) if a not in readout.histogram_axes))
    return out


def _smallest_eigenvalue(herm: Array) -> Array:
    """Per cell, the smallest eigenvalue of Hermitian (..., d, d) matrices (closed form for d = 2:
    batched eigvalsh of tiny matrices costs more than the step on the CPU)."""
    if herm.shape[-1] == 2:
        a, d, b = jnp.real(herm[..., 0, 0]), jnp.real(herm[..., 1, 1]), herm[..., 0, 1]
        return 0.5 * (a + d) - jnp.sqrt(0.25 * (a - d) ** 2 + jnp.abs(b) ** 2)
    return jnp.min(jnp.linalg.eigvalsh(herm), axis=-1)


def observable_bounds(model, names, grid) -> dict[str, float]:
    """max over the grid of |f(z)| ||O||: what a unit of mass off the grid can change an observable by."""
    out = {}
    for name, f, op in _coordinate_factors(model, names, grid):
        norm = 1.0 if op is None else float(np.max(np.abs(np.linalg.eigvalsh(op))))
        out[name] = float(np.max(np.abs(f))) * norm
    return out


def _overlap(edges_bins: np.ndarray, grid: PhaseSpaceGrid, axis: int) -> np.ndarray:
    """W[bin, cell]: the fraction of each cell (uniform density inside it) that lies in each bin;
    a single-cell axis holds a point, which belongs to the bin containing it."""
    if grid.cells[axis] == 1:
        c = grid.centres(axis)[0]
        w = ((edges_bins[:-1] <= c) & (c < edges_bins[1:])).astype(float)
        return w[:, None]
    e = grid.edges(axis)
    lo = np.maximum(edges_bins[:-1, None], e[None, :-1])
    hi = np.minimum(edges_bins[1:, None], e[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(e)[None, :]


def project_histogram(
    marginal: Complex[np.ndarray | Array, "T *kept d d"],  # jax values when the solve is differentiated
    total: Float[np.ndarray | Array, " T"],
    grid: PhaseSpaceGrid,
    coords: tuple[str, ...],
    spec: HistogramSpec,
) -> dict[str, np.ndarray | Array]:
    """varrho averaged over the histogram's bins (the quantity an ensemble histogram estimates),
    from its ``marginal`` on the kept axes (in grid order) and the ``total`` mass on the grid."""
    xp = jnp if is_traced(marginal) else np  # jax values when the solve is differentiated
    axes = [coords.index(c) for c in spec.coords]
    kept = sorted(axes)
    binned = xp.transpose(marginal, (0, *(1 + kept.index(a) for a in axes), marginal.ndim - 2, marginal.ndim - 1))
    for k, (e, a) in enumerate(zip(spec.edges(), axes)):
        binned = xp.moveaxis(xp.tensordot(_overlap(e, grid, a), binned, axes=([1], [1 + k])), 0, 1 + k)
    inside = xp.real(xp.trace(binned, axis1=-2, axis2=-1)).reshape(binned.shape[0], -1).sum(-1)
    out = {"density": binned / spec.cell_volume, "coords": np.array(spec.coords), "outside": total - inside}
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out


def running_envelope(x: np.ndarray, n_axes: int) -> np.ndarray:
    """Max over each entry and its neighbours along the first ``n_axes`` axes (time, bins).

    A difference of two solutions can vanish where they cross while neither is exact there; the
    envelope keeps the error estimate of the surrounding entries."""
    out = x.copy()
    for axis in range(n_axes):
        n = x.shape[axis]
        if n < 2:
            continue
        lo = [slice(None)] * x.ndim
        hi = [slice(None)] * x.ndim
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        grown = out.copy()
        grown[tuple(lo)] = np.maximum(grown[tuple(lo)], out[tuple(hi)])
        grown[tuple(hi)] = np.maximum(grown[tuple(hi)], out[tuple(lo)])
        out = grown
    return out
