"""Weak order of the two solvers on the healed Diosi model, against the exact E[<sz>_T^2].

Both solvers are weak order 1. The ensemble is large enough that the standard error is well
below the bias at every step size (asserted), so the fitted slope measures the discretisation.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import cqjax
from exact_diosi import mean_sz_squared
from helpers import batch, qubit, sz_of

DTS = (0.1, 0.05, 0.025)


@pytest.mark.slow
@pytest.mark.parametrize("solver", [cqjax.Kraus(), cqjax.EulerMaruyama()], ids=lambda s: s.name)
def test_weak_order_one(solver):
    lam, sigma, t1, sz0 = 1.0, 0.7, 1.0, 0.6
    model = cqjax.Diosi(m=1.0, lam=lam, phi=2.0, sigma=sigma)
    exact = mean_sz_squared(t1, sz0, lam, sigma)
    n = 400_000
    errors, ses = [], []
    for dt in DTS:
        sol = batch(model, jnp.zeros(2), qubit(0.8), n, t1=t1, dt=dt, seed=7, solver=solver)
        x = sz_of(sol.psi[:, -1]) ** 2
        errors.append(abs(x.mean() - exact))
        ses.append(x.std() / np.sqrt(n))
    errors, ses = np.array(errors), np.array(ses)
    assert np.all(errors > 5 * ses), f"bias {errors} not resolved above 5 SE {ses}"
    slope = np.polyfit(np.log(DTS), np.log(errors), 1)[0]
    assert slope >= 0.75, f"{solver.name}: weak order {slope:.2f} < 1"
    if isinstance(solver, cqjax.Kraus):
        assert slope <= 1.4, f"kraus: weak order {slope:.2f}, expected 1"
    assert solver.weak_order == 1.0


def test_kraus_keeps_state_normalised_at_coarse_dt_where_euler_needs_renormalisation():
    """At dt = 0.2 with strong coupling the Kraus step stays finite and normalised."""
    model = cqjax.Diosi(m=1.0, lam=3.0, phi=2.0, sigma=0.3)
    sol = batch(model, jnp.zeros(2), qubit(0.5), 2000, t1=2.0, dt=0.2, n_saves=10, seed=8)
    norms = np.linalg.norm(np.asarray(sol.psi), axis=-1)
    assert np.all(np.isfinite(norms)) and np.allclose(norms, 1.0, atol=1e-12)
