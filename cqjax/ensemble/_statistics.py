"""One chunk's reductions on the device (``chunk_record``) and what stops a run: a consistency
violation, a non-finite trajectory, an overflowing statistic.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import SimulationError
from ..models._base import CONSISTENCY_RTOL
from ..models._consistency import consistency, consistency_message
from ._histogram import histogram_record


def chunk_record(
    model,
    observables,
    z,
    psi,
    valid,
    offsets,
    *,
    pure,
    unravelled,
    n_samples,
    hist,
    hist_idx,
    mixed,
    boundary,
    weighted=False,
) -> dict:
    """A chunk's reductions at one saved time: count, mean and centred second moment of every
    observable over the trajectories that are the run's (``valid``) and finite, the number that
    are not finite (and the smallest such offset), the worst ``consistency`` violation, the first
    ``n_samples`` trajectories whole, the stopped count and the histogram sums. A trajectory that
    is not finite never enters a mean. ``weighted`` (the linear unravelling): each trajectory's
    value is w O(z, rho~ / w), w = Tr rho~ (|psi~|^2), so that the mean is the unbiased linear
    estimator of the CQ state's expectation; ``w_sum``, ``w2_sum``: the sums of w and w^2 (of 1
    and 1 without weights), for the effective sample size."""
    chunk = z.shape[0]
    weight, state = trajectory_weights(psi, weighted)
    values = jnp.stack([jax.vmap(o)(z, state) for o in observables], axis=-1)  # (B, k)
    finite = (
        valid
        & jnp.all(jnp.isfinite(z), axis=-1)
        & jnp.all(jnp.isfinite(values), axis=-1)
        & jnp.all(jnp.isfinite(psi.reshape(chunk, -1)), axis=-1)
    )
    bad = valid & ~finite
    w = finite.astype(z.dtype)
    count = jnp.sum(w)
    values = jnp.where(finite[:, None], values * weight[:, None], 0)
    weight = jnp.where(finite, weight, 0)
    mean = jnp.sum(w[:, None] * values, axis=0) / jnp.maximum(count, 1)
    out = dict(
        count=count,
        mean=mean,
        m2=jnp.sum(w[:, None] * (values - mean) ** 2, axis=0),
        w_sum=jnp.sum(w * weight),
        w2_sum=jnp.sum(w * weight**2),
        nonfinite=jnp.sum(bad),
        first_bad=jnp.min(jnp.where(bad, offsets, chunk)),
        z=z[:n_samples],
        psi=psi[:n_samples],
    )
    out.update(consistency_record(model, z, finite, offsets, pure, unravelled))
    if boundary:
        out["stopped"] = jnp.sum(w * ~jax.vmap(model.inside)(z))
    if hist is not None:
        out.update(histogram_record(z, psi, w, hist, hist_idx, mixed))
    return out


def trajectory_weights(psi, weighted: bool):
    """(weights (B,), states to evaluate observables on): w = Tr rho~ or |psi~|^2 and the normalised
    states for a weighted (linear) unravelling; ones and the states as they are otherwise."""
    if not weighted:
        return jnp.ones(psi.shape[0], jnp.real(psi).dtype), psi
    if psi.ndim == 3:
        weight = jnp.real(jnp.trace(psi, axis1=-2, axis2=-1))
        return weight, psi / jnp.where(weight > 0, weight, 1)[:, None, None]  # an underflowed weight: value 0
    weight = jnp.sum(jnp.real(psi) ** 2 + jnp.imag(psi) ** 2, axis=-1)
    return weight, psi * jax.lax.rsqrt(jnp.where(weight > 0, weight, 1))[:, None]


def consistency_record(model, z, finite, index, pure, unravelled) -> dict:
    """The worst violation of each ``consistency`` check over the finite trajectories; the
    complete-positivity checks only where the trajectories unravel the CQ dynamics (``unravelled``:
    not the mean-field equations)."""
    rel, amount = jax.vmap(lambda p: consistency(model, p, pure))(z)  # (B, 3)
    needed = jnp.asarray([unravelled, unravelled, True])
    rel = jnp.where(finite[:, None] & needed[None, :], rel, -1.0)
    worst = jnp.argmax(rel, axis=0)  # (3,)
    checks = jnp.arange(rel.shape[1])
    return dict(cons_rel=rel[worst, checks], cons_amount=amount[worst, checks], cons_z=z[worst], cons_traj=index[worst])


def first_violation(
    rec: dict, t: np.ndarray, coords: tuple[str, ...], policy: str, start: int, n_valid: int
) -> str | None:
    """The first thing in the records of the chunk of trajectories start .. start + n_valid - 1
    that must stop the run, as a one-line message (trajectory numbers in the records are offsets
    within the chunk)."""
    bad = np.asarray(rec["cons_rel"]) > CONSISTENCY_RTOL  # (T, 3)
    k_cons = int(np.argmax(bad.any(axis=1))) if bad.any() else len(t)
    nonfinite = np.asarray(rec["nonfinite"])
    k_nan = int(np.argmax(nonfinite > 0)) if policy == "fail" and nonfinite.any() else len(t)
    if k_cons < len(t) and k_cons <= k_nan:
        c = int(np.argmax(bad[k_cons]))
        where = f"at t = {t[k_cons]:.4g} on trajectory {start + int(rec['cons_traj'][k_cons, c])}"
        return consistency_message(c, float(rec["cons_amount"][k_cons, c]), where, rec["cons_z"][k_cons, c], coords)
    if k_nan < len(t):
        return (
            f'nonfinite = "fail": {int(nonfinite.max())} of trajectories {start}..{start + n_valid - 1} '
            f"became NaN or inf, the first (trajectory {start + int(rec['first_bad'][k_nan])}) "
            f"by t = {t[k_nan]:.4g}; "
            'cqjax.simulate with trajectory_key(key(seed), i) reproduces it; nonfinite = "exclude" '
            "takes the statistics over the finite trajectories instead"
        )
    return None


def check_statistics(count: np.ndarray, mean: dict, sem: dict, t: np.ndarray, precision: str) -> None:
    """Refuse a time with no finite trajectory and statistics that overflowed the run's precision."""
    if (count <= 0).any():
        raise SimulationError(f"nonfinite: no finite trajectory is left at t = {t[int(np.argmax(count <= 0))]:.4g}")
    for name in mean:
        for what, x in (("mean", mean[name]), ("standard error", sem[name])):
            if not np.all(np.isfinite(x)):
                k = int(np.argmax(~np.isfinite(x)))
                raise SimulationError(
                    f"observables: the {what} of {name!r} is not finite at t = {t[k]:.4g} although every trajectory "
                    f'in it is: the values overflow {precision} (use run.precision = "float64" or rescale)'
                )
