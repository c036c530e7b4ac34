"""Tests run in float64 where precision matters: x64 is enabled for the session and every
engine array carries an explicit dtype, so float32 runs stay float32.

The engine's layers (models, operators, dynamics, spec, ensemble, master) are type-checked at
runtime while the tests run: jaxtyping's import hook wraps every function there in
``jaxtyped(typechecker=beartype)`` (tests/cqjax_typecheck.py: shapes such as ``Float[Array, " n"]``
checked, consistently across the arguments and the return value of a call; ints accepted where
``float`` is annotated; a module's ``__init__`` left to its own ``__check_init__``). It checks when
a function is called, so under ``jit`` at trace time only. Left out: the host-side layers (analysis, io, front, plot,
inference), which take Python scalars, lists and numpy arrays where their annotations say arrays
(e.g. ``analysis.exact.diosi_p_moments(t=0.5)``, ``diosi_coherence(z_mean=[0.0, 0.0])`` against
``Float[ArrayLike, " T"]`` and ``" 2"``: their annotations need rewriting before they can be hooked).
``CQJAX_TYPECHECK=0`` turns it off.

The suite is bound by XLA compilation: about two thirds of a file's CPU time is XLA's backend
compiling a few large kernels per test (chunk kernels of 2-9 s each). So the tests compile with two
XLA CPU flags that make the code generator cheaper, not the program different: the same HLO, no fast
math. ``--xla_llvm_disable_expensive_passes=true`` leaves out LLVM's vectorizers and unrolling;
``--xla_cpu_use_fusion_emitters=false`` emits each fused loop with XLA's elemental IR emitter instead
of its MLIR fusion emitters: a third to a half less compile time per chunk kernel, while the compiled
code runs between 15 % faster and 30 % slower depending on the kernel. Elementwise functions give
the same bits either way (exp, log, erfinv, ... checked); a reduction may be summed in another order,
so results can differ in the last bits from users' runs, which keep XLA's defaults, as do the
benchmark scripts (BENCHMARKS.md, "Test suite wall time, seventh session").

Most tests run a kernel for a few steps, so they also compile without XLA's backend optimisations
(``jax_disable_most_optimizations``: LLVM at level 0; the same HLO): a tiny run's compile takes about
a third less CPU, while long runs execute up to 4x slower. A test or module marked ``optimized`` (a
long run, or bits compared with a subprocess compiled as users' runs are) compiles with them, here
and in the subprocesses it starts (BENCHMARKS.md, "Test suite wall time, ninth session").

The flags reach the ``python -m cqjax`` subprocesses through the environment; ``CQJAX_TEST_FAST_COMPILE=0``
leaves ``XLA_FLAGS`` as it is and compiles everything with XLA's optimisations.
"""

import contextlib
import os
import subprocess
import sys

_FAST_COMPILE = ("--xla_llvm_disable_expensive_passes=true", "--xla_cpu_use_fusion_emitters=false")


def _fast_compile_flags() -> None:
    """Append the compile-time XLA flags to ``XLA_FLAGS`` before jax starts its backend; the
    subprocesses the tests start inherit them. XLA aborts a process on a flag it does not know, so
    they are tried once in a subprocess (a jaxlib that refuses them runs the suite with XLA's defaults)."""
    flags = [f for f in _FAST_COMPILE if f not in os.environ.get("XLA_FLAGS", "")]
    if not flags or os.environ.get("CQJAX_TEST_FAST_COMPILE", "1") == "0":
        return
    env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} {' '.join(flags)}".strip())
    probe = [sys.executable, "-c", "import jax; jax.devices('cpu')"]
    if subprocess.run(probe, env=env, capture_output=True, timeout=120).returncode == 0:
        os.environ["XLA_FLAGS"] = env["XLA_FLAGS"]
    else:
        print(f"tests/conftest.py: this jaxlib does not take {flags}; the tests compile with XLA's defaults")


_fast_compile_flags()
if os.environ.get("CQJAX_TEST_FAST_COMPILE", "1") != "0":  # read by jax when it starts, here and in subprocesses
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

if os.environ.get("CQJAX_TYPECHECK", "1") != "0":
    from jaxtyping import install_import_hook

    ENGINE = [f"cqjax.{layer}" for layer in ("models", "operators", "dynamics", "spec", "ensemble", "master")]
    install_import_hook(ENGINE, "cqjax_typecheck.check")  # beartype; tests/cqjax_typecheck.py

jax.config.update("jax_enable_x64", True)


# ---- Test speed: the longest files first ----------------------------------------------------------
# `make test` runs two pytest-xdist workers with `--dist loadfile --no-loadscope-reorder`: each file
# runs whole on one worker (its module fixtures and compiled kernels are shared) and the files are
# handed out in collection order. Collecting the longest files first (ranked by the summed setup +
# call durations per file of the full `--durations=0` run of 2026-12-01 03:24 UTC; BENCHMARKS.md,
# "Test suite wall time, ninth session"; files under ~4 s keep alphabetical order) lets the short ones fill in
# at the end, instead of one long file running alone on one worker while the other waits. The order
# of the tests within a file is unchanged; a file not named here keeps its alphabetical place after
# these (a stale ranking costs balance, never correctness).
LONGEST_FILES_FIRST = (
    "test_compare.py",
    "test_models.py",
    "test_mixed_state.py",
    "test_scale_out.py",
    "test_notebooks.py",
    "test_integrators.py",
    "test_no_silent_wrong_answers.py",
    "test_docs.py",
    "test_planar_mass.py",
    "test_transport.py",
    "test_superposed_mass.py",
    "test_engine.py",
    "test_noise.py",
    "test_master.py",
    "test_inference_jumps.py",
    "test_inference_fit.py",
    "test_cli.py",
    "test_jumps.py",
    "test_ghz_lattice.py",
    "test_stopped_branches.py",
    "test_jump_oscillator.py",
    "test_front.py",
    "test_diosi_physics.py",
    "test_time_dependent.py",
    "test_master_grad.py",
    "test_cq_chain.py",
    "test_master_kdof.py",
    "test_heated_oscillator.py",
    "test_threefry.py",
    "test_figures.py",
    "test_linear.py",
    "test_finite.py",
    "test_master_fit.py",
    "test_correlated_initial.py",
    "test_seed_checks.py",
    "test_paths.py",
    "test_plot.py",
    "test_exact.py",
    "test_master_absorbing.py",
    "test_inference_notebook.py",
    "test_inference_filter.py",
    "test_qutip.py",
    "test_sqrt_well.py",
    "test_nonlinear_observables.py",
    "test_front_cli.py",
)


def _optimised_if_marked(node):
    if node.get_closest_marker("optimized") is None:
        return contextlib.nullcontext()
    from helpers import optimised  # imported here: cqjax must be imported after the type-check hook

    return optimised()


@pytest.fixture(autouse=True, scope="module")
def _optimised_module(request):
    """A module marked ``optimized`` (``pytestmark``): its module fixtures compile optimised too."""
    with _optimised_if_marked(request.node):
        yield


@pytest.fixture(autouse=True)
def _optimised_test(request):
    """A test marked ``optimized`` compiles with XLA's optimisations, as users' runs do."""
    with _optimised_if_marked(request.node):
        yield


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: keeps the order within a file
