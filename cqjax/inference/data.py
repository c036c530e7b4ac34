"""Classical paths as data: one format for simulated and measured records.

A record is a set of N classical paths sampled at common times: ``t`` (T,) strictly increasing and
``z`` (N, T, n), the coordinates in the model's order (``model.coords``: positions, then momenta).
On disk: an npz with ``paths.t`` and ``paths.z`` (optionally ``paths.coords``, the coordinate
names, and ``paths.<observable>``, conditional expectations of simulated data: what ``cqjax run``
writes with ``run.paths``), or a CSV with a
time column ``t`` and one column per coordinate, named as the model names them (one path).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from .._files import write_npz
from ..models._base import AbstractModel


class DataError(ValueError):
    """A data file that cannot be used; the message is one line naming the file and what is wrong."""


@dataclasses.dataclass(frozen=True)
class PathData:
    """``t`` (T,) and ``z`` (N, T, n) as float64 host arrays; ``coords`` the coordinate names."""

    t: np.ndarray
    z: np.ndarray
    coords: tuple[str, ...]
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def n_paths(self) -> int:
        return self.z.shape[0]

    @property
    def transitions(self) -> int:
        """N (T - 1): the number of observed increments."""
        return self.z.shape[0] * (self.z.shape[1] - 1)


def save_paths(data: PathData, path: str | Path) -> Path:
    """Write ``data`` as an npz (``paths.t``, ``paths.z``, ``paths.coords``, extras), atomically."""
    arrays = {"paths.t": data.t, "paths.z": data.z, "paths.coords": np.array(data.coords)}
    arrays.update({f"paths.{k}": v for k, v in data.extra.items()})
    return write_npz(path, arrays)


def load_paths(path: str | Path, model: AbstractModel, dt: float | None = None, rtol: float = 1e-6) -> PathData:
    """Read and validate a record for ``model`` (npz or CSV, by suffix): shapes, finite values,
    strictly increasing times, the model's coordinates and, with ``dt``, every time step equal to
    ``dt`` within ``rtol``. Raises ``DataError`` (one line) on the first problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data: no such file {str(path)!r}")
    if path.suffix.lower() == ".csv":
        t, z, coords = _read_csv(path, model)
    else:
        t, z, coords = _read_npz(path, model)
    return validate_paths(t, z, model, dt=dt, rtol=rtol, source=str(path), coords=coords)


def validate_paths(t, z, model: AbstractModel, *, dt=None, rtol=1e-6, source="data", coords=None) -> PathData:
    """Check arrays ``t`` (T,) and ``z`` (N, T, n) or (T, n) against ``model``; see ``load_paths``."""
    t, z = np.asarray(t), np.asarray(z)
    n = model.n_coords
    if coords is not None and tuple(coords) != model.coords:
        raise DataError(f"data: {source}: coordinates {list(coords)} do not match the model's {list(model.coords)}")
    if t.ndim != 1 or t.shape[0] < 2:
        raise DataError(f"data: {source}: paths.t must have shape (T,) with T >= 2, got {t.shape}")
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.shape[1:] != (t.shape[0], n):
        raise DataError(f"data: {source}: paths.z must have shape (N, {t.shape[0]}, {n}) (n = {n}), got {z.shape}")
    if z.shape[0] < 1:
        raise DataError(f"data: {source}: paths.z holds no path")
    for name, a in (("paths.t", t), ("paths.z", z)):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise DataError(f"data: {source}: {name} must be real numbers, got dtype {a.dtype}")
    t, z = t.astype(np.float64), z.astype(np.float64)
    if not np.all(np.isfinite(t)):
        raise DataError(f"data: {source}: paths.t has NaN/inf at index {int(np.argmin(np.isfinite(t)))}")
    bad = ~np.isfinite(z)
    if bad.any():
        i, k, j = np.argwhere(bad)[0]
        raise DataError(
            f"data: {source}: paths.z has NaN/inf at path {i}, time index {k}, coordinate {model.coords[j]!r}"
        )
    steps = np.diff(t)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0))
        raise DataError(f"data: {source}: paths.t is not strictly increasing at index {k + 1} (t = {t[k + 1]:.6g})")
    if dt is not None:
        off = np.abs(steps - dt) > rtol * dt
        if off.any():
            k = int(np.argmax(off))
            raise DataError(f"data: {source}: time step {steps[k]:.6g} at index {k + 1} does not match dt = {dt:.6g}")
    return PathData(t=t, z=z, coords=model.coords)


def _read_npz(path: Path, model: AbstractModel):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k in ("paths.t", "paths.z", "paths.coords")}
            weighted = "paths.weight" in f.files
    except (OSError, ValueError) as err:
        raise DataError(f"data: {path}: not a readable npz file ({err})") from None
    if weighted:
        raise DataError(
            f"data: {path}: paths.weight: these are paths of the linear unravelling (no back-reaction, weighted), "
            "not draws of the model; simulate records with the healed unravelling"
        )
    for key in ("paths.t", "paths.z"):
        if key not in arrays:
            raise DataError(f"data: {path}: no array {key!r} (a record needs paths.t (T,) and paths.z (N, T, n))")
    coords = arrays.get("paths.coords")
    return arrays["paths.t"], arrays["paths.z"], None if coords is None else tuple(str(c) for c in coords)


def _read_csv(path: Path, model: AbstractModel):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"data: {path}: cannot read ({err})") from None
    if not rows:
        raise DataError(f"data: {path}: empty file")
    header = [h.strip() for h in rows[0]]
    for column in ("t",) + model.coords:
        if column not in header:
            what = "the time column" if column == "t" else f"coordinate of {type(model).__name__}"
            raise DataError(f"data: {path}: column {column!r} ({what}) is missing; columns: {header}")
    idx = [header.index(c) for c in ("t",) + model.coords]
    values = np.empty((len(rows) - 1, len(idx)))
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise DataError(f"data: {path}: line {r + 2} has {len(row)} fields, the header {len(header)}")
        for c, i in enumerate(idx):
            try:
                values[r, c] = float(row[i])
            except ValueError:
                raise DataError(f"data: {path}: line {r + 2}, column {header[i]!r}: not a number: {row[i]!r}") from None
    return values[:, 0], values[None, :, 1:], None
