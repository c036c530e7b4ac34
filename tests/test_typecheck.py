"""The annotations are checked while the tests run (tests/conftest.py installs jaxtyping's import
hook with beartype for the engine's layers): a public function or method called with shapes its
annotation rules out is refused, naming the parameter, instead of computing with them."""

import os

import jax.numpy as jnp
import jaxtyping
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
