"""``jax.grad`` through the master equation (``solve_master`` and the front door ``cqjax.master``)
with respect to model parameters, against central finite differences in float64; a traced model
under ``jax.jit`` is refused. Small grids (16 x 16), the same shapes throughout (one compilation)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import RotatedDiosi, qubit

import cqjax
from cqjax import InitialState, solve_master
from cqjax.spec.histogram import HistogramSpec

PSI = qubit(0.7, 0.5)
EXTENT = {"q": (-3.0, 3.0), "p": (-5.0, 5.0)}
HIST = HistogramSpec(("p",), ((-4.0, 4.0, 8),))


def _solve(model, initial=None, cells=(16, 16), extent=EXTENT, **kw):
    initial = initial or InitialState(jnp.zeros(2), PSI)
    return solve_master(
        model, initial, t1=0.4, n_saves=2, cells=cells, extent=extent, dt=0.01, error_estimate=False, **kw
    )


def _output(model) -> jax.Array:
    """A scalar mixing a second moment at t1, a coherence at t1/2 and a histogram bin at t1."""
    r = _solve(model, observables=("p*p", "sx"), histogram=HIST)
    return r.mean["p*p"][-1] + 0.3 * r.mean["sx"][1] + r.histogram["density"][-1, 3, 0, 0].real


def _check_gradient(f, x0, h=1e-5, rtol=1e-5):
    grad = np.asarray(jax.grad(f)(jnp.asarray(x0)))
    for i in range(len(x0)):
        e = np.zeros(len(x0))
        e[i] = h
        fd = (float(f(jnp.asarray(x0 + e))) - float(f(jnp.asarray(x0 - e)))) / (2 * h)
        np.testing.assert_allclose(grad[i], fd, rtol=rtol, err_msg=f"parameter {i}")
    return grad


def _with(model, names):
    return lambda x: eqx.tree_at(lambda m: [getattr(m, k) for k in names], model, [x[i] for i in range(len(names))])


@pytest.mark.parametrize("cls", [cqjax.Diosi, RotatedDiosi], ids=["diagonal", "dense"])
def test_grad_of_diosi_outputs_matches_finite_differences(cls):
    """d/d(lam, sigma) of observables and a histogram bin: the lattice's Kraus operators, rates and
    step operators are jax expressions of the parameters (dense H: derivative of the matrix
    functions by divided differences)."""
    make = _with(cls(lam=jnp.asarray(0.8), sigma=jnp.asarray(1.1)), ("lam", "sigma"))
    grad = _check_gradient(lambda x: _output(make(x)), np.array([0.8, 1.1]))
    assert np.all(np.abs(grad) > 1e-3)  # both parameters matter


def test_grad_of_seed000_matches_finite_differences():
    """Seed 000 above the trade-off (gamma_c gamma_q > lam^2 / 16): the coupling lam and the extra
    decoherence gamma_q (a local Lindblad channel of the lattice)."""
    model = cqjax.Seed000(lam=jnp.asarray(-1.0), gamma_c=jnp.asarray(0.5), gamma_q=jnp.asarray(0.2))
    make = _with(model, ("lam", "gamma_q"))
    initial = InitialState(jnp.array([0.5, 0.0]), PSI, jnp.diag(jnp.array([0.04, 0.0])))
    extent = {"q": (-0.5, 1.5), "p": (-5.0, 5.0)}

    def f(x):
        r = _solve(make(x), initial, extent=extent, observables=("p*p", "sx"))
        return r.mean["sx"][-1] + 0.1 * r.mean["p*p"][-1]

    grad = _check_gradient(f, np.array([-1.0, 0.2]))
    assert np.all(np.abs(grad) > 1e-3)


def test_front_door_master_is_differentiable_and_agrees_with_solve_master():
    base = cqjax.Diosi(lam=jnp.asarray(0.8), sigma=jnp.asarray(1.1))

    def front(lam):
        m = cqjax.master(
            eqx.tree_at(lambda m: m.lam, base, lam),
            PSI,
            jnp.zeros(2),
            observables=["p*p", "sx"],
            histogram={"p": (-4.0, 4.0, 8)},
            t1=0.4,
            n_saves=2,
            cells=(16, 16),
            extent=EXTENT,
            dt=0.01,
            error_estimate=False,
            progress=False,
        )
        return m.mean["p*p"][-1]

    def engine(lam):
        r = _solve(eqx.tree_at(lambda m: m.lam, base, lam), observables=("p*p", "sx"), histogram=HIST)
        return r.mean["p*p"][-1]

    np.testing.assert_allclose(jax.grad(front)(0.8), jax.grad(engine)(0.8), rtol=1e-12)


def test_values_unchanged_and_refused_under_jit():
    """Without tracing the results are numpy arrays as before; under jax.jit the parameters have no
    values to build the grid from, and the solver says so."""
    model = cqjax.Diosi(lam=jnp.asarray(0.8), sigma=jnp.asarray(1.1))
    r = _solve(model, observables=("p*p", "sx"), histogram=HIST)
    assert isinstance(r.mean["p*p"], np.ndarray) and isinstance(r.trace, np.ndarray)
    with pytest.raises(ValueError, match="jax.grad outside jit"):
        jax.jit(lambda lam: _solve(eqx.tree_at(lambda m: m.lam, model, lam), observables=("p*p", "sx")).trace[-1])(0.8)
