"""Maximum-likelihood estimation of model parameters from classical records.

The likelihood is the exact likelihood of the discretely observed paths (``filter``); the
optimiser is optax's L-BFGS with a zoom line search on the log-likelihood per observed increment,
positive parameters optimised on a log scale; standard errors from the observed Fisher
information, the Hessian of the negative log-likelihood at the optimum.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._precision import cast_model
from ..models._base import AbstractJumpModel, AbstractModel
from ..models._consistency import check_complete_positivity
from .data import PathData
from .jump_filter import jump_channels_dense
from .parameters import check_free, get_values, to_natural, to_unconstrained, with_values
from .quantum_filter import check_filterable, filter_paths, loglikelihood


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Estimates, standard errors (sqrt of the diagonal of the inverse observed information),
    covariance and correlation (in the order of ``names``), the maximised total log-likelihood,
    whether the optimiser converged (gradient below tolerance, positive-definite information, the
    Newton step from the estimate below 1e-3 standard errors) and the fitted model."""

    names: tuple[str, ...]
    estimates: dict[str, float]
    stderr: dict[str, float]
    covariance: np.ndarray
    correlation: np.ndarray
    loglik: float
    converged: bool
    iterations: int
    model: AbstractModel
    transitions: int

    def to_json(self) -> dict:
        return {
            "estimates": self.estimates,
            "stderr": self.stderr,
            "covariance": self.covariance.tolist(),
            "correlation": self.correlation.tolist(),
            "parameters": list(self.names),
            "loglik": self.loglik,
            "converged": self.converged,
            "iterations": self.iterations,
            "transitions": self.transitions,
        }

    def report(self) -> str:
        lines = [f"{n:<12} {self.estimates[n]:>14.6g} +- {self.stderr[n]:<12.3g}" for n in self.names]
        lines.append(
            f"loglik {self.loglik:.10g} over {self.transitions} increments; "
            f"{'converged' if self.converged else 'NOT converged'} after {self.iterations} iterations"
        )
        return "\n".join(lines)


def _objective(u, model, names, positive, ts, zs, state0, scale):
    """Negative log-likelihood per increment at unconstrained parameters u (``positive``: a boolean
    array, traced, so that fits of the same parameters with other transforms share one compilation)."""
    return -loglikelihood(with_values(model, names, to_natural(u, positive)), ts, zs, state0) / scale


_value_and_grad = eqx.filter_jit(jax.value_and_grad(_objective))


@eqx.filter_jit
def _lbfgs_direction(grad, opt_state, u):
    return optax.scale_by_lbfgs().update(grad, opt_state, u)


@eqx.filter_jit
def _autodiff_information(theta, model, names, ts, zs, state0):
    """The observed information -d^2 log L / d theta^2 by ``jax.hessian`` (exact; slow to compile)."""
    return -jax.hessian(lambda th: loglikelihood(with_values(model, names, th), ts, zs, state0))(theta)


def fit(
    model: AbstractModel,
    data: PathData,
    free=("lam", "sigma"),
    *,
    state0,
    positive=None,
    max_iterations: int = 500,
    gtol: float = 1e-9,
    hessian: str = "differences",
) -> FitResult:
    """Maximum-likelihood estimate of the ``free`` parameters of ``model`` (its values are the
    starting point, the others stay fixed) from the record ``data``, the quantum state at the first
    time being ``state0`` (psi or rho) on every path.

    Positive parameters (``positive``; default ``parameters.POSITIVE``) are optimised as log theta.
    The search: optax's L-BFGS direction (``scale_by_lbfgs``) with a backtracking (Armijo) line
    search on the host, so the likelihood and its gradient compile once. Converged: the gradient of
    the negative log-likelihood per increment with respect to the optimised variables is below
    ``gtol`` (max norm), the observed information I = -d^2 log L / d theta^2 is positive definite
    and the Newton step I^-1 grad is below 1e-3 standard errors. ``hessian``: ``"differences"``
    (central differences of the compiled gradient, relative step 1e-4: O(1e-8) relative error) or
    ``"autodiff"`` (``jax.hessian``; exact, but its compilation takes minutes on a small CPU).
    Covariance I^-1 (asymptotic; not meaningful for an estimate on its domain's boundary).
    The estimate must be completely positive at the data, else ValueError.
    """
    if not jax.config.read("jax_enable_x64"):
        raise ValueError("fit: needs float64; call jax.config.update('jax_enable_x64', True) first")
    if hessian not in ("differences", "autodiff"):
        raise ValueError(f"hessian: choose 'differences' or 'autodiff', got {hessian!r}")
    check_filterable(model)
    names, positive = check_free(model, free, positive)
    model = cast_model(model, jnp.float64)
    ts, zs = jnp.asarray(data.t, jnp.float64), jnp.asarray(data.z, jnp.float64)
    state0 = jnp.asarray(state0, jnp.complex128)
    if isinstance(model, AbstractJumpModel):
        _check_jump_fit(model, names, ts, zs, state0)
    args = (model, names, jnp.array(positive), ts, zs, state0, float(data.transitions))
    u, small, iterations = _minimise(to_unconstrained(get_values(model, names), args[2]), args, max_iterations, gtol)
    theta = to_natural(u, args[2])
    fitted = with_values(model, names, theta)
    _check_estimate(fitted, zs)
    if hessian == "autodiff":
        info = np.asarray(_autodiff_information(theta, model, names, ts, zs, state0))
    else:
        info = _difference_information(u, args)
    loglik, grad = _value_and_grad(u, *args)
    grad_theta = np.asarray(grad) / np.asarray(_dtheta(u, args[2])) * -data.transitions
    return _result(
        names,
        np.asarray(theta),
        info,
        -float(loglik) * data.transitions,
        grad_theta,
        small,
        iterations,
        fitted,
        data.transitions,
    )


def loglik_at(model: AbstractModel, data: PathData, names, values, state0) -> float:
    """The total log-likelihood with parameters ``names`` set to ``values`` (the compiled function
    a fit of the same parameters uses)."""
    u = jnp.asarray(values, jnp.float64)
    args = (cast_model(model, jnp.float64), tuple(names), jnp.zeros(len(names), bool))
    data_args = (
        jnp.asarray(data.t, jnp.float64),
        jnp.asarray(data.z, jnp.float64),
        jnp.asarray(state0, jnp.complex128),
    )
    return -float(_value_and_grad(u, *args, *data_args, float(data.transitions))[0]) * data.transitions


_ROUNDING = 8 * float(np.finfo(np.float64).eps)  # relative change of the objective that rounding explains


def _minimise(u, args, max_iterations: int, gtol: float, value_and_grad=_value_and_grad):
    """L-BFGS directions with Armijo backtracking: (u, gradient small, iterations); ``value_and_grad(u,
    *args)`` of the objective (default: the path likelihood's, compiled). It stops where the gradient
    is below ``gtol``, where no step decreases the objective ("small": within 1e3 gtol), and where the
    gradient is within 1e3 gtol and a step decreases it by a few ulps only (an Armijo test against a
    slope of ~1e-18 accepts rounding noise, and the search would creep on to ``max_iterations``);
    ``fit``'s convergence test (positive-definite information, Newton step below 1e-3 standard
    errors) then decides."""
    value, grad = value_and_grad(u, *args)
    if not np.isfinite(float(value)):
        raise ValueError(
            f"fit: the log-likelihood at the starting values {dict(zip(args[1], np.asarray(u).tolist()))} is not finite"
        )
    opt_state = optax.scale_by_lbfgs().init(u)
    for it in range(max_iterations):
        if float(jnp.max(jnp.abs(grad))) < gtol:
            return u, True, it
        direction, opt_state = _lbfgs_direction(grad, opt_state, u)
        slope = float(jnp.dot(grad, direction))
        if not slope > 0:  # not a descent direction: forget the curvature pairs, go down the gradient
            opt_state, direction, slope = optax.scale_by_lbfgs().init(u), grad, float(jnp.dot(grad, grad))
        t = 1.0
        while True:
            trial = u - t * direction
            v, g = value_and_grad(trial, *args)
            if np.isfinite(float(v)) and float(v) <= float(value) - 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:  # no decrease along the direction: rounding level, stop here
                return u, float(jnp.max(jnp.abs(grad))) < 1e3 * gtol, it
        if float(value) - float(v) <= _ROUNDING * abs(float(value)) and float(jnp.max(jnp.abs(g))) < 1e3 * gtol:
            return trial, True, it + 1  # near the maximum, the line search decided by rounding alone
        u, value, grad = trial, v, g
    return u, False, max_iterations


def _dtheta(u, positive):
    """d theta / d u (theta = exp(u) for positive parameters)."""
    return jnp.where(positive, jnp.exp(u), 1.0)


def _difference_information(u, args) -> np.ndarray:
    """-d^2 log L / d theta^2 from central differences of the compiled gradient in u, mapped to the
    natural parameters: f_ij = (F_ij - delta_ij f_i theta_i'') / (theta_i' theta_j')."""
    positive, scale = args[2], args[-1]
    k = u.shape[0]
    h = 1e-4 * np.maximum(1.0, np.abs(np.asarray(u)))
    rows = []
    for i in range(k):
        e = jnp.zeros(k).at[i].set(h[i])
        rows.append(
            (np.asarray(_value_and_grad(u + e, *args)[1]) - np.asarray(_value_and_grad(u - e, *args)[1])) / (2 * h[i])
        )
    F = 0.5 * (np.array(rows) + np.array(rows).T) * scale  # Hessian of the total negative log-likelihood in u
    g = np.asarray(_value_and_grad(u, *args)[1]) * scale
    d1 = np.asarray(_dtheta(u, positive))
    d2 = np.where(np.asarray(positive), d1, 0.0)  # theta'' = theta for exp, 0 for the identity
    f = g / d1  # gradient in theta
    return (F - np.diag(f * d2)) / np.outer(d1, d1)


def _check_jump_fit(model: AbstractJumpModel, names, ts, zs, state0) -> None:
    """A jump model's record must be one of its paths at the starting values (``filter_paths`` refuses
    the first step that is not), and, without classical noise, the free parameters must leave the
    jump shifts where they are: the jump sizes in the record fix them (the likelihood is zero elsewhere)."""
    filter_paths(model, ts, zs, state0, keep_states=False)
    if np.any(np.asarray(model.noise(zs[0, 0])) != 0):  # with classical noise the likelihood is smooth in the shifts
        return
    shifts = lambda th: jump_channels_dense(with_values(model, names, th), zs[0, 0])[1]  # type: ignore[arg-type]
    jac = np.asarray(jax.jacfwd(shifts)(get_values(model, names)))
    moving = [n for i, n in enumerate(names) if np.any(jac[..., i] != 0)]
    if moving:
        raise ValueError(
            f"free: {', '.join(moving)} change the jump shifts of {type(model).__name__}; the jump sizes of a "
            "record fix them (the likelihood is zero elsewhere): keep them fixed"
        )


def _check_estimate(fitted: AbstractModel, zs) -> None:
    """The estimated model must be completely positive along the data (a sample of its points)."""
    points = zs.reshape(-1, zs.shape[-1])
    points = points[:: max(1, points.shape[0] // 256)]
    try:
        check_complete_positivity(fitted, points)
    except ValueError as err:
        raise ValueError(f"fit: the estimate is not completely positive at the data: {err}") from None


def _result(names, theta, info, loglik, grad, small, iterations, fitted, transitions) -> FitResult:
    """Covariance I^-1 where I is positive definite (else NaN, not converged); ``grad``: d log L / d theta."""
    positive_definite = bool(np.all(np.isfinite(info)) and np.all(np.linalg.eigvalsh(info) > 0))
    cov = np.linalg.inv(info) if positive_definite else np.full(info.shape, np.nan)
    se = np.sqrt(np.diag(cov))
    newton = np.abs(cov @ grad) / se if positive_definite else np.full(len(names), np.inf)
    return FitResult(
        names=names,
        estimates={n: float(v) for n, v in zip(names, theta)},
        stderr={n: float(s) for n, s in zip(names, se)},
        covariance=cov,
        correlation=cov / np.outer(se, se),
        loglik=float(loglik),
        converged=bool(small and positive_definite and np.all(newton < 1e-3)),
        iterations=int(iterations),
        model=fitted,
        transitions=int(transitions),
    )
