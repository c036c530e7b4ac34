"""Regenerate the papers' figures, and ensemble views the papers lack, into ``figures/``.

    python scripts/figures.py [--out figures/] [--only NAME ...] [--quick] [--list]

One module per figure in ``scripts/paper_figures/`` (this script only runs them and saves the
PNGs). Every figure reads its physics from a config in ``configs/`` (model, parameters, initial
state, t1, dt; the comments there say which numbers the paper gives and which were chosen). The
numerical sizes are ``paper_figures._runs.Sizes``: the trajectory figures draw 48 healed
trajectories on a finer save grid, the ensemble views run 2 x 10^4 trajectories, and ``--quick``
shrinks everything for the smoke test (``tests/test_figures.py``). The physics drawn beside the
runs (the trade-off prediction, exact closed forms, validity measures, Bloch vectors) comes from
``cqjax.analysis``; the drawing helpers (Bloch sphere, jumps) from ``cqjax.plot``.

Figures (PNG, one per name):
- ``fig2_diosi``, ``fig5_diosi`` (seed 004 Figs. 2, 5; linear Diosi, mirrored in p against the
  paper: a note on the figure says why eq. (C.8)'s sign is right), ``fig3_superposed_mass``,
  ``fig7_superposed_mass`` (Figs. 3, 7), ``fig1_seed000`` (seed 000 Fig. 1), ``fig4_ghz_lattice``
  (Fig. 4; the quantum panels are 5-qubit parities), ``fig6_sqrt_well`` (Fig. 6; the absorbing wall
  marked): healed sample trajectories (one ending in each branch, highlighted, as in Fig. 5) beside
  the mean-field prediction (red, dashed), in phase space, as Bloch components against t and on the
  Bloch sphere. Figures whose model is not registered are skipped.
- ``ensemble_diosi``, ``ensemble_superposed_mass``: the final classical momentum by branch, the
  collapse of <sz> across the ensemble, and E<sx>(t) against the decoherence-diffusion trade-off.
- ``validity_seed000``: seed 000's validity inequalities (16)-(18) against measured distances
  between the healed (exact) and the mean-field dynamics.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/: the paper_figures package

from paper_figures import FIGURES, FULL, QUICK, Skipped  # noqa: E402

from cqjax.models import MODELS  # noqa: E402, F401  (tests remove a model here to see a figure skipped)
from cqjax.plot import save_figure  # noqa: E402

__all__ = ["FIGURES", "FULL", "QUICK", "make"]


def make(
    names: list[str] | None = None, out: str | Path = "figures", quick: bool = False, log: Callable[[str], None] = print
) -> dict[str, tuple[Path | None, dict, float]]:
    """Make the named figures (all by default) into ``out``; return name -> (path or None if
    skipped, info, seconds). Runs shared between figures are counted in the first one."""
    sizes = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names or list(FIGURES):
        if name not in FIGURES:
            raise SystemExit(f"--only: unknown figure {name!r}; have {', '.join(FIGURES)}")
        t0 = time.perf_counter()
        try:
            fig, info = FIGURES[name](sizes)
        except Skipped as why:
            results[name] = (None, {"skipped": str(why)}, time.perf_counter() - t0)
            log(f"{name:26s} skipped: {why}")
            continue
        path = save_figure(fig, out / f"{name}.png")
        seconds = time.perf_counter() - t0
        results[name] = (path, info, seconds)
        summary = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in info.items())
        log(f"{name:26s} {seconds:6.1f} s  {path}  ({summary})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures/", help="output folder (default figures/)")
    parser.add_argument("--only", action="append", metavar="NAME", help="make only this figure (repeatable)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--list", action="store_true", help="list the figure names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(FIGURES))
        return
    unknown = [name for name in args.only or [] if name not in FIGURES]
    if unknown:  # before any run
        parser.error(f"--only: unknown figure {unknown[0]!r}; have {', '.join(FIGURES)}")
    t0 = time.perf_counter()
    results = make(args.only, args.out, args.quick)
    made = sum(path is not None for path, _, _ in results.values())
    print(f"{made} figure(s) in {args.out}, {len(results) - made} skipped, {time.perf_counter() - t0:.1f} s in all")


if __name__ == "__main__":
    main()
