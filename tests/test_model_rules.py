"""Equinox's rule for models (a class is abstract or final; only abstract methods are overridden):
the optional methods have abstract bases, and a model that defines one without its base is refused
when the class is defined, not silently ignored by the engine."""

from typing import ClassVar

import jax.numpy as jnp
import pytest

import cqjax
from cqjax.models._base import extra_dissipators, reduced_planck
from cqjax.operators import pauli


def test_optional_method_without_its_base_is_refused_at_class_definition():
    with pytest.raises(TypeError, match="does not subclass cqjax.AbstractDissipativeModel"):

        class Forgetful(cqjax.AbstractDiagonalModel):  # noqa: F841
            positions: ClassVar[tuple[str, ...]] = ("q",)
            momenta: ClassVar[tuple[str, ...]] = ("p",)

            def energies(self, z):
                return jnp.stack([z[0], -z[0]])

            def noise(self, z):
                return jnp.array([[0.0], [1.0]])

            def operators(self):
                return pauli()

            def dissipators(self, z):
                return jnp.ones(1), pauli()["sz"][None]

    with pytest.raises(TypeError, match="does not subclass cqjax.AbstractPlanckModel"):

        class NoPlanck(cqjax.Diosi):  # noqa: F841
            def reduced_planck(self):
                return 2.0


def test_the_optional_methods_are_read_only_through_their_bases():
    z = jnp.zeros(2)
    assert extra_dissipators(cqjax.Diosi(), z) is None and reduced_planck(cqjax.Diosi()) == 1.0
    seed = cqjax.Seed000(hbar=0.5)
    rates, ops = extra_dissipators(seed, z)
    assert rates.shape == (1,) and ops.shape == (1, 2, 2) and reduced_planck(seed) == 0.5


def test_no_shipped_model_overrides_a_concrete_method():
    """Every method a shipped model class defines is abstract in some base it inherits from (or new)."""
    import inspect

    for name, cls in cqjax.models.MODELS.items():
        for attr, value in vars(cls).items():
            if attr.startswith("__") or not callable(value):
                continue
            for base in cls.__mro__[1:]:
                if attr in vars(base):
                    inherited = vars(base)[attr]
                    assert getattr(inherited, "__isabstractmethod__", False), (
                        f"{name}: {attr} overrides {base.__name__}"
                    )
                    break
    assert inspect.isabstract(cqjax.AbstractDissipativeModel)
