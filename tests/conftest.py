"""Tests run in float64 where precision matters: x64 is enabled for the session and every
engine array carries an explicit dtype, so float32 runs stay float32.

The engine's layers (models, operators, dynamics, spec, ensemble, master) are type-checked at
runtime while the tests run: jaxtyping's import hook wraps every function there in
``jaxtyped(typechecker=beartype)`` (tests/cqjax_typecheck.py: shapes such as ``Float[Array, " n"]``
checked, consistently across the arguments and the return value of a call; ints accepted where
``float`` is annotated; a module's ``__init__`` left to its own ``__check_init__``). It checks when
a function is called, so under ``jit`` at trace time only. Left out: cqjax.master.lattice (its
builders run on numpy and jax arrays alike but are annotated jax arrays; being rewritten:
``UNCHECKED`` in tests/cqjax_typecheck.py), and the host-side layers (analysis, io, front, plot,
inference), which take Python scalars, lists and numpy arrays where their annotations say arrays
(e.g. ``analysis.exact.diosi_p_moments(t=0.5)``, ``diosi_coherence(z_mean=[0.0, 0.0])`` against
``Float[ArrayLike, " T"]`` and ``" 2"``: their annotations need rewriting before they can be hooked).
``CQJAX_TYPECHECK=0`` turns it off.
"""

import os

import jax

if os.environ.get("CQJAX_TYPECHECK", "1") != "0":
    from jaxtyping import install_import_hook

    ENGINE = [f"cqjax.{layer}" for layer in ("models", "operators", "dynamics", "spec", "ensemble", "master")]
    install_import_hook(ENGINE, "cqjax_typecheck.check")  # beartype; tests/cqjax_typecheck.py

jax.config.update("jax_enable_x64", True)
