"""Tests run in float64 where precision matters: x64 is enabled for the session and every
engine array carries an explicit dtype, so float32 runs stay float32.

Compiled XLA programs are shared for the session through JAX's persistent compilation cache (a
temporary folder, also handed to the subprocesses the tests start): tests that build the same
program (the same model, shapes and choices, in this process or another) compile it once.
"""

import atexit
import os
import shutil
import tempfile

import jax

jax.config.update("jax_enable_x64", True)

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="cqjax-test-xla-")
    atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
_CACHE = os.environ["JAX_COMPILATION_CACHE_DIR"]
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
