"""Engine machinery: derived generator, dense vs diagonal paths, chunking, keys, gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import HADAMARD, RootModel, RotatedDiosi, batch, qubit

import cqjax


def test_generator_derives_drift_and_back_reaction():
    model = cqjax.Diosi(m=2.0, lam=0.7, phi=1.0, sigma=1.0)
    g = cqjax.generator(model, jnp.array([0.3, 0.8]))
    np.testing.assert_allclose(g.drift, [0.8 / 2.0, 0.0])  # {q, H_C} = p/m, {p, H_C} = 0
    np.testing.assert_allclose(g.force, [[0, 0], [-1.4, 1.4]])  # {p, H_I} = -2 lam sz
    np.testing.assert_allclose(g.h, [2 * 0.7 * 0.3 + 1.0, -(2 * 0.7 * 0.3 + 1.0)])  # traceless


def test_dense_non_diagonal_path_matches_diagonal_path():
    """Same trajectories (same keys) in the rotated basis: the generic matrix path is right."""
    diag = cqjax.Diosi()
    dense = RotatedDiosi()
    psi0 = qubit(0.7, 0.4)
    a = batch(diag, jnp.array([0.1, 0.2]), psi0, 64, t1=0.5, dt=1e-2, n_saves=5, seed=3)
    b = batch(dense, jnp.array([0.1, 0.2]), HADAMARD @ psi0, 64, t1=0.5, dt=1e-2, n_saves=5, seed=3)
    np.testing.assert_allclose(a.z, b.z, atol=1e-10)
    np.testing.assert_allclose(jnp.einsum("ij,tnj->tni", HADAMARD, a.psi), b.psi, atol=1e-10)


def test_statistics_do_not_depend_on_chunk_size():
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), z_cov=0.1 * jnp.eye(2), psi=qubit(0.5))
    kw = dict(
        t1=0.2,
        dt=0.01,
        n_saves=4,
        trajectories=2500,
        seed=11,
        precision="float64",
        observables=("q", "p*sz", "sx"),
        histogram=cqjax.HistogramSpec(("p",), ((-3.0, 3.0, 12),)),
    )
    results = [cqjax.run_ensemble(model, init, chunk_size=c, **kw) for c in (None, 1000, 333)]
    for r in results[1:]:
        for name in kw["observables"]:
            np.testing.assert_allclose(r.mean[name], results[0].mean[name], rtol=1e-12, atol=1e-14)
            # atol: the rounding of an observable that is constant at t = 0
            np.testing.assert_allclose(r.sem[name], results[0].sem[name], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(r.histogram["density"], results[0].histogram["density"], atol=1e-12)
        np.testing.assert_array_equal(r.samples_z, results[0].samples_z)
    # Different seeds give different statistics.
    other = cqjax.run_ensemble(model, init, **{**kw, "seed": 12})
    assert not np.allclose(other.mean["q"], results[0].mean["q"])


def test_ensemble_trajectory_i_is_simulate_with_trajectory_key():
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.array([0.0, 1.0]), psi=qubit(0.5))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=0.1,
        dt=0.01,
        n_saves=2,
        trajectories=10,
        seed=5,
        observables=("p",),
        precision="float64",
        n_samples=3,
    )
    sol = batch(model, jnp.array([0.0, 1.0]), qubit(0.5), 3, t1=0.1, dt=0.01, n_saves=2, seed=5)
    np.testing.assert_allclose(r.samples_z, sol.z, atol=1e-12)


def test_histogram_is_a_normalised_cq_state():
    model = cqjax.Diosi()
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.7, 0.2))
    spec = cqjax.HistogramSpec(("q", "p"), ((-2.0, 2.0, 8), (-5.0, 5.0, 10)))
    r = cqjax.run_ensemble(
        model,
        init,
        t1=0.5,
        dt=0.01,
        n_saves=2,
        trajectories=4000,
        seed=1,
        observables=("sz",),
        histogram=spec,
        precision="float64",
    )
    rho = r.histogram["density"]
    assert rho.shape == (3, 8, 10, 2, 2)
    total = rho.sum(axis=(1, 2)) * spec.cell_volume  # integral over phase space: E[rho]
    np.testing.assert_allclose(np.trace(total, axis1=-2, axis2=-1).real + r.histogram["outside"], 1.0, atol=1e-12)
    np.testing.assert_allclose((total[:, 0, 0] - total[:, 1, 1]).real, r.mean["sz"], atol=1e-12)
    np.testing.assert_allclose(rho, np.conj(np.swapaxes(rho, -1, -2)), atol=1e-14)  # Hermitian


def test_float32_by_default_and_float64_on_request():
    model = cqjax.Diosi()
    sol32 = cqjax.simulate(
        model,
        jnp.zeros(2, jnp.float32),
        qubit(0.5).astype(jnp.complex64),
        jax.random.key(0),
        t1=0.1,
        dt=0.01,
        n_saves=1,
        unravelling=cqjax.Healed(),
        solver=cqjax.Kraus(),
    )
    assert sol32.z.dtype == jnp.float32 and sol32.psi.dtype == jnp.complex64
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5))
    r = cqjax.run_ensemble(model, init, t1=0.1, dt=0.01, n_saves=1, trajectories=10, observables=("p",))
    assert r.samples_z.dtype == np.float32


def test_positivity_refusal_names_the_coordinate():
    class NoNoiseOnP(cqjax.Diosi):
        def noise(self, z):
            return jnp.array([[1.0], [0.0]], dtype=z.dtype) * self.sigma

    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5))
    with pytest.raises(ValueError, match=r"positivity: coordinates \['p'\]"):
        cqjax.run_ensemble(NoNoiseOnP(), init, t1=0.1, dt=0.01, n_saves=1, trajectories=10, observables=("p",))
    # Mean field has no noise and needs no such condition.
    cqjax.run_ensemble(
        NoNoiseOnP(),
        init,
        t1=0.1,
        dt=0.01,
        n_saves=1,
        trajectories=10,
        observables=("p",),
        unravelling=cqjax.MeanField(),
    )


def test_nonfinite_trajectories_are_counted():
    init = cqjax.InitialState(z_mean=jnp.array([1.0, -1.0]), psi=qubit(0.5))
    spec = cqjax.HistogramSpec(("q",), ((0.0, 4.0, 8),))
    kw = dict(t1=2.0, dt=0.01, n_saves=4, trajectories=200, observables=("q",), precision="float64", histogram=spec)
    with pytest.raises(
        cqjax.SimulationError,
        match=r"^nonfinite = \"fail\": \d+ of trajectories 0..199 became "
        r"NaN or inf, the first \(trajectory \d+\) by t = ",
    ):
        cqjax.run_ensemble(RootModel(), init, **kw)
    r = cqjax.run_ensemble(RootModel(), init, nonfinite="exclude", **kw)
    assert r.nonfinite[0] == 0 and r.nonfinite[-1] > 0
    assert r.info["excluded_trajectories"] == r.nonfinite[-1]
    np.testing.assert_array_equal(r.counted, 200 - r.nonfinite)
    # statistics over the finite trajectories only: finite, and equal to the finite ones' mean
    assert np.all(np.isfinite(r.mean["q"])) and np.all(np.isfinite(r.sem["q"]))
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(0), i))(jnp.arange(200))
    sol = jax.vmap(
        lambda k: cqjax.simulate(
            RootModel(),
            jnp.array([1.0, -1.0]),
            qubit(0.5),
            k,
            t1=2.0,
            dt=0.01,
            n_saves=4,
            unravelling=cqjax.Healed(),
            solver=cqjax.Kraus(),
        )
    )(keys)
    q = np.asarray(sol.z[:, :, 0])
    np.testing.assert_allclose(r.mean["q"], [np.mean(x[np.isfinite(x)]) for x in q.T], rtol=1e-12)
    # NaN trajectories are not "outside the grid": they have their own fraction.
    assert np.all(np.isfinite(r.histogram["density"]))
    np.testing.assert_allclose(r.histogram["nonfinite"], r.nonfinite / 200)
    inside = r.histogram["density"].sum(axis=1)[..., [0, 1], [0, 1]].sum(-1).real * 0.5
    np.testing.assert_allclose(inside + r.histogram["outside"], 1.0, atol=1e-12)


def test_one_nan_trajectory_fails_the_run_and_an_overflow_is_refused():
    """Regression: one NaN trajectory in 20 000 made every float32 mean NaN with exit 0; an
    overflowing observable gave 2.4e19 +- inf with no warning."""

    class Blows(cqjax.Diosi):  # finite everywhere except for one initial point
        def energies(self, z):
            e = super().energies(z)
            return jnp.where(z[0] > 3.5, jnp.nan, 1.0) * e

    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5), z_cov=jnp.eye(2))
    with pytest.raises(cqjax.SimulationError, match="^nonfinite"):
        cqjax.run_ensemble(Blows(), init, t1=0.01, dt=0.01, n_saves=1, trajectories=20_000, observables=("q",))

    init = cqjax.InitialState(z_mean=jnp.array([3e19, 0.0]), psi=qubit(0.5), z_cov=jnp.diag(jnp.array([1e38, 0.0])))
    with pytest.raises(
        cqjax.SimulationError,
        match=r"observables: the (mean|standard error) of 'q' is not finite .* "
        r"overflow float32",
    ):
        cqjax.run_ensemble(cqjax.Diosi(), init, t1=0.01, dt=0.01, n_saves=1, trajectories=1000, observables=("q",))


def test_grad_of_ensemble_mean_matches_finite_differences_and_exact():
    """d E[p(T)] / d lam through simulate with fixed keys (common random numbers)."""
    t1, sz0 = 0.5, 0.4
    keys = jax.vmap(lambda i: cqjax.trajectory_key(jax.random.key(0), i))(jnp.arange(4000))

    def mean_p(lam):
        model = cqjax.Diosi(m=1.0, lam=lam, phi=2.0, sigma=1.0)
        sols = jax.vmap(
            lambda k: cqjax.simulate(
                model,
                jnp.zeros(2),
                qubit(0.7, 0.3),
                k,
                t1=t1,
                dt=0.01,
                n_saves=1,
                unravelling=cqjax.Healed(),
                solver=cqjax.Kraus(),
            )
        )(keys)
        return sols.z[:, -1, 1]

    objective = jax.jit(lambda lam: jnp.mean(mean_p(lam)))
    grad = jax.grad(objective)(0.8)
    h = 1e-5
    fd = (objective(0.8 + h) - objective(0.8 - h)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6)
    # Pathwise derivatives per trajectory give an SE; exact d/dlam E[p] = -2 <sz>_0 T.
    per_traj = jax.jacfwd(lambda lam: mean_p(lam))(0.8)
    se = float(jnp.std(per_traj) / np.sqrt(per_traj.size))
    assert abs(float(grad) - (-2 * sz0 * t1)) < 5 * se + 2 * 0.01 * t1 * 2


def test_model_parameters_are_pytree_leaves():
    model = cqjax.Diosi(m=1.0, lam=0.5, phi=2.0, sigma=1.0)
    leaves = jax.tree.leaves(eqx.filter(model, eqx.is_array_like))
    assert len(leaves) == 4


def test_non_hermitian_hamiltonian_and_operator_are_refused():
    class NonHermitian(RotatedDiosi):
        def hamiltonian(self, z):
            return super().hamiltonian(z) + 0.5j * jnp.eye(2)

    class BadOperator(RotatedDiosi):
        def operators(self):
            return {"sz": jnp.eye(3)}

    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=qubit(0.5))
    kw = dict(t1=0.1, dt=0.01, n_saves=1, trajectories=10, observables=("p",))
    with pytest.raises(ValueError, match="not Hermitian"):
        cqjax.run_ensemble(NonHermitian(), init, **kw)
    with pytest.raises(ValueError, match=r"operators\(\)\['sz'\]: expected shape \(2, 2\)"):
        cqjax.run_ensemble(BadOperator(), init, **kw)
