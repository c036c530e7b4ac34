"""The front door with real QuTiP objects (``Qobj`` kets, density matrices and operators), not
stand-ins: the same numbers as the same states and operators given as arrays. QuTiP is in the
``test`` extra; the shapes are those of tests/test_front.py, so nothing compiles anew."""

from __future__ import annotations

import numpy as np
import pytest

import cqjax
from cqjax.operators import sigmax, sigmaz

qutip = pytest.importorskip("qutip")

PLUS = np.array([1.0, 1.0]) / np.sqrt(2)
RUN = dict(t1=0.2, dt=0.01, n_saves=4, trajectories=500, seed=7, samples=3, progress=False)
MASTER = dict(t1=0.2, n_saves=4, cells=(16, 16), extent={"q": (-1.0, 1.0), "p": (-3.0, 3.0)}, progress=False)


def test_qobj_ket_and_operators_give_the_array_numbers():
    ket = (qutip.basis(2, 0) + qutip.basis(2, 1)).unit()
    assert isinstance(ket, qutip.Qobj) and ket.shape == (2, 1)
    q_obs = {"X": qutip.sigmax(), "Z": qutip.sigmaz()}
    a_obs = {"X": np.asarray(sigmax()), "Z": np.asarray(sigmaz())}
    from_qutip = cqjax.run(cqjax.Diosi(), ket, [0.0, 0.0], observables=q_obs, **RUN)
    from_arrays = cqjax.run(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=a_obs, **RUN)
    for k in q_obs:
        np.testing.assert_array_equal(from_qutip.mean[k], from_arrays.mean[k], err_msg=k)
    assert from_qutip.mean["X"][0] == pytest.approx(1.0, abs=1e-6)  # <+|sx|+> = 1


def test_qobj_density_matrix_in_run_and_master():
    """A QuTiP density matrix: the mixed-state run and the master equation, as from the array."""
    rho = qutip.ket2dm((qutip.basis(2, 0) + qutip.basis(2, 1)).unit())
    obs_q = {"X": qutip.sigmax(), "Z": qutip.sigmaz()}
    obs_a = {"X": np.asarray(sigmax()), "Z": np.asarray(sigmaz())}
    run_q = cqjax.run(cqjax.Diosi(), rho, [0.0, 0.0], observables=obs_q, **RUN)
    run_a = cqjax.run(cqjax.Diosi(), np.outer(PLUS, PLUS), [0.0, 0.0], observables=obs_a, **RUN)
    assert run_q.info["state"] == "mixed"
    for k in obs_q:
        np.testing.assert_array_equal(run_q.mean[k], run_a.mean[k], err_msg=k)
    master_q = cqjax.master(cqjax.Diosi(), rho, [0.0, 0.0], observables=obs_q, **MASTER)
    master_a = cqjax.master(cqjax.Diosi(), PLUS, [0.0, 0.0], observables=obs_a, **MASTER)
    for k in obs_q:
        np.testing.assert_allclose(master_q.mean[k], master_a.mean[k], atol=1e-12, err_msg=k)


def test_qobj_of_the_wrong_dimension_is_refused():
    with pytest.raises(ValueError, match="state0"):
        cqjax.run(cqjax.Diosi(), qutip.basis(3, 0), [0.0, 0.0], observables=["p"], **RUN)
