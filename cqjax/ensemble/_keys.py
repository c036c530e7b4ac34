"""Random keys per trajectory, independent of how trajectories are chunked, sharded or split over
processes: trajectory i draws its initial point from ``fold_in(k_i, 0)`` and its noise block b
from ``fold_in(fold_in(k_i, 1), b)``, where k_i = ``trajectory_key(key, i)`` (``jax.random.fold_in``'s
keys, computed by ``cqjax._threefry.fold_in`` for Threefry keys: written out, they fuse).

Indices are split into 32-bit words (hi, lo): k_i = ``fold_in(key, lo)`` when hi = 0 and
``fold_in(fold_in(key, lo), hi)`` otherwise, so indices up to ``MAX_INDEX`` never repeat a key
(``fold_in`` alone takes 32 bits: trajectory 2^32 + i would repeat trajectory i).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .._threefry import fold_in

MAX_INDEX = 2**62  # trajectory indices 0 .. MAX_INDEX - 1 have distinct keys


def trajectory_key(key: PRNGKeyArray, index) -> PRNGKeyArray:
    """The key of trajectory ``index``: a Python int below 2^62, or an integer array (indices
    below 2^32, e.g. ``jnp.arange(n)`` under ``vmap``)."""
    if isinstance(index, (int, np.integer)):
        if not 0 <= int(index) < MAX_INDEX:
            raise ValueError(f"trajectory index must be in 0..2^62 - 1, got {index}")
        return trajectory_key_words(key, *split_index(index))
    return fold_in(key, index)


def trajectory_key_words(key: PRNGKeyArray, hi, lo) -> PRNGKeyArray:
    """The key of trajectory hi * 2^32 + lo, from its two 32-bit words (uint32)."""
    low = fold_in(key, lo)
    return jnp.where(hi == 0, low, fold_in(low, hi))


def index_words(start_hi, start_lo, offsets):
    """The words (hi, lo) of indices start + offsets, start given by its words (uint32 scalars)
    and offsets (uint32) small enough not to wrap twice."""
    lo = start_lo + offsets.astype(jnp.uint32)  # wraps modulo 2^32
    return start_hi + (lo < start_lo).astype(jnp.uint32), lo


def split_index(index: int) -> tuple[np.uint32, np.uint32]:
    """(hi, lo) 32-bit words of a host-side index."""
    hi, lo = divmod(int(index), 2**32)
    return np.uint32(hi), np.uint32(lo)


def initial_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for sampling a trajectory's initial classical point."""
    return fold_in(traj_key, 0)


def noise_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for a trajectory's Wiener increments."""
    return fold_in(traj_key, 1)
