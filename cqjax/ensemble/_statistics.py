"""Streamed statistics of an ensemble: per-chunk records merged exactly on the host, and what
stops a run (a consistency violation, a non-finite trajectory, an overflowing statistic).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import SimulationError
from ..models._base import CONSISTENCY_RTOL
from ..models._consistency import consistency, consistency_message


def consistency_record(model, z, finite, index, pure, unravelled) -> dict:
    """The worst violation of each ``consistency`` check over the finite trajectories; the
    complete-positivity checks only where the trajectories unravel the CQ dynamics (``unravelled``:
    not the mean-field equations)."""
    rel, amount = jax.vmap(lambda p: consistency(model, p, pure))(z)  # (B, 3)
    needed = jnp.asarray([unravelled, unravelled, True])
    rel = jnp.where(finite[:, None] & needed[None, :], rel, -1.0)
    worst = jnp.argmax(rel, axis=0)  # (3,)
    checks = jnp.arange(rel.shape[1])
    return dict(cons_rel=rel[worst, checks], cons_amount=amount[worst, checks], cons_z=z[worst],
                cons_traj=index[worst])


class Tally:
    """Host-side merge of chunk records in float64: per-time counts, means and centred second
    moments (Chan et al.'s parallel formula), non-finite and stopped counts, histogram sums and
    the first ``n_samples`` sample trajectories."""

    def __init__(self, n_samples: int):
        self.n_samples = n_samples
        self.count = self.mean = self.m2 = self.nonfinite = self.stopped = self.hist = None
        self.samples: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, rec: dict) -> None:
        n, mean, m2 = (np.asarray(rec[k], np.float64) for k in ("count", "mean", "m2"))
        if self.count is None:
            self.count, self.mean, self.m2 = n, mean, m2
            self.nonfinite = np.asarray(rec["nonfinite"], np.float64)
            self.stopped = np.asarray(rec["stopped"], np.float64) if "stopped" in rec else None
        else:
            total = self.count + n
            frac = np.divide(n, total, out=np.zeros_like(total), where=total > 0)[:, None]
            delta = mean - self.mean
            self.mean = self.mean + delta * frac
            self.m2 = self.m2 + m2 + delta**2 * self.count[:, None] * frac
            self.count = total
            self.nonfinite = self.nonfinite + rec["nonfinite"]
            if self.stopped is not None:
                self.stopped = self.stopped + rec["stopped"]
        if "h_sum" in rec:
            parts = {k: np.asarray(rec[k], np.complex128 if k == "h_sum" else np.float64)
                     for k in ("h_sum", "h_sq_re", "h_sq_im", "h_outside")}
            self.hist = parts if self.hist is None else {k: self.hist[k] + parts[k] for k in parts}
        kept = sum(z.shape[1] for z, _ in self.samples)
        if kept < self.n_samples:
            take = self.n_samples - kept
            self.samples.append((np.asarray(rec["z"])[:, :take], np.asarray(rec["psi"])[:, :take]))


def first_violation(rec: dict, t: np.ndarray, coords: tuple[str, ...], policy: str, start: int,
                    chunk: int) -> str | None:
    """The first thing in a chunk's records that must stop the run, as a one-line message."""
    bad = np.asarray(rec["cons_rel"]) > CONSISTENCY_RTOL  # (T, 3)
    k_cons = int(np.argmax(bad.any(axis=1))) if bad.any() else len(t)
    nonfinite = np.asarray(rec["nonfinite"])
    k_nan = int(np.argmax(nonfinite > 0)) if policy == "fail" and nonfinite.any() else len(t)
    if k_cons < len(t) and k_cons <= k_nan:
        c = int(np.argmax(bad[k_cons]))
        where = f"at t = {t[k_cons]:.4g} on trajectory {int(rec['cons_traj'][k_cons, c])}"
        return consistency_message(c, float(rec["cons_amount"][k_cons, c]), where, rec["cons_z"][k_cons, c], coords)
    if k_nan < len(t):
        return (f"run.nonfinite = \"fail\": {int(nonfinite.max())} of trajectories {start}..{start + chunk - 1} "
                f"became NaN or inf, the first (trajectory {int(rec['first_bad'][k_nan])}) by t = {t[k_nan]:.4g}; "
                "cqjax.simulate with trajectory_key(key(seed), i) reproduces it; run.nonfinite = \"exclude\" "
                "takes the statistics over the finite trajectories instead")
    return None


def ensemble_statistics(tally: Tally, names: list[str], t: np.ndarray, precision: str) -> tuple[dict, dict]:
    """Means and standard errors per observable; refuses a time with no finite trajectory and
    statistics that overflowed the run's precision."""
    n = tally.count
    if (n <= 0).any():
        raise SimulationError(f"run.nonfinite: no finite trajectory is left at t = {t[int(np.argmax(n <= 0))]:.4g}")
    sem = np.sqrt(tally.m2 / np.maximum(n - 1.0, 1.0)[:, None] / n[:, None])
    for j, name in enumerate(names):
        for what, x in (("mean", tally.mean[:, j]), ("standard error", sem[:, j])):
            if not np.all(np.isfinite(x)):
                k = int(np.argmax(~np.isfinite(x)))
                raise SimulationError(
                    f"observables: the {what} of {name!r} is not finite at t = {t[k]:.4g} although every trajectory "
                    f"in it is: the values overflow {precision} (use run.precision = \"float64\" or rescale)")
    return ({k: tally.mean[:, j] for j, k in enumerate(names)}, {k: sem[:, j] for j, k in enumerate(names)})
