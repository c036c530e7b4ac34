"""The unrolled Threefry draw (cqjax/dynamics/_threefry.py) gives jax.random's normals bit for bit.

The Gaussian increments, with a Threefry key, are computed by cqjax's own unrolled hash (which XLA fuses
on the CPU) instead of ``jax.random``; the numbers must be exactly ``jax.random.normal`` of the same key:
float32 and float64, one key and vmapped over keys as the runner draws, odd sizes, and the rbg key (which
keeps ``jax.random``) unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cqjax.dynamics import _threefry
from cqjax.dynamics._noise import increments


def _keys(n, impl="threefry2x32"):
    return jax.random.split(jax.random.key(5, impl=impl), n)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("shape", [(7, 3), (64, 1)])
def test_normal_equals_jax_random_normal_bit_for_bit(dtype, shape):
    keys = _keys(257)
    assert _threefry.applies(keys[0], dtype)
    ours = jax.jit(jax.vmap(lambda k: _threefry.normal(k, shape, dtype)))(keys)
    theirs = jax.jit(jax.vmap(lambda k: jax.random.normal(k, shape, dtype)))(keys)
    assert ours.dtype == theirs.dtype == dtype and ours.shape == (257, *shape)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    # unbatched as well (one trajectory's draw in ``simulate``)
    np.testing.assert_array_equal(np.asarray(_threefry.normal(keys[3], shape, dtype)), np.asarray(theirs[3]))


def _draws(keys, fn):
    return np.asarray(jax.vmap(fn)(keys))


def test_gaussian_increments_equal_the_jax_random_draw():
    """The runner's Gaussian increments (``increments`` vmapped over keys) against the same function with
    the unrolled hash switched off (``jax.random.normal``)."""
    keys = _keys(129)
    ours = _draws(keys, lambda k: increments(k, (50, 2), jnp.float32))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_threefry, "applies", lambda key, dtype: False)
        theirs = _draws(keys, lambda k: increments(k, (50, 2), jnp.float32))
    np.testing.assert_array_equal(ours, theirs)
    assert np.all(np.isfinite(ours)) and abs(float(ours.mean())) < 0.05 and abs(float(ours.std()) - 1) < 0.05


def test_other_keys_keep_jax_random():
    assert not _threefry.applies(_keys(1, "rbg")[0], jnp.float32)
    assert not _threefry.applies(jax.random.PRNGKey(0), jnp.float32)  # raw uint32 key data: jax.random as before
    assert not _threefry.applies(_keys(1)[0], jnp.float16)
    key = _keys(1, "rbg")[0]
    np.testing.assert_array_equal(
        np.asarray(increments(key, (8, 1), jnp.float32)), np.asarray(jax.random.normal(key, (8, 1), jnp.float32))
    )
