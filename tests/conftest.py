"""Tests run in float64 where precision matters: x64 is enabled for the session and every
engine array carries an explicit dtype, so float32 runs stay float32."""

import jax

jax.config.update("jax_enable_x64", True)
