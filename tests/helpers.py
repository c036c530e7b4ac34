"""Shared test utilities."""

import jax
import jax.numpy as jnp
import numpy as np

import cqjax


def qubit(p0: float, phase: float = 0.0):
    """sqrt(p0)|0> + e^{i phase} sqrt(1 - p0)|1>."""
    return jnp.array([np.sqrt(p0), np.sqrt(1 - p0) * np.exp(1j * phase)], dtype=jnp.complex128)


def batch(model, z0, psi0, n, *, t1, dt, n_saves=1, seed=0, unravelling=None, solver=None):
    """n trajectories of ``cqjax.simulate`` (vmapped, jitted) with keys as in an ensemble run."""
    unravelling = unravelling or cqjax.Healed()
    solver = solver or cqjax.Kraus()
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(seed), i))(jnp.arange(n))
    run = jax.jit(jax.vmap(lambda k: cqjax.simulate(
        model, z0, psi0, k, t1=t1, dt=dt, n_saves=n_saves, unravelling=unravelling, solver=solver)))
    return run(keys)


def sz_of(psi):
    pr = np.abs(np.asarray(psi)) ** 2
    return (pr[..., 0] - pr[..., 1]) / pr.sum(-1)


def assert_close(value, exact, se, bias=0.0, k=5.0, what=""):
    """|value - exact| < k SE + bias, elementwise, with a readable message."""
    value, exact, se = np.broadcast_arrays(np.asarray(value, float), np.asarray(exact, float), np.asarray(se, float))
    dev = np.abs(value - exact)
    bound = k * se + bias
    worst = np.argmax(dev - bound)
    assert np.all(dev < bound), (
        f"{what}: |{value.flat[worst]:.6g} - {exact.flat[worst]:.6g}| = {dev.flat[worst]:.3g} "
        f">= {k} SE ({se.flat[worst]:.3g}) + bias {bias:.3g}"
    )
