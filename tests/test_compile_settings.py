"""The suite's compile settings (tests/conftest.py): tests compile without XLA's backend
optimisations, those marked ``optimized`` (and ``helpers.optimised()`` blocks) with them, and the
subprocesses they start inherit the setting through ``JAX_DISABLE_MOST_OPTIMIZATIONS``."""

import os

import jax
import pytest
from helpers import optimised

FAST = os.environ.get("CQJAX_TEST_FAST_COMPILE", "1") != "0"


def _unoptimised() -> bool:
    return jax.config.read("jax_disable_most_optimizations")


@pytest.mark.skipif(not FAST, reason="CQJAX_TEST_FAST_COMPILE=0 compiles every test with the optimisations")
def test_an_unmarked_test_compiles_without_optimisations_and_a_block_with_them():
    assert _unoptimised() and os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "1"
    with optimised():
        assert not _unoptimised() and os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "0"
    assert _unoptimised() and os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "1"


@pytest.mark.optimized
def test_a_marked_test_compiles_with_optimisations():
    assert not _unoptimised() and os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS", "0") == "0"
    with optimised():  # already on: unchanged, and still on after
        assert not _unoptimised()
    assert not _unoptimised()
