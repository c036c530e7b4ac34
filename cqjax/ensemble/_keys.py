"""Random keys per trajectory, independent of how trajectories are chunked: trajectory i draws
its initial point from ``fold_in(fold_in(key, i), 0)`` and its noise block b from
``fold_in(fold_in(fold_in(key, i), 1), b)``.
"""

from __future__ import annotations

import jax
from jaxtyping import PRNGKeyArray


def trajectory_key(key: PRNGKeyArray, index) -> PRNGKeyArray:
    """The key of trajectory ``index``: independent of how trajectories are chunked."""
    return jax.random.fold_in(key, index)


def initial_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for sampling a trajectory's initial classical point."""
    return jax.random.fold_in(traj_key, 0)


def noise_key(traj_key: PRNGKeyArray) -> PRNGKeyArray:
    """Key for a trajectory's Wiener increments."""
    return jax.random.fold_in(traj_key, 1)
