"""Observables against time: one panel per observable in a grid, the ensemble mean with a +-2 SE
band (a master-equation result: its estimated discretisation error ``.err`` as the band)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from ._data import as_data, model_name, observables
from ._style import MAX_COLS, MAX_PANELS, floor_note, grid, label_bottom_row, panel_figure, plain_axis, rounding_floor
from ._style import title as _title

__all__ = ["describe_observable", "observables_figure"]

_SPECIAL = {
    "purity": r"purity Tr$\rho^2$",
    "norm_error": r"$|\,\|\psi\|-1\,|$",
    "stopped": "fraction stopped",
    "X^n": r"$\langle X^{\otimes n}\rangle$ (parity)",
    "Y^n": r"$\langle Y^{\otimes n}\rangle$ (parity)",
    "Z^n": r"$\langle Z^{\otimes n}\rangle$ (parity)",
}


def describe_observable(name: str) -> str:
    """The y label of an observable: its expectation <name>, or what a special name measures
    (``X^n``: the n-qubit parity sx x ... x sx)."""
    return _SPECIAL.get(name, f"<{name}>")


def observables_figure(results, names: list[str] | None = None) -> Figure:
    """Every observable's mean against t (or the ``names`` given), in a grid of at most 4 columns
    and at most 24 panels (the title names how many more the results hold)."""
    data = as_data(results)
    table = observables(data)
    if names is not None:
        missing = [n for n in names if n not in table]
        if missing:
            raise ValueError(f"observables_figure: no observable {missing[0]!r} in the results")
        table = {n: table[n] for n in names}
    if not table:
        raise ValueError("observables_figure: the results hold no observables")
    shown = list(table)[:MAX_PANELS]
    t = np.asarray(data["t"], float)
    floor = rounding_floor(data.get("meta"))
    fig, axes = panel_figure(len(shown), sharex=True)
    for ax, name in zip(axes, shown):
        draw_observable(ax, t, table[name], floor)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(describe_observable(name), fontsize=8)
        ax.tick_params(labelsize=7)
    label_bottom_row(axes, grid(len(shown), MAX_COLS)[1], "t")
    axes[0].legend(fontsize=7, loc="best")
    more = f" ({len(shown)} of {len(table)} observables shown)" if len(table) > len(shown) else ""
    fig.suptitle(_title(model_name(data), f"observables{more}"), fontsize=10)
    return fig


def draw_observable(ax, t: np.ndarray, obs: Mapping[str, np.ndarray], floor: float) -> None:
    """One observable's mean with its band: +-2 SE (ensemble) or +-err (master)."""
    mean = obs["mean"]
    ax.plot(t, mean, color="C0", lw=1.4, label="mean")
    band = []
    if "sem" in obs:
        band = [mean - 2 * obs["sem"], mean + 2 * obs["sem"]]
        ax.fill_between(t, *band, color="C0", alpha=0.25, lw=0, label=r"$\pm$2 SE")
    elif "err" in obs:
        band = [mean - obs["err"], mean + obs["err"]]
        ax.fill_between(t, *band, color="C0", alpha=0.25, lw=0, label=r"$\pm$ discretisation error")
    ax.grid(alpha=0.3)
    if plain_axis(ax, [mean, *band], floor):
        floor_note(ax, floor)
