"""Statements of seed 004 (I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical
dynamics") checked on ensembles against exact results:

* the sqrt(q) well's collapse law does not depend on q (eq. C.13: K = -lam/(4 gamma) sz): E<sz>_t^2
  and E<sz>_t^4 from a spread of q0 equal those of a q-independent measurement at that strength;
* the sigma -> 0 limit of the healed Diosi dynamics is a Born mixture of the eigen-force
  trajectories p0 -+ 2 lam t, not the mean field (Sec. III after eq. 12, App. C.2);
* mean-field dynamics signals (App. D): Bob's classical statistics from the two ensembles that
  Alice's measurement bases prepare differ under the mean-field equations and agree under the
  healed ones (and with the exact law), on a bipartite model (Alice's qubit, Bob's qubit and particle).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, batch, qubit, sz_of

import cqjax
from cqjax import pauli
from cqjax.analysis.exact import diosi_final_momentum, sz_collapse_moment


def test_sqrt_well_collapse_law_does_not_depend_on_q():
    """q0 ~ N(2, 0.16) (q0 from about 0.4 to 3.6: the force and noise vary by a factor 3) and the
    law of <sz>_t is that of kappa = lam / (4 gamma) = 1. Bias: twice the Kraus step's weak bias in
    E<sz>, kappa^2 T dt (tests/test_diosi_physics.py); no trajectory reaches q = 0 (``stopped``)."""
    lam, gamma, t1, dt, sz0 = 2.0, 0.5, 0.5, 2e-3, 0.6
    model = cqjax.SqrtWell(m=1.0, lam=lam, gamma=gamma)
    init = cqjax.InitialState(z_mean=jnp.array([2.0, 0.0]), z_cov=jnp.diag(jnp.array([0.16, 0.0])), psi=qubit(0.8))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=t1,
        dt=dt,
        n_saves=5,
        trajectories=4_000,
        seed=11,
        observables=("sz", "<sz>^2", "<sz>^4", "stopped"),
        precision="float64",
    )
    kappa = lam / (4 * gamma)
    bias = 2 * kappa**2 * t1 * dt
    assert np.all(r.mean["stopped"] == 0)
    for k in (2, 4):
        exact = [sz_collapse_moment(t, sz0, kappa, k) for t in r.t]
        assert_close(r.mean[f"<sz>^{k}"], exact, r.sem[f"<sz>^{k}"] + 1e-12, bias, what=f"E<sz>_t^{k}")
    assert_close(r.mean["sz"], sz0, r.sem["sz"] + 1e-12, bias, what="E<sz>_t")
    # the moments do grow: the test would see a q-dependent strength
    assert r.mean["<sz>^2"][-1] - sz0**2 > 20 * r.sem["<sz>^2"][-1]


def test_small_sigma_is_a_born_mixture_of_eigen_force_trajectories_not_the_mean_field():
    """Diosi with sigma = 0.05, lam = 0.3: collapse in ~ sigma^2 / lam^2 = 0.03 and branches 1.2
    apart at t = 1, against the noise sigma sqrt(t) = 0.05. Exact law (``diosi_final_momentum``):
    p_t ~ sum_s w_s N(p0 - 2 lam s t, sigma^2 t); the mean field p0 - 2 lam <sz>0 t lies between."""
    lam, sigma, t1, w0, p0 = 0.3, 0.05, 1.0, 0.7, 0.3
    model = cqjax.Diosi(m=1.0, lam=lam, phi=0.0, sigma=sigma)
    z0, n = jnp.array([0.0, p0]), 4_000
    sol = batch(model, z0, qubit(w0), n, t1=t1, dt=2e-3, seed=12)
    p, sz = np.asarray(sol.z[:, -1, 1]), sz_of(sol.psi[:, -1])
    up = p < p0  # |0> feels -2 lam: its branch is below p0
    assert_close(up.mean(), w0, np.sqrt(w0 * (1 - w0) / n), what="Born weight of branch |0>")
    assert np.all(np.sign(sz) == np.where(up, 1, -1)) and np.mean(np.abs(sz) > 0.999) > 0.999
    var = sigma**2 * t1
    for branch, mean in ((up, p0 - 2 * lam * t1), (~up, p0 + 2 * lam * t1)):
        k = branch.sum()
        assert_close(p[branch].mean(), mean, np.sqrt(var / k), what="branch mean")
        assert_close(p[branch].var(), var, var * np.sqrt(2 / k), what="branch variance")
    _, mean, total_var = diosi_final_momentum(np.zeros(1), t1, qubit(w0), p0, lam, sigma)
    assert_close(p.mean(), mean, np.sqrt(total_var / n), what="E p_t")
    # the mean-field momentum (the mean of p_t) is 0.36 = 7 noise widths from the nearer branch: no
    # trajectory comes near it
    p_mf = p0 - 2 * lam * (2 * w0 - 1) * t1
    assert abs(p_mf - mean) < 1e-12 and np.all(np.abs(p - p_mf) > 0.1)


class AliceBob(cqjax.AbstractDiagonalModel):
    """Alice's qubit (first factor, free) and Bob's qubit (second factor) that moves Bob's particle:
    H = p^2/2m + 2 lam q sz_B, noise sigma on p (the Diosi coupling on Bob's side only)."""

    m: float = 1.0
    lam: float = 1.0
    sigma: float = 1.0
    positions: ClassVar[tuple[str, ...]] = ("q",)
    momenta: ClassVar[tuple[str, ...]] = ("p",)

    def energies(self, z):
        sz_b = jnp.array([1.0, -1.0, 1.0, -1.0], z.dtype)
        return z[1] ** 2 / (2 * self.m) + 2 * self.lam * z[0] * sz_b

    def noise(self, z):
        return jnp.array([[0.0], [1.0]], z.dtype) * self.sigma

    def operators(self):
        eye = np.eye(2)
        ops = {f"{k}_B": np.kron(eye, np.asarray(v)) for k, v in pauli().items()}
        ops.update({f"{k}_A": np.kron(np.asarray(v), eye) for k, v in pauli().items()})
        return {k: jnp.asarray(v, jnp.complex128) for k, v in ops.items()}


def _product(a: np.ndarray, b: np.ndarray) -> jnp.ndarray:
    return jnp.asarray(np.kron(a, b), jnp.complex128)


def test_mean_field_signals_and_the_healed_dynamics_does_not():
    """The singlet-like (|0>_A|0>_B - |1>_A|1>_B)/sqrt2 of App. D. Alice measuring sz leaves the
    ensemble {|00>, |11>}, measuring sx the ensemble {|+->, |-+>}: Bob's reduced state is I/2 in
    both (and without a measurement). Healed: every ensemble gives E p = p0 and
    E p^2 = p0^2 + sigma^2 t + 4 lam^2 t^2 (``diosi_p_moments`` with sz0 = 0). Mean field: the first
    ensemble gives p0^2 + 4 lam^2 t^2 and the second (and the entangled state) p0^2: Bob would learn
    Alice's choice from his particle."""
    lam, sigma, p0, t1, dt, n = 1.0, 1.0, 0.5, 0.5, 5e-3, 2_000
    model = AliceBob(lam=lam, sigma=sigma)
    zero, one = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    plus, minus = (zero + one) / np.sqrt(2), (zero - one) / np.sqrt(2)
    starts = {
        "singlet": (_product(zero, zero) - _product(one, one)) / np.sqrt(2),
        "00": _product(zero, zero),
        "11": _product(one, one),
        "+-": _product(plus, minus),
        "-+": _product(minus, plus),
    }
    obs = ("p", "p*p", "sz_B", "sx_B", "p*sz_B", "sz_A")
    kw = dict(t1=t1, dt=dt, n_saves=1, trajectories=n, precision="float64", observables=obs)
    res = {}
    for unravelling in (cqjax.Healed(), cqjax.MeanField()):
        for i, (label, psi) in enumerate(starts.items()):
            init = cqjax.InitialState(z_mean=jnp.array([0.0, p0]), psi=psi)
            r = cqjax.run_ensemble(model, init, unravelling=unravelling, seed=20 + i, **kw)
            res[type(unravelling).__name__, label] = {k: (r.mean[k][-1], r.sem[k][-1]) for k in obs}

    def ensemble(kind, a, b, name):  # an equal mixture of two runs: mean and SE
        (ma, sa), (mb, sb) = res[kind, a][name], res[kind, b][name]
        return (ma + mb) / 2, np.hypot(sa, sb) / 2

    bias = 4 * lam**2 * t1**2 * (lam / sigma) ** 2 * t1 * dt  # E p^2: the Kraus step's E<sz> bias, 2 lam t1 x 2
    exact = {"p": p0, "p*p": p0**2 + sigma**2 * t1 + 4 * lam**2 * t1**2, "p*sz_B": -2 * lam * t1}
    exact.update({"sz_B": 0.0, "sx_B": 0.0, "sz_A": 0.0})
    for name, want in exact.items():
        z_basis, x_basis = ensemble("Healed", "00", "11", name), ensemble("Healed", "+-", "-+", name)
        singlet = res["Healed", "singlet"][name]
        for what, (mean, se) in (("sz basis", z_basis), ("sx basis", x_basis), ("no measurement", singlet)):
            assert_close(mean, want, se + 1e-12, bias, what=f"healed {name}, {what}")
        assert_close(z_basis[0] - x_basis[0], 0.0, np.hypot(z_basis[1], x_basis[1]), 2 * bias, what=f"healed {name}")
    # Mean field: deterministic; Bob's E p^2 tells Alice's basis apart by 4 lam^2 t^2 (Euler: exact here).
    mf_z = ensemble("MeanField", "00", "11", "p*p")[0]
    mf_x = ensemble("MeanField", "+-", "-+", "p*p")[0]
    mf_singlet = res["MeanField", "singlet"]["p*p"][0]
    assert mf_z == pytest.approx(p0**2 + 4 * lam**2 * t1**2, abs=1e-9)
    assert mf_x == pytest.approx(p0**2, abs=1e-9) and mf_singlet == pytest.approx(p0**2, abs=1e-9)
