"""Likelihood-ratio test between nested models fitted to the same classical record.

Boundary asymptotics: S. G. Self and K.-Y. Liang, "Asymptotic properties of maximum likelihood
estimators and likelihood ratio tests under nonstandard conditions", J. Am. Stat. Assoc. 82, 605
(1987), case 5 (one parameter on the boundary of its domain; H. Chernoff, Ann. Math. Stat. 25, 573
(1954)): 2 log Lambda -> 1/2 chi^2_{df-1} + 1/2 chi^2_df.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaincc

from .._precision import cast_model
from ..models._base import AbstractModel
from .data import PathData
from .maximum_likelihood import FitResult, fit, loglik_at
from .parameters import POSITIVE, check_free, with_values


@dataclasses.dataclass(frozen=True)
class LRTest:
    """``statistic`` = 2 (log L_full - log L_null), its ``p_value`` under ``asymptotics``, the fits."""

    statistic: float
    df: int
    p_value: float
    asymptotics: str
    boundary: tuple[str, ...]
    full: FitResult
    null: FitResult | None
    null_loglik: float


def chi2_sf(x: float, df: int) -> float:
    """P(chi^2_df > x); chi^2_0 is the point mass at 0."""
    if df == 0:
        return 0.0 if x > 0 else 1.0
    return float(gammaincc(df / 2.0, max(x, 0.0) / 2.0))


def likelihood_ratio_test(
    model: AbstractModel,
    data: PathData,
    free,
    null: dict[str, float],
    *,
    state0,
    positive=None,
    **fit_options,
) -> LRTest:
    """Test H0: the parameters in ``null`` take the given values, against the model with ``free``
    (which must contain them) fitted freely; the other free parameters are fitted under both.

    p-value: chi^2 with df = len(null) when the null values are inside the parameters' domains;
    when one of them lies on the boundary (0 for a parameter kept positive, e.g. a decoherence
    rate beyond saturation: "is the trade-off saturated?") the 50:50 mixture of chi^2_{df-1} and
    chi^2_df (Self and Liang 1987, case 5). More than one null value on a boundary is refused (the
    mixture weights then depend on the information matrix).
    """
    names, _ = check_free(model, free, positive)
    missing = [n for n in null if n not in names]
    if not null or missing:
        raise ValueError(f"null: name free parameters to fix; {missing or '(none)'} not among free = {list(names)}")
    positive_set = POSITIVE if positive is None else frozenset(positive)
    boundary = tuple(n for n, v in null.items() if n in positive_set and float(v) == 0.0)
    outside = [n for n, v in null.items() if n in positive_set and float(v) < 0.0]
    if outside:
        raise ValueError(f"null: {outside} are positive parameters; a null value < 0 is outside their domain")
    if len(boundary) > 1:
        raise ValueError(f"null: {list(boundary)} all lie on the boundary; the test handles at most one")
    full = fit(model, data, names, state0=state0, positive=positive, **fit_options)
    restricted = cast_model(model, jnp.float64)
    restricted = with_values(restricted, tuple(null), jnp.array([float(v) for v in null.values()], jnp.float64))
    rest = tuple(n for n in names if n not in null)
    if rest:
        null_fit = fit(restricted, data, rest, state0=state0, positive=positive, **fit_options)
        null_loglik = null_fit.loglik
    else:
        null_fit = None
        null_loglik = loglik_at(model, data, tuple(null), [float(v) for v in null.values()], state0)
    stat = 2.0 * (full.loglik - null_loglik)
    df = len(null)
    if boundary:
        p = 0.5 * chi2_sf(stat, df - 1) + 0.5 * chi2_sf(stat, df)
        how = f"1/2 chi2_{df - 1} + 1/2 chi2_{df} ({boundary[0]} = 0 on the boundary; Self and Liang 1987)"
    else:
        p, how = chi2_sf(stat, df), f"chi2_{df}"
    return LRTest(
        statistic=float(stat),
        df=df,
        p_value=float(np.clip(p, 0.0, 1.0)),
        asymptotics=how,
        boundary=boundary,
        full=full,
        null=null_fit,
        null_loglik=float(null_loglik),
    )
