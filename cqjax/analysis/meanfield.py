"""The healed (exact) dynamics against the mean-field prediction: the trade-off's prediction of the
ensemble coherence E<sx>(t), and seed 000's validity measures of mean-field dynamics.

References: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics"
(seed 004: the trade-off eq. 6, the mean-field equations 13-14, the Diosi model App. C.2);
I. Layton, "Fixing semi-classical physics from first principles" (seed 000, arXiv:2604.08024:
eq. (12), its unravelling (15), the validity inequalities (16)-(18)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Complex, Float

from ..dynamics import Healed, MeanField
from ..ensemble import simulate, trajectory_key
from ..models import AbstractDiagonalModel, Diosi
from .bloch import bloch_vector
from .exact import diosi_phase_diffusion, tradeoff_envelope

__all__ = ["coherence_prediction", "moment_z_scores", "seed000_validity_measures", "seed000_validity_runs"]


def coherence_prediction(
    model: AbstractDiagonalModel,
    t: Float[np.ndarray, " T"],
    z_mf: Float[np.ndarray, "T n"],
    psi_mf: Complex[np.ndarray, "T 2"],
    z_cov: Float[np.ndarray, "n n"] | None = None,
) -> dict[str, np.ndarray]:
    """E<sx>(t) predicted by the decoherence-diffusion trade-off [seed 004 eq. 6]: the envelope
    exp(-int Gamma(z_mf) dt) along the mean-field path times the mean-field <sx>_mf(t) (the unitary
    phase) and, for the Diosi model, the exact phase diffusion exp(-Var Phi / 2). Returns
    ``gamma``, ``envelope``, ``sx_mf``, ``naive`` (without the phase diffusion) and ``full``."""
    gamma, envelope = tradeoff_envelope(model, t, z_mf)
    sx_mf = bloch_vector(psi_mf)[:, 0]
    diffusion = np.ones_like(np.asarray(t, float))
    if isinstance(model, Diosi):
        diffusion = diosi_phase_diffusion(
            t, float(np.asarray(model.lam)), float(np.asarray(model.sigma)), float(np.asarray(model.m)), z_cov
        )
    naive = envelope * sx_mf
    return dict(gamma=gamma, envelope=envelope, sx_mf=sx_mf, naive=naive, full=naive * diffusion, diffusion=diffusion)


def seed000_validity_runs(
    model, z0, thetas, *, t1: float, dt: float, n_saves: int, trajectories: int, seed: int, solver, n_tau: int = 60
) -> dict[str, np.ndarray]:
    """For each initial state cos(theta/2)|0> + sin(theta/2)|1> from the point ``z0``, healed and
    mean-field runs of seed 000's model at about ``n_tau`` log-spaced saved times tau: healed p
    (S, N, tau), healed E[rho] (S, tau, 2, 2), mean-field p (S, tau) and psi (S, tau, 2); ``tau``."""
    t = np.arange(n_saves + 1) * (t1 / n_saves)
    sel = np.unique(np.geomspace(1, n_saves, n_tau).round().astype(int))
    z0 = jnp.asarray(z0, jnp.float32)
    keys = jax.vmap(lambda i: trajectory_key(jax.random.key(seed), i))(jnp.arange(trajectories))
    kw = dict(t1=t1, dt=dt, n_saves=n_saves, solver=solver)

    @jax.jit
    def healed(psi0):
        sol = jax.vmap(lambda k: simulate(model, z0, psi0, k, unravelling=Healed(), **kw))(keys)
        psi = sol.psi[:, sel]
        return sol.z[:, sel, 1], jnp.mean(psi[..., :, None] * jnp.conj(psi[..., None, :]), axis=0)

    @jax.jit
    def mean_field(psi0):
        sol = simulate(model, z0, psi0, keys[0], unravelling=MeanField(), **kw)
        return sol.z[sel, 1], sol.psi[sel]

    out: dict[str, list] = {k: [] for k in ("p", "rho", "p_mf", "psi_mf")}
    for th in np.asarray(thetas, float):
        psi0 = jnp.array([np.cos(th / 2), np.sin(th / 2)], jnp.complex64)
        for key, value in zip(out, (*healed(psi0), *mean_field(psi0))):
            out[key].append(np.asarray(value, np.complex128 if key in ("rho", "psi_mf") else np.float64))
    return dict({k: np.stack(v) for k, v in out.items()}, tau=t[sel])


def seed000_validity_measures(runs: dict[str, np.ndarray], p0: float) -> dict[str, np.ndarray]:
    """(theta, tau) maps of the distances of the healed ensemble from the mean-field dynamics
    [seed 000 (16)-(18)], from ``seed000_validity_runs``: ``msd`` E(p - p_mf)^2, ``mean``
    E p - p_mf, ``eps_c`` RMS|p - p_mf| / |p_mf - p0|, ``infidelity`` 1 - <psi_mf|E rho|psi_mf>
    and ``trace_distance`` ||E rho - |psi_mf><psi_mf| ||_1 / 2."""
    dev2 = (runs["p"] - runs["p_mf"][:, None, :]) ** 2  # (S, N, T)
    msd = dev2.mean(1)
    psi = runs["psi_mf"] / np.linalg.norm(runs["psi_mf"], axis=-1, keepdims=True)
    rho_mf = psi[..., :, None] * psi[..., None, :].conj()
    fidelity = np.einsum("sti,stij,stj->st", psi.conj(), runs["rho"], psi).real
    eig = np.linalg.eigvalsh(runs["rho"] - rho_mf)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps_c = np.sqrt(msd) / np.abs(runs["p_mf"] - p0)
    return dict(
        msd=msd,
        mean=runs["p"].mean(1) - runs["p_mf"],
        eps_c=eps_c,
        infidelity=1 - fidelity,
        trace_distance=0.5 * np.abs(eig).sum(-1),
    )


def moment_z_scores(x: Float[np.ndarray, " N"], mean: float, var: float) -> tuple[float, float]:
    """z-scores of the sample mean and variance of ``x`` against the exact ``mean`` and ``var``
    (standard errors sqrt(Var/N) and sqrt((m4 - Var^2)/N), m4 the sample's fourth central moment)."""
    x = np.asarray(x, np.float64)
    n, v = x.size, x.var()
    m4 = np.mean((x - x.mean()) ** 4)
    return float((x.mean() - mean) / np.sqrt(v / n)), float((v - var) / np.sqrt((m4 - v**2) / n))
