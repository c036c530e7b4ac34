"""Strong and weak orders of the solvers on the healed Diosi model.

Strong order: common random numbers across dt levels -- one fine Brownian path per trajectory
(2^12 steps), summed into the increments of every coarser level -- against a Milstein solution on
the finest level; the error is E[|Z_dt - Z_ref| + |psi_dt - psi_ref|] at T. Euler-Maruyama has
strong order 1/2, Milstein and the Kraus step (its 1/2 A^2 term is the Milstein correction) 1.

Weak order of the solvers on the healed Diosi model, against the exact E[q_T <sz>_T] = -lam T^2 / m
(the CQ master equation: each branch is pushed by -+2 lam, so int q Tr(sz varrho) = -lam T^2 / m).

Both solvers are weak order 1, the Kraus step also with the three-point and Rademacher increments
of ``run.noise`` (only the first three moments of the increments enter at order 1). The ensemble
is large enough that the standard error is well below the bias at every step size (asserted), so
the fitted slope measures the discretisation.
(E[<sz>_T^2] is no longer a good probe for the Kraus step: with the unitary split off, its bias
there is below 1e-3 and not monotone in dt.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import batch, qubit, sz_of

import cqjax
from cqjax.ensemble._loop import make_step

pytestmark = pytest.mark.optimized  # long runs: XLA's optimisations pay (tests/conftest.py)


def _strong_errors(solver, levels, fine=12, n=1000, t1=0.5):
    model = cqjax.Diosi(m=1.0, lam=1.0, phi=2.0, sigma=1.0)
    z0, psi0 = jnp.zeros(2), jnp.array([0.8, 0.6j], jnp.complex128)
    xi_fine = jax.random.normal(jax.random.key(0), (n, 2**fine, 1), jnp.float64)

    def final(solver, level):
        k = 2 ** (fine - level)
        xi = xi_fine.reshape(n, 2**level, k, 1).sum(2) / np.sqrt(k)  # the same Brownian path
        step = make_step(model, cqjax.Healed(), solver, t1 / 2**level)
        path = lambda x: jax.lax.scan(lambda s, e: (step(s, e, 0.0), None), (z0, psi0), x)[0]
        return jax.jit(jax.vmap(path))(xi)

    z_ref, psi_ref = final(cqjax.Milstein(), fine)
    errors = []
    for level in levels:
        z, psi = final(solver, level)
        err = np.abs(z - z_ref).sum(-1) + np.linalg.norm(psi - psi_ref, axis=-1)
        errors.append(err.mean())
    return np.array(errors)


@pytest.mark.parametrize(
    "solver, order",
    [(cqjax.EulerMaruyama(), 0.5), (cqjax.Milstein(), 1.0), (cqjax.Kraus(), 1.0)],
    ids=lambda s: getattr(s, "name", ""),
)
def test_strong_order(solver, order):
    levels = (4, 5, 6, 7, 8)
    errors = _strong_errors(solver, levels)
    slope = -np.polyfit(np.array(levels) * np.log(2), np.log(errors), 1)[0]
    # measured: euler-maruyama 0.61, milstein 0.99, kraus 1.00 (1000 paths, T = 0.5)
    assert abs(slope - order) < 0.2, f"{solver.name}: strong order {slope:.2f}, expected {order}"


DTS = (0.1, 0.05, 0.025)


@pytest.mark.slow
@pytest.mark.parametrize(
    "solver, noise",
    [
        (cqjax.Kraus(), "gaussian"),
        (cqjax.EulerMaruyama(), "gaussian"),
        (cqjax.Milstein(), "gaussian"),
        # the cheaper increments of run.noise keep weak order 1 (mean 0, variance 1, third moment 0)
        (cqjax.Kraus(), "three-point"),
        (cqjax.Kraus(), "rademacher"),
    ],
    ids=["kraus", "euler-maruyama", "milstein", "kraus-three-point", "kraus-rademacher"],
)
def test_weak_order_one(solver, noise):
    lam, sigma, t1 = 1.0, 0.7, 1.0
    model = cqjax.Diosi(m=1.0, lam=lam, phi=2.0, sigma=sigma)
    exact = -lam * t1**2  # m = 1
    n = 400_000
    errors, ses = [], []
    for dt in DTS:
        sol = batch(model, jnp.zeros(2), qubit(0.8), n, t1=t1, dt=dt, seed=7, solver=solver, noise=noise)
        x = np.asarray(sol.z[:, -1, 0]) * sz_of(sol.psi[:, -1])
        errors.append(abs(x.mean() - exact))
        ses.append(x.std() / np.sqrt(n))
    errors, ses = np.array(errors), np.array(ses)
    assert np.all(errors > 5 * ses), f"bias {errors} not resolved above 5 SE {ses}"
    slope = np.polyfit(np.log(DTS), np.log(errors), 1)[0]
    assert slope >= 0.75, f"{solver.name}/{noise}: weak order {slope:.2f} < 1"
    if isinstance(solver, cqjax.Kraus):
        assert slope <= 1.4, f"kraus/{noise}: weak order {slope:.2f}, expected 1"
    assert solver.weak_order == 1.0


def test_kraus_keeps_state_normalised_at_coarse_dt_where_euler_needs_renormalisation():
    """At dt = 0.2 with strong coupling the Kraus step stays finite and normalised."""
    model = cqjax.Diosi(m=1.0, lam=3.0, phi=2.0, sigma=0.3)
    sol = batch(model, jnp.zeros(2), qubit(0.5), 2000, t1=2.0, dt=0.2, n_saves=10, seed=8)
    norms = np.linalg.norm(np.asarray(sol.psi), axis=-1)
    assert np.all(np.isfinite(norms)) and np.allclose(norms, 1.0, atol=1e-12)
