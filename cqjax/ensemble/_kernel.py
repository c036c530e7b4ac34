"""The device program of one chunk: trajectories start .. start + chunk - 1 sampled, integrated
by the vmapped single-trajectory step, and reduced at every saved time (``chunk_record``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..models._time import at_time
from ._keys import index_words, initial_key, noise_key, trajectory_key_words
from ._loop import has_boundary, make_loop_step, time_loop
from ._progress import on_save
from ._statistics import chunk_record, trajectory_weights


def chunk_kernel(
    model,
    observables,
    initial,
    key,
    start_hi,
    start_lo,
    offsets,
    n_valid,
    *,
    grid,
    unravelling,
    solver,
    dtype,
    n_samples,
    hist,
    hist_idx,
    mixed,
    pure,
    noise="gaussian",
    ticks=False,
    n_paths=0,
    path_stride=1,
):
    """Per-save reductions (leading axis: saved time) of the chunk whose first trajectory has the
    32-bit index words (start_hi, start_lo); ``offsets`` (chunk,) are 0 .. chunk - 1 (sharded over
    the devices: everything vmapped over them is), and offsets >= ``n_valid`` are padding that
    never enters the statistics. ``n_paths`` > 0: the chunk's first ``n_paths`` trajectories are
    also kept every ``path_stride`` steps (``path_z``, ``path_values``, ``path_weight``)."""
    hi, lo = index_words(start_hi, start_lo, offsets)
    tkeys = jax.vmap(trajectory_key_words, in_axes=(None, 0, 0))(key, hi, lo)
    z0, psi0 = jax.vmap(lambda k: initial.sample(initial_key(k), dtype, mixed))(tkeys)
    nkeys = jax.vmap(noise_key)(tkeys)
    m = unravelling.noise_dim(model, z0[0])
    one_step, one_view = make_loop_step(model, unravelling, solver, grid.dt)
    step, view = jax.vmap(one_step, in_axes=(0, 0, None)), jax.vmap(one_view)
    # draw is vmapped over trajectories; the scan wants the step axis first.
    draw = lambda b, length: jnp.swapaxes(
        jax.vmap(lambda k: unravelling.make_draw(k, m, dtype, noise)(b, length))(nkeys), 0, 1
    )
    record = lambda state, t: chunk_record(
        at_time(model, jnp.asarray(t, dtype)),
        observables,
        *state,
        offsets < n_valid,
        offsets,
        pure=pure,
        unravelled=unravelling.stochastic,
        n_samples=n_samples,
        hist=hist,
        hist_idx=hist_idx,
        mixed=mixed,
        boundary=has_boundary(model),
        weighted=unravelling.weighted,
    )
    tick = (lambda i: on_save(i, n_valid, grid.n_saves)) if ticks else None
    if not n_paths:
        _, records = time_loop(step, draw, (z0, psi0), grid, record, tick, view=view)
        return records
    path = lambda state: path_point(observables, *state, n_paths, unravelling.weighted)
    _, records, (pz, pv, pw) = time_loop(step, draw, (z0, psi0), grid, record, tick, path, path_stride, view)
    return dict(records, path_z=pz, path_values=pv, path_weight=pw)


def path_point(observables, z, psi, n_paths: int, weighted: bool):
    """The first ``n_paths`` trajectories at one time: z (N, n), the observables' conditional values
    O(z, rho / Tr rho) (N, k) and the weights (N,) (1 without weights)."""
    z, psi = z[:n_paths], psi[:n_paths]
    weight, state = trajectory_weights(psi, weighted)
    values = jnp.stack([jax.vmap(o)(z, state) for o in observables], axis=-1)
    return z, values.astype(z.dtype), weight.astype(z.dtype)
