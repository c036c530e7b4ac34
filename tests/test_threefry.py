"""The unrolled Threefry draw (cqjax/_threefry.py) gives jax.random's normals bit for bit.

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

from cqjax import _threefry
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


def test_fold_in_equals_jax_random_fold_in_bit_for_bit():
    """The trajectory, initial-point and noise-block keys (``fold_in``) are ``jax.random.fold_in``'s:
    one key and vmapped over keys and data, data 0, 1, 2^31 and 2^32 - 1 included; an rbg key passes
    through to ``jax.random.fold_in``; and a whole run's trajectory keys are unchanged."""
    keys = _keys(300)
    data = jnp.concatenate(
        [jnp.array([0, 1, 2**31, 2**32 - 1], jnp.uint32), jnp.arange(296, dtype=jnp.uint32) * 14_500_001]
    )
    ours = jax.jit(jax.vmap(_threefry.fold_in))(keys, data)
    theirs = jax.vmap(jax.random.fold_in)(keys, data)
    np.testing.assert_array_equal(np.asarray(jax.random.key_data(ours)), np.asarray(jax.random.key_data(theirs)))
    for d in (0, 7, 2**32 - 1):
        np.testing.assert_array_equal(
            np.asarray(jax.random.key_data(_threefry.fold_in(keys[4], d))),
            np.asarray(jax.random.key_data(jax.random.fold_in(keys[4], d))),
        )
    rbg = jax.random.key(5, impl="rbg")
    np.testing.assert_array_equal(
        np.asarray(jax.random.key_data(_threefry.fold_in(rbg, 3))),
        np.asarray(jax.random.key_data(jax.random.fold_in(rbg, 3))),
    )
    # trajectory 2^32 + 5 of a run: fold_in(fold_in(key, lo), hi), as jax.random computes it
    from cqjax.ensemble._keys import trajectory_key

    key = jax.random.key(11)
    expected = jax.random.fold_in(jax.random.fold_in(key, 5), 1)
    np.testing.assert_array_equal(
        np.asarray(jax.random.key_data(trajectory_key(key, 2**32 + 5))), np.asarray(jax.random.key_data(expected))
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_split_uniform_and_categorical_equal_jax_random_bit_for_bit(dtype):
    """The jump step's and the initial state's draws (``split``, ``uniform``, ``categorical``)
    written out: exactly jax.random's numbers for Threefry keys, vmapped as the kernels draw them;
    an rbg key goes to jax.random itself."""
    keys = _keys(301)
    logits = jnp.log(jnp.asarray([0.1, 0.5, 0.0, 0.2, 0.2], dtype))  # a zero weight is never picked
    pairs = (
        (lambda k: jax.random.key_data(_threefry.split(k, 3)), lambda k: jax.random.key_data(jax.random.split(k, 3))),
        (lambda k: _threefry.uniform(k, (), dtype), lambda k: jax.random.uniform(k, (), dtype)),
        (
            lambda k: _threefry.uniform(k, (4,), dtype, 1e-30, 1.0),
            lambda k: jax.random.uniform(k, (4,), dtype, 1e-30, 1.0),
        ),
        (lambda k: _threefry.categorical(k, logits), lambda k: jax.random.categorical(k, logits)),
    )
    for ours, theirs in pairs:
        np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(ours))(keys)), np.asarray(jax.vmap(theirs)(keys)))
    picks = np.asarray(jax.vmap(lambda k: _threefry.categorical(k, logits))(keys))
    assert 2 not in picks and set(picks) == {0, 1, 3, 4}
    rbg = _keys(1, "rbg")[0]
    np.testing.assert_array_equal(
        np.asarray(_threefry.uniform(rbg, (3,), dtype)), np.asarray(jax.random.uniform(rbg, (3,), dtype))
    )
    np.testing.assert_array_equal(
        np.asarray(jax.random.key_data(_threefry.split(rbg, 2))),
        np.asarray(jax.random.key_data(jax.random.split(rbg, 2))),
    )
