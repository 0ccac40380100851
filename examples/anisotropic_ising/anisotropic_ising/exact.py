"""Exact results for the anisotropic 2D Ising model (couplings J_x, J_y > 0, k_B = 1).

* :func:`critical_temperature`: Onsager (1944) solved the model with two couplings; its
  critical temperature solves ``sinh(2 J_x / T) sinh(2 J_y / T) = 1``.  The left side falls
  strictly with T, and at ``T = 2 J / ln(1 + sqrt 2)`` (the isotropic T_c of coupling J) one factor
  is 1, so the root lies between the isotropic values of ``min(J)`` and ``max(J)``: a bracket for
  Brent's method.
* :func:`kramers_wannier_dual`: the duality maps the couplings ``(K_x, K_y) = (J_x/T, J_y/T)`` to
  ``(K_x*, K_y*)`` with ``tanh K_x* = exp(-2 K_y)`` and ``tanh K_y* = exp(-2 K_x)`` (a bond of
  the dual lattice crosses a bond of the other direction).  The critical line is its fixed set:
  ``K* = K`` there, an independent statement of the same condition.
* :func:`brute_force`: ``<E>/N``, ``<|m|>``, ``<m^2>`` on the L x L torus by enumerating all
  ``2^(L^2)`` states (L <= 4).
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import numpy as np
from scipy.optimize import brentq

BRUTE_FORCE_MAX_L = 4
#: the isotropic T_c in units of the coupling, 2 / ln(1 + sqrt 2)
ISOTROPIC_TC_OVER_J = 2.0 / math.log1p(math.sqrt(2.0))


def _check_couplings(jx: float, jy: float) -> Tuple[float, float]:
    jx, jy = float(jx), float(jy)
    for name, j in (("Jx", jx), ("Jy", jy)):
        if not (j > 0.0 and math.isfinite(j)):
            raise ValueError(f"coupling {name} must be in (0, inf), got {j!r}")
    return jx, jy


def critical_temperature(jx: float, jy: float) -> float:
    """T_c solving ``sinh(2 J_x / T) sinh(2 J_y / T) = 1`` (Onsager 1944), to machine precision."""
    jx, jy = _check_couplings(jx, jy)
    lo, hi = ISOTROPIC_TC_OVER_J * min(jx, jy), ISOTROPIC_TC_OVER_J * max(jx, jy)
    if lo == hi:
        return lo

    def log_product(T: float) -> float:  # log sinh(2 J_x/T) + log sinh(2 J_y/T), decreasing in T
        return math.log(math.sinh(2.0 * jx / T)) + math.log(math.sinh(2.0 * jy / T))

    return float(brentq(log_product, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))


def kramers_wannier_dual(kx: float, ky: float) -> Tuple[float, float]:
    """The dual reduced couplings ``(K_x*, K_y*)``: ``tanh K_x* = exp(-2 K_y)``, ``tanh K_y* = exp(-2 K_x)``."""
    return math.atanh(math.exp(-2.0 * ky)), math.atanh(math.exp(-2.0 * kx))


def brute_force(L: int, jx: float, jy: float, T: float) -> Dict[str, float]:
    """Exact ``energy`` (per site), ``abs_m`` and ``m2`` on the L x L torus by enumeration (L <= 4)."""
    jx, jy = _check_couplings(jx, jy)
    if int(L) != L or not 2 <= L <= BRUTE_FORCE_MAX_L:
        raise ValueError(f"L must be an integer in [2, {BRUTE_FORCE_MAX_L}] for brute force, got {L!r}")
    if not (T > 0.0 and math.isfinite(T)):
        raise ValueError(f"temperature T must be in (0, inf), got {T!r}")
    L = int(L)
    N = L * L
    bits = (np.arange(2**N, dtype=np.int64)[:, None] >> np.arange(N)) & 1
    s = (2 * bits - 1).reshape(-1, L, L)
    bonds_x = (s * np.roll(s, -1, axis=2)).sum(axis=(1, 2))  # s_{i,j} s_{i,j+1}
    bonds_y = (s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))  # s_{i,j} s_{i+1,j}
    energy = -(jx * bonds_x + jy * bonds_y)
    m = s.sum(axis=(1, 2)) / N
    logw = -energy / T
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return {"energy": float(w @ energy) / N, "abs_m": float(w @ np.abs(m)), "m2": float(w @ (m * m))}
