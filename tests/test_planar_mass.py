"""The planar test mass near a planet in superposition (``planar_superposed_mass``; seed 004 App.
C.4, I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics"): the
3-D model restricted to the plane, and ``cqjax compare`` of its ensemble against the CQ master
equation on a 4-D (x, y, px, py) grid (configs/planar_mass_compare.toml), which also catches a
wrong noise strength."""

import contextlib
import io
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from cqjax.cli import main

CONFIG = Path(__file__).parents[1] / "configs" / "planar_mass_compare.toml"


def _cli(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(args)
    return code, out.getvalue()


def test_planar_model_is_the_3d_model_in_the_plane():
    """Energies, forces and noise of the planar model equal the 3-D model's at z = pz = 0."""
    params = dict(G=1.0, M=5.0, m=1.0, d=1.0, sigma=0.7, phi=0.3, softening=0.5)
    flat, full = cqjax.PlanarSuperposedMass(**params), cqjax.SuperposedMass(**params)
    assert flat.coords == ("x", "y", "px", "py")
    for x, y, px, py in np.random.default_rng(0).normal(size=(5, 4)):
        z2 = jnp.array([x, y, px, py])
        z3 = jnp.array([x, y, 0.0, px, py, 0.0])
        np.testing.assert_allclose(flat.energies(z2), full.energies(z3), rtol=1e-12)
        f2 = jax.jacobian(flat.energies)(z2)  # (2 branches, 4 coordinates)
        f3 = jax.jacobian(full.energies)(z3)[:, [0, 1, 3, 4]]
        np.testing.assert_allclose(f2, f3, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(flat.noise(z2), full.noise(z3)[np.ix_([0, 1, 3, 4], [0, 1])])


@pytest.mark.slow
def test_compare_agrees_on_the_plane_and_catches_a_wrong_sigma(tmp_path):
    """2 x 10^4 trajectories against the 21^4 grid: agree (z-scores with the master's
    half-resolution error estimate); a master with sigma = 0.6 instead of 1 (4/0.36 ~ 2.8x the
    decoherence rate) is caught on the coherence sx."""
    code, out = _cli(["compare", str(CONFIG), "--out", str(tmp_path / "ok"), "--no-progress"])
    assert code == 0 and out.rstrip().endswith("agree"), out
    wrong = str(tmp_path / "wrong.npz")
    assert (
        _cli(
            [
                "master",
                str(CONFIG),
                "--set",
                "params.sigma=0.6",
                "--set",
                "master.error_estimate=false",
                "--out",
                wrong,
                "--no-progress",
            ]
        )[0]
        == 0
    )
    code, out = _cli(["compare", str(tmp_path / "ok" / "run.npz"), wrong, "--out", str(tmp_path / "bad")])
    assert code == 1 and "DISAGREE" in out, out
