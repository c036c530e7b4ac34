"""JAX's Threefry normals, bit for bit, with the hash unrolled so that XLA fuses it.

``jax.random.bits`` and ``jax.random.normal`` with a Threefry key (JAX's default layout,
``jax_threefry_partitionable``) hash the 64-bit counter of every output word with Threefry-2x32 (20
rounds) and keep the XOR of the hash's two words. On the CPU, JAX lowers the hash as a rolled loop of
5 x 4 rounds, so every round group reads and writes whole arrays; written here as plain unrolled
elementwise operations, the hash, the uniform and the inverse error function compile to one fused
loop (no array in memory but the result). The numbers are exactly JAX's: the same counters, rounds,
uniform (the mantissa trick) and ``sqrt(2) erfinv(u)``; the tests compare them bit for bit. The
three-point and Rademacher increments keep ``jax.random.bits``: fused, XLA recomputes a word's hash for
each of the 2 or 32 fields cut from it, and whole three-point runs measured slower that way.

The other draws a step makes (``split``, ``uniform``, ``categorical``) are written out the same way, bit
for bit ``jax.random``'s with a Threefry key and ``jax.random`` itself with any other key: each
``jax.random`` call is one XLA loop of its own on the CPU (the jump step made 13 of them per kernel).

Threefry: J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11 (2011), sec. 4 (Threefry-2x32 with 20 rounds, the rotation constants of its Table 4).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jaxtyping import PRNGKeyArray

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA
_FLOATS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def applies(key: PRNGKeyArray, dtype) -> bool:
    """Whether ``normal`` reproduces ``jax.random.normal`` for this key and dtype: a typed Threefry key,
    JAX's default (partitionable) Threefry layout, and float32 or float64 (float64 with x64 on)."""
    if not is_threefry(key):
        return False
    if not jax.config.jax_threefry_partitionable:
        return False
    return np.dtype(dtype) == np.float32 or (np.dtype(dtype) == np.float64 and jax.config.read("jax_enable_x64"))


def is_threefry(key: PRNGKeyArray) -> bool:
    """Whether ``key`` is a typed key of JAX's Threefry-2x32 implementation."""
    return jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and str(jax.random.key_impl(key)) == "threefry2x32"


def fold_in(key: PRNGKeyArray, data) -> PRNGKeyArray:
    """``jax.random.fold_in(key, data)``, bit for bit, for a typed Threefry key and 32-bit ``data``:
    JAX hashes the counter words (0, data) under the key, and the two output words are the new key.
    Written out, it fuses with what surrounds it; JAX's lowering is a loop of its own per fold (one
    more XLA loop to compile each time). Other keys: ``jax.random.fold_in``."""
    if not is_threefry(key):
        return jax.random.fold_in(key, data)
    k = jax.random.key_data(key)
    d = jnp.asarray(data).astype(np.uint32)
    y0, y1 = hash2x32(k[..., 0], k[..., 1], jnp.zeros_like(d), d)
    return jax.random.wrap_key_data(jnp.stack([y0, y1], axis=-1), impl=jax.random.key_impl(key))


def _rotate_left(x: Array, d: int) -> Array:
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def hash2x32(k0: Array, k1: Array, x0: Array, x1: Array) -> tuple[Array, Array]:
    """Threefry-2x32 with 20 rounds of the counter words (x0, x1) under the key words (k0, k1)
    (uint32, broadcast together): the same arithmetic as JAX's ``threefry2x32`` primitive."""
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotate_left(x1, r)
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _words(key: PRNGKeyArray, shape: tuple[int, ...]) -> tuple[Array, Array]:
    """The two hash words of the counters 0 .. prod(shape) - 1 (row-major over ``shape``)."""
    n = math.prod(shape)
    if n >= 2**32:
        raise ValueError(f"at most 2^32 - 1 random words per key here, got {n}")
    k = jax.random.key_data(key)
    counts = lax.iota(np.uint32, n).reshape(shape)
    return hash2x32(k[0], k[1], jnp.zeros_like(counts), counts)


def _unit(key: PRNGKeyArray, shape: tuple[int, ...], dtype) -> Array:
    """``jax.random``'s floats in [0, 1): a 32- or 64-bit word per entry, its top mantissa bits under
    the exponent of 1, minus 1 (64-bit words: the first hash word high, as JAX's 64-bit draw)."""
    dtype = np.dtype(dtype)
    uint = _FLOATS[dtype]
    w0, w1 = _words(key, shape)
    if uint == np.uint64:
        word = (w0.astype(uint) << np.uint64(32)) | w1.astype(uint)
    else:
        word = w0 ^ w1
    nbits, nmant = 8 * dtype.itemsize, np.finfo(dtype).nmant
    one = np.array(1.0, dtype)
    mantissa = (word >> uint(nbits - nmant)) | one.view(uint)
    return lax.bitcast_convert_type(mantissa, dtype) - one


def normal(key: PRNGKeyArray, shape: tuple[int, ...], dtype) -> Array:
    """``jax.random.normal(key, shape, dtype)``, bit for bit: for a key where ``applies``, u uniform on
    [nextafter(-1, 0), 1) from the top mantissa bits, then sqrt(2) erfinv(u); else ``jax.random.normal``."""
    if not applies(key, dtype):
        return jax.random.normal(key, shape, dtype)
    dtype = np.dtype(dtype)
    one = np.array(1.0, dtype)
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = jnp.maximum(lo, _unit(key, shape, dtype) * (one - lo) + lo)
    return np.array(np.sqrt(2), dtype) * lax.erf_inv(u)


def split(key: PRNGKeyArray, n: int) -> PRNGKeyArray:
    """``jax.random.split(key, n)``, bit for bit: with a Threefry key (partitionable layout) key i is
    the hash of the counter words (0, i), as ``fold_in(key, i)``. Other keys: ``jax.random.split``."""
    if not (is_threefry(key) and jax.config.jax_threefry_partitionable):
        return jax.random.split(key, n)
    k = jax.random.key_data(key)
    counts = lax.iota(np.uint32, n)
    y0, y1 = hash2x32(k[..., 0], k[..., 1], jnp.zeros_like(counts), counts)
    return jax.random.wrap_key_data(jnp.stack([y0, y1], axis=-1), impl=jax.random.key_impl(key))


def uniform(key: PRNGKeyArray, shape: tuple[int, ...] = (), dtype=float, minval=0.0, maxval=1.0) -> Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``, bit for bit (max(minval, u (maxval -
    minval) + minval) of the unit floats); keys where ``applies`` does not hold: ``jax.random.uniform``."""
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    if not applies(key, dtype):
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    lo, hi = jnp.asarray(minval, dtype), jnp.asarray(maxval, dtype)
    return jnp.maximum(lo, _unit(key, shape, dtype) * (hi - lo) + lo)


def categorical(key: PRNGKeyArray, logits: Array) -> Array:
    """``jax.random.categorical(key, logits)`` for a vector of logits, bit for bit: the argmax of
    logits + Gumbel noise -log(-log(u)), u uniform on [tiny, 1) (JAX's default Gumbel mode)."""
    if not applies(key, logits.dtype):
        return jax.random.categorical(key, logits)
    tiny = np.finfo(logits.dtype).tiny
    gumbel = -jnp.log(-jnp.log(uniform(key, logits.shape, logits.dtype, tiny, 1.0)))
    return jnp.argmax(gumbel + logits, axis=-1)
