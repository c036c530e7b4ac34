"""Shared test utilities."""

import contextlib
import json
import os
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

import cqjax
from cqjax import pauli


def qubit(p0: float, phase: float = 0.0):
    """sqrt(p0)|0> + e^{i phase} sqrt(1 - p0)|1>."""
    return jnp.array([np.sqrt(p0), np.sqrt(1 - p0) * np.exp(1j * phase)], dtype=jnp.complex128)


def batch(model, z0, psi0, n, *, t1, dt, n_saves=1, seed=0, unravelling=None, solver=None, noise="gaussian"):
    """n trajectories of ``cqjax.simulate`` (vmapped, jitted) with keys as in an ensemble run."""
    unravelling = unravelling or cqjax.Healed()
    solver = solver or cqjax.Kraus()
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(seed), i))(jnp.arange(n))
    run = jax.jit(
        jax.vmap(
            lambda k: cqjax.simulate(
                model, z0, psi0, k, t1=t1, dt=dt, n_saves=n_saves, unravelling=unravelling, solver=solver, noise=noise
            )
        )
    )
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


HADAMARD = jnp.array([[1, 1], [1, -1]], dtype=jnp.complex128) / np.sqrt(2)


class RotatedDiosi(cqjax.AbstractModel):
    """The Diosi model written as a dense, non-diagonal H(z) = U H_diosi U^dag."""

    m: float = 1.0
    lam: float = 1.0
    phi: float = 2.0
    sigma: float = 1.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def hamiltonian(self, z):
        q, p = z[0], z[1]
        sz = pauli()["sz"].astype(jnp.complex128)
        h = p**2 / (2 * self.m) * jnp.eye(2) + (2 * self.lam * q + self.phi) * sz
        return HADAMARD @ h @ HADAMARD.conj().T

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], dtype=z.dtype) * self.sigma

    def operators(self):
        return {k: HADAMARD @ v.astype(jnp.complex128) @ HADAMARD.conj().T for k, v in pauli().items()}


# Configs for the CLI tests: a Diosi run with every section.
OBSERVABLES = ["q", "p", "p*p", "sz", "sx", "p*sz", "purity", "norm_error"]


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def toml_text(raw: dict) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for section, table in raw.items():
        if isinstance(table, dict):
            lines.append(f"\n[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def config_dict(**sections) -> dict:
    raw = {
        "model": "diosi",
        "params": {"m": 1.0, "lam": 1.0, "phi": 2.0, "sigma": 1.0},
        "initial": {"z_mean": [0.0, 0.0], "psi": "plus"},
        "run": {"t1": 0.2, "dt": 0.01, "trajectories": 500, "n_saves": 4, "seed": 7, "samples": 3},
        "observables": {"names": list(OBSERVABLES)},
        "histogram": {"coords": ["p"], "bins": [[-3.0, 3.0, 12]]},
    }
    for key, value in sections.items():
        if value is None:
            raw.pop(key, None)
        elif isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


# A model that becomes NaN: no absorbing rule at q = 0.
class RootModel(cqjax.AbstractDiagonalModel):
    """H = p^2/2 + sqrt(q) sz with sigma = 0.5/sqrt(q): undefined once q < 0."""

    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        return jnp.stack([z[1] ** 2 / 2 + jnp.sqrt(z[0]), z[1] ** 2 / 2 - jnp.sqrt(z[0])])

    def noise(self, z):
        return jnp.stack([jnp.zeros(()), 0.5 / jnp.sqrt(z[0])])[:, None].astype(z.dtype)

    def operators(self):
        return pauli()


def run_notebook(name: str) -> dict:
    """Execute notebooks/NAME's code cells top to bottom in one namespace (matplotlib on Agg); the
    namespace."""
    import matplotlib

    matplotlib.use("Agg")
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / name).read_text())
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{name}", "exec"), namespace)
    return namespace


@contextlib.contextmanager
def optimised():
    """XLA's backend optimisations on for what compiles inside, here and in the subprocesses started
    (tests/conftest.py compiles without them): for a long run, e.g. a module fixture's. Tests and
    modules marked ``optimized`` get it from conftest."""
    if not jax.config.read("jax_disable_most_optimizations"):
        yield
        return
    env = os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS")
    jax.config.update("jax_disable_most_optimizations", False)
    os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "0"
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", True)
        if env is None:
            os.environ.pop("JAX_DISABLE_MOST_OPTIMIZATIONS", None)
        else:
            os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = env
