"""Exact results for the 2D Ising model (J = 1, k_B = 1, K = 1/T, periodic L x L torus).

Reference: docs/physics.md, section 2:

* :func:`brute_force` enumerates all 2^(L^2) states for L <= 4 and gives
  ``<E>/N``, ``<|m|>``, ``<m^2>`` and ``<m^4>`` at any T (m = M / N).
* :func:`kaufman_log_partition` is Kaufman's (1949) exact partition function of
  the m x n torus.  ``gamma_j`` is the positive arccosh except for j = 0 (mod 2n),
  where ``gamma_0 = 2 (H' - H*)`` keeps its sign (negative above T_c); dropping the
  sign gives a wrong Z above T_c.  It is evaluated in mpmath, and
  :func:`kaufman_energy_per_site` differentiates ``ln Z`` numerically at high precision:
  ``u = -(1/N) d ln Z / dK``.
* :func:`onsager_spontaneous_magnetisation` is ``(1 - sinh^-4 2K)^(1/8)`` below T_c
  (Onsager-Kaufman; Yang 1952) and 0 above; :func:`onsager_energy_per_site` is the
  infinite-lattice energy.
"""

from __future__ import annotations

import math
from typing import Dict

import mpmath
import numpy as np
from scipy.special import ellipk

T_CRITICAL = 2.0 / math.log(1.0 + math.sqrt(2.0))  # 2.269185314213022 (Onsager 1944)
K_CRITICAL = 0.5 * math.log(1.0 + math.sqrt(2.0))
BRUTE_FORCE_MAX_L = 4
_DPS = 40


def _check_T(T: float) -> float:
    T = float(T)
    if not (T > 0.0 and math.isfinite(T)):
        raise ValueError(f"temperature T must be in (0, inf), got {T!r}")
    return T


def brute_force(L: int, T: float) -> Dict[str, float]:
    """Exact ``log_z``, ``energy`` (per site), ``abs_m``, ``m2``, ``m4`` on the L x L torus by enumeration."""
    T = _check_T(T)
    if int(L) != L or not 2 <= L <= BRUTE_FORCE_MAX_L:
        raise ValueError(f"L must be an integer in [2, {BRUTE_FORCE_MAX_L}] for brute force, got {L!r}")
    L = int(L)
    N = L * L
    states = np.arange(2**N, dtype=np.int64)
    bits = (states[:, None] >> np.arange(N)) & 1
    s = (2 * bits - 1).astype(np.int8).reshape(-1, L, L)
    s32 = s.astype(np.int32)
    bonds = (s32 * np.roll(s32, 1, axis=1) + s32 * np.roll(s32, 1, axis=2)).sum(axis=(1, 2))
    energy = -bonds.astype(np.float64)
    m = s32.sum(axis=(1, 2)) / N
    logw = -energy / T
    w = np.exp(logw - logw.max())
    Z = w.sum()
    return {
        "log_z": float(np.log(Z) + logw.max()),
        "energy": float((w * energy).sum() / Z / N),
        "abs_m": float((w * np.abs(m)).sum() / Z),
        "m2": float((w * m * m).sum() / Z),
        "m4": float((w * m**4).sum() / Z),
    }


def _kaufman_log_z(K, m: int, n: int):
    """ln Z of the m x n torus at coupling K (an mpmath number), H = H' = K."""
    H = K
    Hs = mpmath.atanh(mpmath.exp(-2 * H))  # dual coupling H*: tanh H* = exp(-2H)
    c = mpmath.cosh(2 * Hs) * mpmath.cosh(2 * H)
    s = mpmath.sinh(2 * Hs) * mpmath.sinh(2 * H)

    def gamma(j: int):
        if j % (2 * n) == 0:
            return 2 * (H - Hs)  # signed: negative above T_c
        return mpmath.acosh(c - s * mpmath.cos(mpmath.pi * j / n))

    odd = [gamma(2 * r - 1) for r in range(1, n + 1)]
    even = [gamma(2 * r) for r in range(1, n + 1)]
    p1 = mpmath.fprod(2 * mpmath.cosh(m * g / 2) for g in odd)
    p2 = mpmath.fprod(2 * mpmath.sinh(m * g / 2) for g in odd)
    p3 = mpmath.fprod(2 * mpmath.cosh(m * g / 2) for g in even)
    p4 = mpmath.fprod(2 * mpmath.sinh(m * g / 2) for g in even)
    return mpmath.log(mpmath.mpf(1) / 2) + (m * n) * mpmath.log(2 * mpmath.sinh(2 * H)) / 2 + mpmath.log(p1 + p2 + p3 + p4)


def _check_torus(m: int, n: int) -> None:
    for name, v in (("m", m), ("n", n)):
        if int(v) != v or v < 2:
            raise ValueError(f"torus size {name} must be an integer >= 2, got {v!r}")


def kaufman_log_partition(T: float, m: int, n: int | None = None) -> float:
    """Exact ``ln Z`` of the m x n torus (n = m if omitted), Kaufman 1949."""
    T = _check_T(T)
    n = m if n is None else n
    _check_torus(m, n)
    with mpmath.workdps(_DPS):
        return float(_kaufman_log_z(1 / mpmath.mpf(T), int(m), int(n)))


def kaufman_energy_per_site(T: float, m: int, n: int | None = None) -> float:
    """Exact ``<E>/N = -(1/N) d ln Z / dK`` on the m x n torus (n = m if omitted)."""
    T = _check_T(T)
    n = m if n is None else n
    _check_torus(m, n)
    with mpmath.workdps(_DPS):
        K = 1 / mpmath.mpf(T)
        d = mpmath.diff(lambda k: _kaufman_log_z(k, int(m), int(n)), K)
        return float(-d / (int(m) * int(n)))


def onsager_spontaneous_magnetisation(T: float) -> float:
    """Infinite-lattice ``m(T) = (1 - sinh^-4(2K))^(1/8)`` for T < T_c, else 0."""
    T = _check_T(T)
    if T >= T_CRITICAL:
        return 0.0
    return float((1.0 - math.sinh(2.0 / T) ** -4) ** 0.125)


def onsager_energy_per_site(T: float) -> float:
    """Infinite-lattice energy per site, ``-coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(k)]``,
    ``k = 2 sinh 2K / cosh^2 2K`` (scipy's ellipk takes ``k^2``); ``-sqrt 2`` at T_c."""
    T = _check_T(T)
    K = 1.0 / T
    k = 2.0 * math.sinh(2 * K) / math.cosh(2 * K) ** 2
    if abs(k - 1.0) < 1e-15:
        return -math.sqrt(2.0)
    return float(-1.0 / math.tanh(2 * K) * (1.0 + 2.0 / math.pi * (2 * math.tanh(2 * K) ** 2 - 1.0) * ellipk(k * k)))
