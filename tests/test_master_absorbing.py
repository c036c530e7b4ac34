"""Absorbing walls on the master grid: a model's ``inside(z)`` makes the cells outside its domain
absorbing (mass that jumps there is frozen, as a stopped trajectory is), and ``stopped`` reads that
mass. Checked against the first-passage law of Brownian motion with drift, and on ``sqrt_well``
(seed 004 App. C.3, Fig. 6: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier
semi-classical dynamics").
"""

import contextlib
import io
from math import erf, exp, sqrt
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from helpers import config_dict, toml_text

import cqjax
from cqjax import InitialState, solve_master
from cqjax.cli import main
from cqjax.operators import pauli

C, SIGMA, A, T1 = 0.5, 1.0, 1.0, 1.0


class PushedToAWall(cqjax.AbstractDiagonalModel, cqjax.AbstractAbsorbingModel):
    """H = c q sz: a constant force -c sz on p, q conserved, noise sigma on p; absorbed at p <= -a."""

    c: float = C
    sigma: float = SIGMA
    a: float = A
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        return jnp.stack([self.c * z[0], -self.c * z[0]])

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], dtype=z.dtype) * self.sigma

    def inside(self, z):
        return z[1] > -self.a

    def operators(self):
        return pauli()


def _first_passage(t: float, dist: float) -> float:
    """P(T <= t) for p_t = -c t + sigma W_t to reach a level ``dist`` below its start (reflection
    principle with drift)."""
    phi = lambda x: 0.5 * (1 + erf(x / sqrt(2)))
    s = SIGMA * sqrt(t)
    return phi((-dist + C * t) / s) + exp(2 * C * dist / SIGMA**2) * phi((-dist - C * t) / s)


def test_stopped_mass_follows_the_first_passage_law_and_converges():
    """|0> is pushed to the wall at -a by the force -c: the stopped mass is the first-passage
    probability, to first order in the spacing (the wall lies between two cell centres, and the
    lattice walk is absorbed at the first centre beyond it, half a cell further)."""
    errors = []
    for delta in (0.1, 0.05):
        n = round(5.0 / delta)
        p0 = -delta / 2  # a cell centre: the centres are -a - delta/2 + k delta
        init = InitialState(jnp.array([1.0, p0]), jnp.array([1.0, 0.0]))
        r = solve_master(
            PushedToAWall(),
            init,
            t1=T1,
            n_saves=4,
            cells=(1, n),
            extent={"q": (0.5, 1.5), "p": (-A - delta, 5.0 - A - delta)},
            observables=("stopped", "p"),
            error_estimate=False,
        )
        exact = np.array([_first_passage(t, A + p0) if t > 0 else 0.0 for t in r.t])
        np.testing.assert_allclose(r.trace + r.lost, 1.0, atol=1e-12)
        assert r.min_eig.min() >= -1e-12 and r.lost[-1] < 1e-5
        assert np.all(np.diff(r.mean["stopped"]) >= 0)
        errors.append(np.max(np.abs(r.mean["stopped"] - exact)))
    assert errors[0] / errors[1] > 1.7 and errors[1] < 0.02, errors  # first order: 0.027, 0.014


def _compare(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(args)
    return code, out.getvalue()


def test_compare_checks_the_stopped_fraction_and_catches_a_wrong_force(tmp_path):
    """Trajectories stopped at the wall against the master's frozen mass: they agree; a master
    with c = 0.8 instead of 0.5 (a stronger push to the wall) is caught."""
    raw = config_dict(
        model=f"{__file__}:PushedToAWall",
        initial={"z_mean": [1.0, -0.01], "psi": "zero"},  # a cell centre; the wall between two
        run={"t1": 1.0, "dt": 1e-3, "trajectories": 4000, "n_saves": 4, "seed": 2, "precision": "float64"},
        observables={"names": ["p", "stopped"]},
        histogram=None,
        master={"cells": [1, 250], "q": [0.5, 1.5], "p": [-1.02, 3.98], "error_estimate": False},
    )
    raw["params"] = {"c": C, "sigma": SIGMA, "a": A}
    cfg = tmp_path / "wall.toml"
    cfg.write_text(toml_text(raw))
    code, out = _compare(["compare", str(cfg), "--out", str(tmp_path / "ok"), "--no-progress"])
    assert code == 0 and "stopped" in out, out
    wrong = str(tmp_path / "wrong.npz")
    assert _compare(["master", str(cfg), "--set", "params.c=0.8", "--out", wrong, "--no-progress"])[0] == 0
    code, out = _compare(["compare", str(tmp_path / "ok" / "run.npz"), wrong, "--out", str(tmp_path / "bad")])
    assert code == 1 and "DISAGREE" in out, out
