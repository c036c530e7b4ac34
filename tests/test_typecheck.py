"""The annotations are checked while the tests run (tests/conftest.py installs jaxtyping's import
hook with beartype for the engine's layers, ensemble and master included): a public
function or method called with shapes or types its annotation rules out is refused, naming the
parameter, instead of computing with them."""

import os

import jax
import jax.numpy as jnp
import jaxtyping
import numpy as np
import pytest

import cqjax

pytestmark = pytest.mark.skipif(
    os.environ.get("CQJAX_TYPECHECK", "1") == "0", reason="runtime type checks turned off (CQJAX_TYPECHECK=0)"
)


def test_a_point_of_the_wrong_shape_is_refused():
    model = cqjax.Diosi()
    assert model.energies(jnp.zeros(2)).shape == (2,)  # z: Float[Array, " 2"]
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'z'"):
        model.energies(jnp.zeros(3))
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'z'"):
        model.energies(jnp.zeros(2, jnp.int32))  # not a float array


def test_shapes_that_disagree_between_arguments_are_refused():
    from cqjax.operators._ops import dissipator

    L, rho = jnp.eye(2, dtype=complex), jnp.eye(2, dtype=complex) / 2
    assert dissipator(L, rho).shape == (2, 2)
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'rho'"):  # d = 2 for L, 3 for rho
        dissipator(L, jnp.eye(3, dtype=complex) / 3)


def test_the_ensemble_layer_is_checked():
    """Refused at cqjax.ensemble's door (unhooked, the calls fail deeper: parameter 'z' of the
    model's noise, 'state' of the solver's step)."""
    kw = dict(t1=0.1, dt=0.05, n_saves=1, unravelling=cqjax.Healed(), solver=cqjax.Kraus())
    psi0, key = jnp.array([1.0, 0.0], complex), jax.random.key(0)
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'z0'"):  # z0: Float[Array, " n"]
        cqjax.simulate(cqjax.Diosi(), jnp.zeros((2, 2)), psi0, key, **kw)
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'psi0'"):  # a state (d,) or (d, d)
        cqjax.simulate(cqjax.Diosi(), jnp.zeros(2), jnp.ones((2, 2, 2), complex), key, **kw)


def test_the_master_layer_is_checked():
    """Refused at cqjax.master's door (unhooked: an AttributeError on ``initial.z_mean``)."""
    with pytest.raises(jaxtyping.TypeCheckError, match="parameter 'initial'"):  # an InitialState
        cqjax.solve_master(cqjax.Diosi(), np.array([1.0, 0.0]), t1=0.1, n_saves=1)
