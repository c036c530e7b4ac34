"""Values that flow through jax and the concrete views that the grid's structural decisions read.

The master equation is differentiable with respect to the model's parameters: the lattice's
values (Kraus operators, rates, step operators) are jnp expressions of the model, while which
channels exist, the grid and the time step are decided from the concrete values. Under
``jax.grad``/``jax.jvp`` outside ``jax.jit`` a traced parameter still carries its value (the
primal), which ``concrete`` reads; under ``jax.jit`` or ``jax.vmap`` it does not, and the solver
refuses with a message.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

_TRACED = (
    "master: the model's parameters are abstract (traced by jax.jit or jax.vmap); the master equation needs "
    "their values to build its grid and step: differentiate it with jax.grad outside jit"
)


def is_traced(tree) -> bool:
    """Whether any leaf of ``tree`` is a jax tracer (the model is being differentiated)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(tree))


def concrete(x) -> np.ndarray:
    """The value of ``x`` as a numpy array, also when ``x`` is traced by jax.grad (its primal)."""
    if not isinstance(x, jax.core.Tracer):
        return np.asarray(x)
    try:
        return np.asarray(jax.lax.stop_gradient(x))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        raise ValueError(_TRACED) from None


def concrete_model(model):
    """``model`` with every traced leaf replaced by its value (itself when nothing is traced)."""
    if not is_traced(model):
        return model
    return jax.tree.map(lambda x: jnp.asarray(concrete(x)) if isinstance(x, jax.core.Tracer) else x, model)


def host(tree):
    """``tree`` on the host as numpy arrays, unless it is traced (then it stays a jax value)."""
    return tree if is_traced(tree) else jax.tree.map(np.asarray, jax.device_get(tree))


def safe_sqrt(x: Array) -> Array:
    """sqrt(x) for x >= 0 with a finite derivative (zero) where x = 0."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1.0)), 0.0)


def safe_abs(x: Array) -> Array:
    """|x| (complex x included) with a finite derivative (zero) where x = 0."""
    zero = x == 0
    return jnp.where(zero, 0.0, jnp.abs(jnp.where(zero, 1.0, x)))


@jax.custom_jvp
def eigvalsh(a: Array) -> Array:
    """Eigenvalues of Hermitian (..., d, d); derivative Re(v_k^dag da v_k), finite at degeneracies."""
    return jnp.linalg.eigvalsh(a)


@eigvalsh.defjvp
def _eigvalsh_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = jnp.linalg.eigh(a)
    return w, jnp.real(jnp.einsum("...ki,...kl,...li->...i", jnp.conj(v), da, v))


def _rebuild(v: Array, fw: Array) -> Array:
    return jnp.einsum("...ik,...k,...jk->...ij", v, fw, jnp.conj(v))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def hermitian_function(f, a: Array) -> Array:
    """f(a) = V f(w) V^dag for Hermitian a (..., d, d) and an elementwise f of the eigenvalues w.

    Derivative by the Daleckii-Krein formula, V (f[w_i, w_j] * V^dag da V) V^dag with the divided
    differences f[w_i, w_j] (f' at (nearly) equal eigenvalues): finite at degeneracies, where
    differentiating ``eigh`` is not."""
    w, v = jnp.linalg.eigh(a)
    return _rebuild(v, f(w))


@hermitian_function.defjvp
def _hermitian_function_jvp(f, primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = jnp.linalg.eigh(a)
    fw, dfw = jax.jvp(f, (w,), (jnp.ones_like(w),))
    diff = w[..., :, None] - w[..., None, :]
    scale = jnp.max(jnp.abs(w), axis=-1, keepdims=True)[..., None]
    close = jnp.abs(diff) <= 1e-8 * (1.0 + scale)
    divided = jnp.where(
        close,
        0.5 * (dfw[..., :, None] + dfw[..., None, :]),
        (fw[..., :, None] - fw[..., None, :]) / jnp.where(close, 1.0, diff),
    )
    vh = jnp.conj(jnp.swapaxes(v, -1, -2))
    inner = divided * (vh @ da.astype(v.dtype) @ v)
    return _rebuild(v, fw), v @ inner @ vh
