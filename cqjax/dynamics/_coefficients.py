"""The coefficients of one Ito step at a phase-space point, what an unravelling hands a solver.

Seed 004: I. Layton, J. Oppenheim and Z. Weller-Davies, "A healthier semi-classical dynamics".
"""

from __future__ import annotations

import equinox as eqx
from jax import Array


class StepCoefficients(eqx.Module):
    """dZ = drift dt + sigma dW;  the quantum state driven by H_I = ``h`` and K_i = ``kappa[i]``.

    With innovations dY_i = dW_i + 2 Re<K_i> dt (``mean_kappa`` = Re<K_i>) the quantum state
    obeys the stochastic master equation of unit-efficiency diffusive measurement of the K_i
    (seed 004 eq. 8 with K_j = pinv(sigma)_ji G_i):
    drho = -i[h, rho] dt + sum_i D[K_i] rho dt + sum_i ((K_i - <K_i>) rho + h.c.) dW_i
           + sum_k rates_k D[ops_k] rho dt,
    and for pure states (Hermitian K, no excess channels) the stochastic Schrodinger equation
    d|psi> = [-i h - 1/2 sum_i (K_i - <K_i>)^2] |psi> dt + sum_i (K_i - <K_i>) |psi> dW_i.
    ``sigma`` and ``kappa`` are None for deterministic dynamics; ``rates``/``ops`` None without
    excess decoherence; ``hermitian`` says whether every K_i is Hermitian.
    """

    drift: Array
    h: Array
    sigma: Array | None
    kappa: Array | None
    mean_kappa: Array | None
    rates: Array | None = None
    ops: Array | None = None
    hermitian: bool = eqx.field(static=True, default=True)
