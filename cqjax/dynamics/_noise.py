"""The increments xi of dW = xi sqrt(dt): Gaussian, or cheaper moment-matched variables from random bits.

Weak (ensemble-statistics) convergence needs only moments of the increments, not their law
(Kloeden & Platen, "Numerical Solution of Stochastic Differential Equations", sec. 14.1-14.2):
order 1 needs E xi = E xi^3 = 0 and E xi^2 = 1, which the two-point (Rademacher) variable
+-1 already has; order 2 needs in addition E xi^4 = 3 and E xi^5 = 0, which the three-point
variable +-sqrt(3) (probability 1/6 each), 0 (probability 2/3) has. Neither needs a normal's
inverse error function, and the Rademacher variable takes one random bit.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import PRNGKeyArray

from .. import _threefry
from ..errors import InputError

NOISES = ("gaussian", "three-point", "rademacher")
PRNGS = ("threefry", "rbg")
_IMPLS = {"threefry": "threefry2x32", "rbg": "rbg"}  # run.prng -> jax.random.key(..., impl=)

# three-point from 16 bits: P(xi = -a) = P(xi = +a) = p = round(2^16 / 6) / 2^16 = 1/6 + 5e-6, the amplitude
# a = 1 / sqrt(2 p) = sqrt(3) (1 - 1.5e-5) keeps E xi^2 = 1 exact; E xi^4 = 1 / (2 p) = 3 (1 - 3e-5)
_SIXTH = round(2**16 / 6)
_AMPLITUDE = math.sqrt(2**15 / _SIXTH)


def check_noise(noise: str) -> str:
    """``noise`` if it is one of NOISES; an InputError naming ``noise`` otherwise."""
    if noise not in NOISES:
        raise InputError("noise", f"must be one of {list(NOISES)}, got {noise!r}")
    return noise


def check_prng(prng: str) -> str:
    """``prng`` if it is one of PRNGS; an InputError naming ``prng`` otherwise."""
    if prng not in PRNGS:
        raise InputError("prng", f"must be one of {list(PRNGS)}, got {prng!r}")
    return prng


def prng_impl(prng: str) -> str:
    """The ``jax.random.key`` implementation of ``run.prng`` (checked): threefry2x32 or rbg."""
    return _IMPLS[check_prng(prng)]


def increments(key: PRNGKeyArray, shape: tuple[int, ...], dtype, noise: str = "gaussian") -> Array:
    """Independent increments with mean 0 and variance 1, of the kind ``noise``.

    ``"gaussian"``: N(0, 1). ``"three-point"``: -sqrt(3), 0, +sqrt(3) with probabilities
    1/6, 2/3, 1/6, from 16 random bits compared with two thresholds (two increments per 32-bit
    word; the 16-bit probabilities and amplitude are exact to 3e-5, the variance exactly 1).
    ``"rademacher"``: -1, +1 with probability 1/2 each, one random bit per increment.

    The numbers are ``jax.random``'s (``normal``, ``bits``) for the same key; with a Threefry key the
    Gaussian ones are computed, bit for bit the same, by ``_threefry``'s unrolled hash, which XLA fuses
    with the inverse error function (a float32 normal about 2x cheaper on the CPU, BENCHMARKS.md).
    """
    check_noise(noise)
    if noise == "gaussian":
        return _threefry.normal(key, shape, dtype)  # jax.random.normal's numbers, fused for Threefry keys
    n = math.prod(shape)
    if noise == "three-point":
        u = _fields(key, n, 16)
        a = jnp.asarray(_AMPLITUDE, dtype)
        xi = jnp.where(u < _SIXTH, -a, jnp.where(u >= 2**16 - _SIXTH, a, jnp.zeros((), dtype)))
    else:
        xi = 1 - 2 * _fields(key, n, 1).astype(dtype)
    return xi.reshape(shape)


def _fields(key: PRNGKeyArray, n: int, width: int) -> Array:
    """n independent uniform ``width``-bit integers (uint32), 32 / width of them per random 32-bit word."""
    per_word = 32 // width
    words = jax.random.bits(key, (-(-n // per_word),), jnp.uint32)
    shifts = jnp.arange(0, 32, width, dtype=jnp.uint32)
    return ((words[:, None] >> shifts) & jnp.uint32(2**width - 1)).reshape(-1)[:n]
