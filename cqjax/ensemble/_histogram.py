"""The streamed histogram of varrho(z, t) = E[delta(z - Z_t) rho_t]: per-chunk sums and the estimate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..spec.histogram import HistogramSpec


def _bin_index(z, hist_idx, lo, width, nbins):
    """Flat bin index of z over the histogram coordinates and whether it is on the grid."""
    flat = jnp.zeros((), jnp.int32)
    inside = jnp.ones((), bool)
    for k, i in enumerate(hist_idx):
        b = jnp.floor((z[i] - lo[k]) / width[k]).astype(jnp.int32)
        inside = inside & jnp.isfinite(z[i]) & (b >= 0) & (b < nbins[k])
        flat = flat * nbins[k] + jnp.clip(b, 0, nbins[k] - 1)
    return flat, inside


def histogram_record(z, psi, w, hist, hist_idx, mixed) -> dict:
    """Per-bin sums of w rho, w Re(rho)^2, w Im(rho)^2 and the weight of finite points off the grid."""
    lo = [b[0] for b in hist.bins]
    width = [(b[1] - b[0]) / b[2] for b in hist.bins]
    nb = [b[2] for b in hist.bins]
    flat, inside = jax.vmap(lambda zz: _bin_index(zz, hist_idx, lo, width, nb))(z)
    wi = (w * inside)[:, None, None]
    rho = psi if mixed else psi[:, :, None] * jnp.conj(psi)[:, None, :]
    rho = jnp.where(wi > 0, rho, 0)  # no NaN leaks in
    seg = lambda x: jax.ops.segment_sum(x, flat, num_segments=int(np.prod(nb)))
    return dict(
        h_sum=seg(wi * rho),
        h_sq_re=seg(wi * jnp.real(rho) ** 2),
        h_sq_im=seg(wi * jnp.imag(rho) ** 2),
        h_outside=jnp.sum(w * ~inside),
    )


def histogram_estimate(sums: tuple, spec: HistogramSpec, counted: np.ndarray, total: float) -> dict[str, np.ndarray]:
    """varrho(z, t) ~ sum of rho in the bin / (N * cell volume), with its standard error.

    ``sums``: the accumulated (w rho, w Re(rho)^2, w Im(rho)^2, off-grid weight).
    Per trajectory X = 1[Z in bin] rho_ab / vol; SE = sqrt((E[X^2] - E[X]^2) / N) for the real
    and imaginary parts separately. N (``counted``, per saved time) is the number of finite
    trajectories; ``outside`` is the fraction of them off the grid and ``nonfinite`` the fraction
    of all ``total`` trajectories that were not finite (excluded).
    """
    h_sum, h_sq_re, h_sq_im, h_outside = sums
    vol = spec.cell_volume
    shape = (h_sum.shape[0], *spec.shape, *h_sum.shape[-2:])
    outside = h_outside / counted
    n = counted[:, None, None, None]
    mean = h_sum / (n * vol)
    sq_re = h_sq_re / (n * vol**2)
    sq_im = h_sq_im / (n * vol**2)
    se_re = np.sqrt(np.clip(sq_re - mean.real**2, 0, None) / n)
    se_im = np.sqrt(np.clip(sq_im - mean.imag**2, 0, None) / n)
    out = {
        "density": mean.reshape(shape),
        "sem": (se_re + 1j * se_im).reshape(shape),
        "outside": outside,
        "nonfinite": 1.0 - counted / total,
        "coords": np.array(spec.coords),
    }
    for c, e in zip(spec.coords, spec.edges()):
        out[f"edges.{c}"] = e
    return out
