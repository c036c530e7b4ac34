"""What the one-call entry points accept, turned into the engine's objects: quantum states from
arrays, QuTiP ``Qobj`` (``.full()``) or anything with ``__array__``; a classical point or a
Gaussian; observables as names, operators or functions; saved times; histogram bins."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..dynamics._choice import SOLVERS, UNRAVELLINGS
from ..models._base import AbstractModel
from ..operators._pauli import PauliString
from ..spec.histogram import HistogramSpec
from ..spec.initial import InitialState, MixtureState
from ..spec.observables import Observable


def as_array(x, field: str) -> np.ndarray:
    """A numpy array from an array, a ``Qobj``-like object (``.full()``) or anything with ``__array__``."""
    full = getattr(x, "full", None)
    try:
        return np.asarray(full() if callable(full) else x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{field}: cannot convert {type(x).__name__} to an array: {err}") from None


def model_dim(model: AbstractModel) -> int:
    if not isinstance(model, AbstractModel):
        raise ValueError(
            f"model: {type(model).__name__} is not a cqjax.AbstractModel (a finite-state model runs with "
            "cqjax.run_finite / cqjax.solve_finite / cqjax.compare_finite or its config)"
        )
    return int(jax.eval_shape(model.hamiltonian, jnp.zeros(model.n_coords)).shape[-1])


class Mixture:
    """A correlated initial CQ state for ``run``/``master``/``compare`` (pass it as ``z0``, with
    ``state0=None``): components ``(weight, state0, z0)``, varrho(z, 0) = sum_k w_k N(z; z0_k) rho_k;
    weights positive, normalised by their sum. Example: ``Mixture([(0.5, ket0, (-1.0, 0.0)),
    (0.5, ket1, (1.0, 0.0))])`` puts |0> at q = -1 and |1> at q = +1 (not a product state)."""

    def __init__(self, components: Sequence[tuple]):
        self.components = list(components)
        if not self.components or not all(isinstance(c, tuple) and len(c) == 3 for c in self.components):
            raise ValueError("Mixture: expected a non-empty list of (weight, state0, z0) tuples")

    def __repr__(self) -> str:
        return f"Mixture({len(self.components)} components)"


def initial_state(model: AbstractModel, state0, z0) -> InitialState | MixtureState:
    """``state0``: a state vector (d,), a ket (d, 1) or bra (1, d), or a density matrix (d, d)
    (Hermitian, positive, normalised to trace one); ``z0``: a point (n,) or a Gaussian ``(mean, cov)``;
    or ``z0`` a ``Mixture`` of such pairs (then ``state0`` is None)."""
    if isinstance(z0, Mixture):
        if state0 is not None:
            raise ValueError("state0: give None when z0 is a Mixture (each component holds its own state)")
        comps = []
        for k, (_w, s, z) in enumerate(z0.components):
            try:
                comps.append(initial_state(model, s, z))
            except ValueError as err:
                raise ValueError(f"z0 component {k}: {err}") from None
        return MixtureState(comps, [w for w, _, _ in z0.components])
    d, n = model_dim(model), model.n_coords
    state = as_array(state0, "state0").astype(complex)
    if state.ndim == 2 and 1 in state.shape and state.shape != (1, 1) and d != 1:
        state = state.reshape(-1)  # a ket (d, 1) or a bra (1, d)
    if state.shape not in ((d,), (d, d)):
        raise ValueError(f"state0: expected a state vector ({d},) or a density matrix ({d}, {d}), got {state.shape}")
    if not np.all(np.isfinite(state)):
        raise ValueError("state0: not finite")
    psi = rho = None
    if state.ndim == 1:
        norm = np.linalg.norm(state)
        if norm < 1e-12:
            raise ValueError("state0: the state vector cannot be normalised (norm 0)")
        psi = state / norm
    else:
        if np.abs(state - state.conj().T).max() > 1e-9 * max(1.0, np.abs(state).max()):
            raise ValueError("state0: the density matrix is not Hermitian")
        tr = np.trace(state).real
        if not tr > 0 or np.linalg.eigvalsh(state / tr).min() < -1e-9:
            raise ValueError("state0: the density matrix is not positive semi-definite with a positive trace")
        rho = state / tr
    mean, cov = _point(z0, n)
    return InitialState(
        z_mean=jnp.asarray(mean),
        psi=None if psi is None else jnp.asarray(psi),
        z_cov=None if cov is None else jnp.asarray(cov),
        rho=None if rho is None else jnp.asarray(rho),
    )


def _point(z0, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(mean, covariance or None) from a point (n,) or a pair (mean (n,), cov (n, n))."""
    if isinstance(z0, tuple) and len(z0) == 2 and np.ndim(z0[1]) == 2:
        mean, cov = np.asarray(z0[0], float), np.asarray(z0[1], float)
    else:
        mean, cov = np.asarray(z0, float), None
    if mean.shape != (n,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"z0: expected a finite point of shape ({n},) or (mean, cov), got {mean.shape}")
    if cov is not None:
        if cov.shape != (n, n) or not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T):
            raise ValueError(f"z0: the covariance must be a finite symmetric ({n}, {n}) matrix")
        if np.linalg.eigvalsh(cov).min() < -1e-12 * max(1.0, np.abs(cov).max()):
            raise ValueError("z0: the covariance must be positive semi-definite")
    return mean, cov


def observables(items, trajectories: bool) -> tuple:
    """Names stay names; an operator (array, ``Qobj``, ``PauliString``) or a function f(z, rho)
    becomes an ``Observable``. A mapping {name: item} names them; unnamed operators are ``O0``,
    ``O1``, ...; a function is named by its ``__name__`` (a lambda: ``f0``, ...)."""
    if isinstance(items, (str, Observable)) or not isinstance(items, (Sequence, Mapping)):
        items = [items]
    pairs = list(items.items()) if isinstance(items, Mapping) else [(None, item) for item in items]
    out, names = [], set()
    for i, (name, item) in enumerate(pairs):
        obs = _observable(name, item, i, trajectories)
        label = obs if isinstance(obs, str) else obs.name
        if label in names:
            raise ValueError(f"observables: {label!r} appears twice")
        names.add(label)
        out.append(obs)
    if not out:
        raise ValueError("observables: give at least one observable")
    return tuple(out)


def _observable(name, item, i: int, trajectories: bool):
    if isinstance(item, (str, Observable)):
        if name is not None and name != (item if isinstance(item, str) else item.name):
            raise ValueError(f"observables: {name!r}: a name maps to an operator or a function, not to {item!r}")
        return item
    if isinstance(item, PauliString):
        return Observable.of_operator(name or item.labels, item)
    if callable(item) and not hasattr(item, "full") and not hasattr(item, "__array__"):
        if not trajectories:
            raise ValueError(
                f"observables: {name or getattr(item, '__name__', 'a function')!r} is a function f(z, rho), evaluated "
                "on trajectories only; the master equation takes observable names and operators"
            )
        fname = getattr(item, "__name__", "<lambda>")
        return Observable.of_function(name or (fname if fname != "<lambda>" else f"f{i}"), item)
    return Observable.of_operator(name or f"O{i}", as_array(item, "observables"))


def times(t1, tsave, n_saves) -> tuple[float, int]:
    """(t1, n_saves) from ``t1`` (and ``n_saves``) or from ``tsave``: evenly spaced times from 0."""
    if (t1 is None) == (tsave is None):
        raise ValueError("t1, tsave: give exactly one (the final time, or the saved times 0, ..., t1)")
    if tsave is None:
        return float(t1), n_saves
    ts = np.asarray(tsave, float)
    if ts.ndim != 1 or ts.size < 2 or ts[0] != 0 or not np.all(np.isfinite(ts)):
        raise ValueError("tsave: expected finite saved times 0 = t_0 < t_1 < ... (at least two)")
    if not np.allclose(np.diff(ts), ts[-1] / (ts.size - 1), rtol=1e-9, atol=0):
        raise ValueError("tsave: the saved times must be evenly spaced from 0 (the engine saves every t1/n_saves)")
    if n_saves is not None and n_saves != ts.size - 1:
        raise ValueError(f"n_saves: {n_saves} does not match tsave ({ts.size - 1} intervals)")
    return float(ts[-1]), ts.size - 1


def default_saves(t1: float, dt: float) -> int:
    """The largest divisor of the number of steps up to 100."""
    steps = max(1, round(t1 / dt))
    return max(k for k in range(1, min(100, steps) + 1) if steps % k == 0)


def histogram(spec) -> HistogramSpec | None:
    """``None``, a ``HistogramSpec`` or {coordinate: (lo, hi, bins)} for one or two coordinates."""
    if spec is None or isinstance(spec, HistogramSpec):
        return spec
    if not isinstance(spec, Mapping) or not 1 <= len(spec) <= 2:
        raise ValueError("histogram: give {coordinate: (lo, hi, bins)} for one or two coordinates")
    bins = []
    for c, b in spec.items():
        if len(b) != 3 or not float(b[1]) > float(b[0]) or int(b[2]) != b[2] or b[2] < 1:
            raise ValueError(f"histogram: {c!r}: expected (lo, hi, bins) with lo < hi and bins >= 1, got {b!r}")
        bins.append((float(b[0]), float(b[1]), int(b[2])))
    return HistogramSpec(tuple(spec), tuple(bins))


def method(kind: str, value, table: Mapping[str, type]):
    """An unravelling or a solver from its name (as in a config) or as an instance."""
    if isinstance(value, str):
        if value not in table:
            raise ValueError(f"{kind}: unknown {value!r}; choose from {sorted(table)}")
        return table[value]()
    return value


def unravelling(value):
    return method("unravelling", value, UNRAVELLINGS)


def solver(value):
    return method("method", value, SOLVERS)


Observables = Sequence[str | Observable | Callable] | Mapping[str, object]
