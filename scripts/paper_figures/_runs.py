"""The runs the figures draw: a few healed trajectories on a fine save grid, or a config's ensemble
with the qubit's Bloch components streamed, each beside the mean-field trajectory from the mean
initial point. The physics comes from the configs in ``configs/``; the sizes are these."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import cqjax
from cqjax.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
BRANCH = {+1: ("tab:orange", "final <sz> > 0 (towards |0>)"), -1: ("tab:blue", "final <sz> < 0 (towards |1>)")}
MF = {"color": "tab:red", "ls": "--", "lw": 1.6, "label": "mean-field"}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Numerical sizes (the physics comes from the configs)."""

    samples: int = 48  # healed trajectories in a trajectory figure
    max_saves: int = 500  # saved times per trajectory figure (the largest divisor of the steps up to this)
    ensemble: int | None = 20_000  # ensemble views: trajectories (None: the config's run.trajectories)
    kept: int = 20_000  # of which kept whole for the histograms
    thetas: int = 17  # validity map: initial states, 0 to 80 degrees
    validity: int | None = None  # validity map: trajectories per state (None: the config's)
    tau_max: float | None = None  # validity map: longest tau (None: the config's t1)


FULL = Sizes()
QUICK = Sizes(samples=8, max_saves=100, ensemble=4000, kept=4000, thetas=4, validity=400, tau_max=4.0)


class Skipped(Exception):
    """A figure whose model or config does not exist yet."""


@dataclasses.dataclass
class Runs:
    """One config's healed run and the mean-field trajectory from the mean initial point."""

    config: str
    cfg: cqjax.RunConfig
    t: np.ndarray  # (T,)
    z: np.ndarray  # (K, T, n) healed trajectories kept whole
    psi: np.ndarray  # (K, T, d)
    mean: dict[str, np.ndarray]  # ensemble means over all trajectories
    sem: dict[str, np.ndarray]
    trajectories: int
    mf_z: np.ndarray  # (T, n)
    mf_psi: np.ndarray  # (T, d)

    def coord(self, name: str) -> int:
        return self.cfg.model.coords.index(name)

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(healed (K, T), mean-field (T,)) values of a coordinate, or of the time for 't'."""
        if name == "t":
            return np.broadcast_to(self.t, self.z.shape[:2]), self.t
        i = self.coord(name)
        return self.z[..., i], self.mf_z[:, i]


def require_model(name: str, config: str) -> None:
    if name not in MODELS:
        raise Skipped(f"model {name} not available yet")
    if not (CONFIGS / config).exists():
        raise Skipped(f"config configs/{config} not available yet")


def fine_saves(cfg: cqjax.RunConfig, cap: int) -> int:
    """The largest divisor of the number of steps up to ``cap`` (or the config's n_saves if larger)."""
    steps = round(cfg.t1 / cfg.dt)
    return max(k for k in range(1, min(max(cap, cfg.n_saves), steps) + 1) if steps % k == 0)


def mean_field(cfg: cqjax.RunConfig, n_saves: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean-field (seed 004 eqs. 13-14) trajectory from the mean initial point."""
    dtype = jnp.float32 if cfg.precision == "float32" else jnp.float64
    sol = cqjax.simulate(
        cfg.model,
        jnp.asarray(cfg.initial.z_mean, dtype),
        cfg.initial.psi,
        jax.random.key(0),
        t1=cfg.t1,
        dt=cfg.dt,
        n_saves=n_saves,
        unravelling=cqjax.MeanField(),
        solver=cfg.solver,
    )
    return np.asarray(sol.z, np.float64), np.asarray(sol.psi, np.complex128)


@functools.cache
def runs(config: str, sizes: Sizes, ensemble: bool) -> Runs:
    """A few trajectories on a fine save grid, or (``ensemble``) the config's ensemble with the
    qubit's Bloch components streamed over all trajectories (``Sizes.kept`` of them kept whole)."""
    cfg = cqjax.load_config(CONFIGS / config)
    kw = cfg.run_kwargs()
    kw.update(histogram=None)
    if ensemble:
        n = sizes.ensemble or cfg.trajectories
        kw.update(trajectories=n, n_samples=min(n, sizes.kept), observables=("sx", "sy", "sz"))
    else:
        kw.update(
            trajectories=sizes.samples,
            n_samples=sizes.samples,
            observables=("norm_error",),
            n_saves=fine_saves(cfg, sizes.max_saves),
        )
    res = cqjax.run_ensemble(cfg.model, cfg.initial, **kw)
    mf_z, mf_psi = mean_field(cfg, kw["n_saves"])
    return Runs(
        config=config,
        cfg=cfg,
        t=np.asarray(res.t, np.float64),
        z=np.asarray(res.samples_z, np.float64),
        psi=np.asarray(res.samples_psi, np.complex128),
        mean=res.mean,
        sem=res.sem,
        trajectories=res.trajectories,
        mf_z=mf_z,
        mf_psi=mf_psi,
    )


def branch_picks(final_sz: np.ndarray) -> dict[int, int]:
    """The first trajectory ending with <sz> > 0 and the first with <sz> < 0 (if any)."""
    picks = {}
    for s in (+1, -1):
        hits = np.flatnonzero(np.sign(final_sz) == s)
        if hits.size:
            picks[s] = int(hits[0])
    return picks


def describe(r: Runs) -> str:
    params = ", ".join(f"{f.name} = {float(getattr(r.cfg.model, f.name)):g}" for f in dataclasses.fields(r.cfg.model))
    return (
        f"configs/{r.config}: {params}; t in [0, {r.cfg.t1:g}], dt = {r.cfg.dt:g}; "
        f"healed ({r.cfg.solver.name}) vs mean-field (red dashed)"
    )
