"""Ensemble against master equation: z-scores for every observable, saved time and histogram
matrix element, and a figure of both.

For an ensemble estimate X (standard error SE) and the master value M (estimated discretisation
error E, from ``solve_master``'s half-resolution run):

    z = |X - M| / sqrt(SE^2 + E^2 + floor^2),

``floor`` = 10 x the rounding of the ensemble's precision relative to max(1, |M|), so that entries
known exactly to both (t = 0) do not divide by zero. For a histogram element (a, b) whose
master weight W = |varrho_ab| x bin volume stands for fewer than 30 trajectories (each adds at
most 1 / volume), SE is raised to at least sqrt(W / N) / (bin volume) (N the number of
trajectories): the sample SE of a nearly empty bin, or of a branch or a coherence nearly absent
from a bin, says nothing. The histogram is compared from the first saved time after t = 0: at t = 0 both
hold the same initial condition, and a point on a bin edge is binned differently by the two.

With K comparisons, the two agree when the worst z is below the threshold
z* = Phi^{-1}(1 - alpha / (2K)) (Bonferroni, alpha = 0.01 by default): if the ensemble and the
master describe the same dynamics, a false alarm happens in at most 1% of runs (fewer, since the
comparisons are positively correlated).

The stopped mass of an absorbing model (``stopped``, ``stopped*|k><k|``: each trajectory adds 0
or at most 1 / N, like a histogram bin) gets the same floor, SE >= sqrt(M / N), while fewer than
30 stopped trajectories are expected (N M < 30): a sample of no or few stopped trajectories has a
standard error of (nearly) 0 that says nothing.

The verdict is about what was compared only: observables in one file only (the master's in a
note), and those not linear in the CQ state, are listed as not compared, and an observable that
is 0 with SE 0 at every time after t = 0 (nothing happened: e.g. no trajectory stopped by t1) is
named in a note.

They never agree when something could not be compared (``Comparison.problems``): a non-finite
input or z-score (a NaN counts as the worst z, never skipped), nothing in common to compare, a
master that lost more than ``max_lost`` of its mass off the grid, or an ensemble that excluded
non-finite trajectories (its statistics are then conditioned on finiteness).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from ..spec.observables import KETBRA, has_expectations, is_stopped_factor

_FEW = 30.0  # expected trajectories in a bin below which its SE gets the floor sqrt(P / N)


def threshold(n_comparisons: int, alpha: float = 0.01) -> float:
    """Bonferroni threshold on |z| for ``n_comparisons`` two-sided tests at family-wise level alpha."""
    return NormalDist().inv_cdf(1 - alpha / (2 * max(n_comparisons, 1)))


@dataclass
class Comparison:
    """z-scores per observable (T,) and per histogram element (T, bins..., d, d, 2: re, im);
    ``problems``: what could not be compared and why (one line each); ``notes``: remarks."""

    t: np.ndarray
    z: dict[str, np.ndarray]
    histogram_z: np.ndarray | None
    n_comparisons: int
    threshold: float
    alpha: float
    worst: float
    worst_where: str
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.problems and bool(np.isfinite(self.worst) and self.worst <= self.threshold)

    @property
    def verdict(self) -> str:
        if self.problems:
            n = len(self.problems)
            return f"cannot agree: {n} problem{'s' if n > 1 else ''} (see above)"
        return "agree" if self.agree else "DISAGREE"

    def report(self) -> str:
        lines = [f"{'observable':<16} {'max |z|':>9}   at t"]
        for name, z in self.z.items():
            k = argworst(z)
            if k is not None:
                lines.append(f"{name:<16} {z[k]:>9.3g}   {self.t[k[0]]:.4g}")
        if self.histogram_z is not None:
            hz, valid = self.histogram_z, _histogram_valid(self.histogram_z.shape)
            for a, b, part, label in _elements(hz.shape[-2]):
                k = argworst(hz[..., a, b, part], valid[..., a, b, part])
                if k is not None:
                    lines.append(f"{f'{label} (hist)':<16} {hz[..., a, b, part][k]:>9.3g}   {self.t[k[0]]:.4g}")
        if self.skipped:
            lines.append(f"not compared: {', '.join(self.skipped)} (the verdict below says nothing about these)")
        lines += [f"note: {n}" for n in self.notes] + [f"problem: {p}" for p in self.problems]
        lines.append(
            f"worst z-score: {self.worst:.3g} ({self.worst_where}); threshold {self.threshold:.3g} for "
            f"{self.n_comparisons} comparisons at family-wise alpha = {self.alpha:g}: {self.verdict}"
        )
        return "\n".join(lines)


def _elements(d: int):
    """(a, b, part, label) of the independent matrix elements: a <= b, no imaginary diagonal."""
    for a in range(d):
        for b in range(a, d):
            yield a, b, 0, f"Re rho_{a}{b}"
            if a != b:
                yield a, b, 1, f"Im rho_{a}{b}"


def argworst(z: np.ndarray, valid: np.ndarray | None = None) -> tuple | None:
    """Index of the largest z among ``valid``, a NaN counting as largest (the earliest such, time
    first); None when nothing is valid."""
    valid = np.ones(z.shape, bool) if valid is None else valid
    if not valid.any():
        return None
    rank = np.where(valid, np.where(np.isnan(z), np.inf, z), -np.inf)
    return np.unravel_index(int(np.argmax(rank)), z.shape)


def _rank(value: float) -> float:
    return np.inf if np.isnan(value) else value


def _floor(run_meta: dict) -> float:
    precision = run_meta.get("config", {}).get("run", {}).get("precision", "float32")
    return 10 * float(np.finfo(np.float32 if precision == "float32" else np.float64).eps)


def compare_results(run: dict, master: dict, alpha: float = 0.01, max_lost: float = 1e-3) -> Comparison:
    """Compare a loaded ensemble results file with a loaded master results file; ``max_lost``: the
    largest master mass off the grid that still allows a verdict."""
    if "min_eig" in run or "min_eig" not in master:
        raise ValueError("compare: give an ensemble results file (cqjax run) and then a master file (cqjax master)")
    t = np.asarray(run["t"])
    if t.shape != np.shape(master["t"]) or not np.allclose(t, master["t"], rtol=1e-9, atol=1e-12):
        raise ValueError("compare: the two files have different saved times (use the same run.t1 and run.n_saves)")
    floor = _floor(run.get("meta", {}))
    n_traj = float(run.get("meta", {}).get("trajectories", np.nan))
    zs, skipped, problems = _observable_z(run, master, t, floor, n_traj)
    hz = None
    if "histogram.density" in run and "histogram.density" in master:
        hz = _histogram_z(run, master, floor, n_traj)
        hz[0] = np.nan  # t = 0: the shared initial condition (see the module docstring)
        problems += _histogram_problems(run, master, hz, t)
    elif "histogram.density" in run or "histogram.density" in master:
        skipped.append("histogram (only in one file)")
    n = sum(z.size for z in zs.values())
    if hz is not None:
        n += int(_histogram_valid(hz.shape).sum())
    if n == 0:
        problems.append("nothing was compared: the two files share no observable and no histogram after t = 0")
    problems += _master_lost(master, max_lost) + _excluded(run)
    worst, where = _worst(zs, hz, t)
    only_master = [k[:-5] for k in master if k.endswith(".mean") and f"{k[:-5]}.mean" not in run]
    notes = [f"only in the master file, not compared: {', '.join(only_master)}"] if only_master else []
    notes += _vacuous(run, zs)
    if master.get("meta", {}).get("completely_positive") is False:
        notes.append("the master's generator is not completely positive (varrho may leave the positive matrices)")
    return Comparison(
        t=t,
        z=zs,
        histogram_z=hz,
        n_comparisons=n,
        threshold=threshold(n, alpha),
        alpha=alpha,
        worst=worst,
        worst_where=where,
        skipped=skipped,
        problems=problems,
        notes=notes,
    )


def _observable_z(run: dict, master: dict, t: np.ndarray, floor: float, n_traj: float):
    """z per observable in both files, the names in only one, and one problem per observable with
    a non-finite input or z-score."""
    zs, skipped, problems = {}, [], []
    for name in [k[:-5] for k in run if k.endswith(".mean")]:
        if has_expectations(name):  # a product of expectations (cqjax.spec.observables): not linear in varrho
            skipped.append(f"{name} (not linear in the CQ state: the master equation cannot compute it)")
            continue
        if f"{name}.mean" not in master or f"{name}.sem" not in run:
            skipped.append(name)
            continue
        m = np.asarray(master[f"{name}.mean"])
        e = np.asarray(master.get(f"{name}.err", np.zeros_like(m)))
        x, se = np.asarray(run[f"{name}.mean"]), np.asarray(run[f"{name}.sem"])
        if _stopped_population(name):  # few stopped trajectories: their sample SE says nothing
            se = np.where(np.abs(m) * n_traj < _FEW, np.maximum(se, np.sqrt(np.abs(m) / n_traj)), se)
        with np.errstate(invalid="ignore", over="ignore"):
            zs[name] = np.abs(x - m) / np.sqrt(se**2 + e**2 + (floor * np.maximum(1.0, np.abs(m))) ** 2)
        inputs = {"ensemble mean": x, "ensemble sem": se, "master mean": m, "master err": e, "z-score": zs[name]}
        bad = {label: ~np.isfinite(a) for label, a in inputs.items()}
        if any(b.any() for b in bad.values()):
            k = int(np.argmax(np.any(list(bad.values()), axis=0)))
            which = ", ".join(label for label, b in bad.items() if b.any())
            problems.append(f"{name}: not finite ({which}), first at t = {t[k]:.4g}: cannot be compared")
    return zs, skipped, problems


def _stopped_population(name: str) -> bool:
    """``stopped`` or ``stopped*|k><k|`` (or ``stopped[wall]``...): each trajectory's value is
    1_stopped or 1_stopped <P_k>, in [0, 1]."""
    factors = [f.replace(" ", "") for f in name.split("*")]
    others = [f for f in factors if not is_stopped_factor(f)]
    return len(factors) - len(others) == 1 and (not others or (len(others) == 1 and bool(KETBRA.fullmatch(others[0]))))


def _vacuous(run: dict, zs: dict) -> list[str]:
    """A note for each compared observable that is exactly 0 with SE 0 on the ensemble after t = 0."""
    out = []
    for name in zs:
        x, se = np.asarray(run[f"{name}.mean"])[1:], np.asarray(run[f"{name}.sem"])[1:]
        if x.size and not np.any(x) and not np.any(se):
            out.append(
                f"{name}: 0 on every trajectory at every saved time after t = 0 (only checked that the master's "
                "value is within its error of 0)"
            )
    return out


def _histogram_problems(run: dict, master: dict, hz: np.ndarray, t: np.ndarray) -> list[str]:
    """One line if any compared histogram entry (after t = 0) has a non-finite input or z-score."""
    valid = _histogram_valid(hz.shape)
    parts = lambda a: np.stack([np.real(a), np.imag(a)], axis=-1)  # noqa: E731
    m = master["histogram.density"]
    inputs = {
        "ensemble density": parts(run["histogram.density"]),
        "ensemble sem": parts(run["histogram.sem"]),
        "master density": parts(m),
        "master err": parts(master.get("histogram.err", np.zeros_like(m))),
        "z-score": hz,
    }
    bad = {label: valid & ~np.isfinite(a) for label, a in inputs.items()}
    anywhere = np.any(list(bad.values()), axis=0)
    if not anywhere.any():
        return []
    k = np.unravel_index(int(np.argmax(anywhere)), anywhere.shape)
    which = ", ".join(label for label, b in bad.items() if b.any())
    element = f"{'Re' if k[-1] == 0 else 'Im'} rho_{k[-3]}{k[-2]}, bin {tuple(int(i) for i in k[1:-3])}"
    n = int(anywhere.sum())
    return [
        f"histogram: {n} {'entries' if n > 1 else 'entry'} not finite ({which}), first {element} at "
        f"t = {t[k[0]]:.4g}: cannot be compared"
    ]


def _master_lost(master: dict, max_lost: float) -> list[str]:
    """A problem when the master lost more than ``max_lost`` of its mass off the grid."""
    if "lost" not in master:
        return []
    lost = np.asarray(master["lost"])
    worst = float(np.max(np.where(np.isnan(lost), np.inf, lost))) if lost.size else 0.0
    if worst <= max_lost:
        return []
    where = ""
    if "lost.sides" in master:
        sides = np.asarray(master["lost.sides"])[-1]
        coords = [str(c) for c in master.get("grid.coords", master.get("coords", []))]
        i, j = np.unravel_index(int(np.argmax(sides)), sides.shape)
        if i < len(coords):
            where = f", most through the {'low' if j == 0 else 'high'} side of {coords[i]!r}"
    return [
        f"the master lost up to {worst:.3g} of its mass off the grid (max_lost {max_lost:g}{where}): "
        "widen the grid ([master] extents, e.g. master.<coordinate> = [lo, hi])"
    ]


def _excluded(run: dict) -> list[str]:
    """A problem when the ensemble left non-finite trajectories out of its statistics (meta
    ``excluded_trajectories``; in older files, any positive ``nonfinite`` count)."""
    n = run.get("meta", {}).get("excluded_trajectories")
    if n is None and "nonfinite" in run and np.size(run["nonfinite"]):
        n = int(np.ceil(np.max(run["nonfinite"])))
    if not n or n <= 0:
        return []
    return [
        f"the ensemble excluded {int(n)} non-finite trajectories: its statistics are conditioned on "
        "finiteness, not comparable"
    ]


def _worst(zs: dict, hz: np.ndarray | None, t: np.ndarray) -> tuple[float, str]:
    """The largest z and where, a non-finite one winning (NaN is never skipped); NaN when nothing
    was compared."""
    worst, where, rank = np.nan, "nothing compared", -np.inf
    for name, z in zs.items():
        k = argworst(z)
        if k is not None and _rank(z[k]) > rank:
            worst, where, rank = float(z[k]), f"{name} at t = {t[k[0]]:.4g}", _rank(z[k])
    if hz is not None:
        k = argworst(hz, _histogram_valid(hz.shape))
        if k is not None and _rank(hz[k]) > rank:
            part, b = "Re" if k[-1] == 0 else "Im", tuple(int(i) for i in k[1:-3])
            worst, where = float(hz[k]), f"histogram {part} rho_{k[-3]}{k[-2]}, bin {b} at t = {t[k[0]]:.4g}"
    if where != "nothing compared" and not np.isfinite(worst):
        where += ", not finite"
    return worst, where


def _histogram_valid(shape) -> np.ndarray:
    """The compared histogram entries: independent elements (``_histogram_mask``) after t = 0."""
    valid = np.array(np.broadcast_to(_histogram_mask(shape), shape))
    valid[0] = False
    return valid


def _histogram_mask(shape) -> np.ndarray:
    """Which (a, b, re/im) entries are independent: a <= b, and no imaginary part on the diagonal."""
    d = shape[-2]
    mask = np.zeros((d, d, 2), bool)
    for a in range(d):
        for b in range(a, d):
            mask[a, b, 0] = True
            mask[a, b, 1] = a != b
    return np.broadcast_to(mask, shape[1:])


def _histogram_z(run: dict, master: dict, floor: float, n_traj: float) -> np.ndarray:
    coords = [str(c) for c in run["histogram.coords"]]
    if [str(c) for c in master["histogram.coords"]] != coords or any(
        not np.allclose(run[f"histogram.edges.{c}"], master[f"histogram.edges.{c}"]) for c in coords
    ):
        raise ValueError("compare: the histograms use different bins")
    x = np.asarray(run["histogram.density"])
    se = np.asarray(run["histogram.sem"])
    m = np.asarray(master["histogram.density"])
    err = np.asarray(master.get("histogram.err", np.zeros_like(m)))
    vol = float(np.prod([np.diff(run[f"histogram.edges.{c}"])[0] for c in coords]))
    # W = |varrho_ab| x volume: each trajectory adds at most 1 / volume to |element|, so at least
    # W N trajectories carry it; below _FEW their sample SE is unreliable
    weight = np.abs(m) * vol
    few = weight * n_traj < _FEW
    se_floor = np.sqrt(weight / n_traj) / vol
    scale_m = floor * np.maximum(1.0, np.abs(m))
    out = []
    for part in (np.real, np.imag):
        s = np.where(few, np.maximum(part(se), se_floor), part(se))
        scale = np.sqrt(s**2 + part(err) ** 2 + scale_m**2)
        out.append(np.abs(part(x) - part(m)) / scale)
    return np.stack(out, axis=-1)
