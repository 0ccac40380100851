"""Exact theory of the Gaussian free field under the Gaussian channel.

Reference: docs/physics.md, section 4.  The field is ``x ~ N(0, G)`` with
``G = (-Delta + m^2)^{-1}`` on the L x L torus and the channel is
``y = a x + s z``.  Everything here is exact: Fourier diagonalisation for the
translation-invariant global quantities, small dense solves for windows.

Zero mode.  For ``m = 0`` the covariance is singular: the constant mode has
infinite variance.  phasebench then defines the massless field as the
zero-mean field (the constant mode projected out), so ``G`` is the
pseudo-inverse of ``-Delta`` and the posterior variance of the constant mode is
zero.  This gives an L-dependent floor in the excess error and in the CMI
(docs/physics.md, section 4): score the massive case, ``m L >> 1``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable, Tuple

import numpy as np
from scipy.special import ellipk

from ..geometry import apply_window_kernel, check_window, window_offsets  # noqa: F401 (re-exported)


def laplacian_eigenvalues(L: int) -> np.ndarray:
    """Eigenvalues ``4 - 2 cos k1 - 2 cos k2`` of ``-Delta`` on the L x L torus (FFT order)."""
    k = 2.0 * np.pi * np.arange(L) / L
    c = 2.0 - 2.0 * np.cos(k)
    return c[:, None] + c[None, :]


def prior_spectrum(L: int, mass_sq: float) -> np.ndarray:
    """Fourier-space variance ``g_k`` of the field; the constant mode is 0 when m = 0."""
    lam = laplacian_eigenvalues(L) + mass_sq
    with np.errstate(divide="ignore"):
        g = 1.0 / lam
    if mass_sq == 0.0:
        g[0, 0] = 0.0
    return g


@lru_cache(maxsize=64)
def _torus_green_cached(L: int, mass_sq: float) -> np.ndarray:
    g = np.fft.ifft2(prior_spectrum(L, mass_sq)).real
    g.setflags(write=False)
    return g


def torus_green(L: int, mass_sq: float) -> np.ndarray:
    """``G(d)`` for every displacement d = (d1, d2) on the torus, shape (L, L)."""
    return _torus_green_cached(int(L), float(mass_sq))


def effective_mass_sq(mass_sq: float, a: float, s: float) -> float:
    """``M^2 = m^2 + a^2 / s^2``."""
    return mass_sq + (a * a) / (s * s)


def wiener_filter_spectrum(L: int, mass_sq: float, a: float, s: float) -> np.ndarray:
    """Fourier multiplier of E[x | y]: ``a g_k / (a^2 g_k + s^2)``."""
    g = prior_spectrum(L, mass_sq)
    return a * g / (a * a * g + s * s)


def wiener_denoise(y: np.ndarray, mass_sq: float, a: float, s: float) -> np.ndarray:
    """The exact global posterior mean E[x | y] for y of shape (..., L, L)."""
    L = y.shape[-1]
    h = wiener_filter_spectrum(L, mass_sq, a, s)
    return np.fft.ifft2(np.fft.fft2(y) * h).real


def posterior_variance_spectrum(L: int, mass_sq: float, a: float, s: float) -> np.ndarray:
    g = prior_spectrum(L, mass_sq)
    return g * s * s / (s * s + a * a * g)


def mmse_torus(L: int, mass_sq: float, a: float, s: float) -> float:
    """Per-site MMSE on the L x L torus: the mean over k of ``1/(lambda_k + M^2)``."""
    return float(posterior_variance_spectrum(L, mass_sq, a, s).mean())


def mmse_infinite(mass_sq: float, a: float, s: float) -> float:
    """Infinite-lattice MMSE ``G_M(0) = 2 K(k) / (pi (4 + M^2))`` with ``k = 4 / (4 + M^2)``.

    scipy's ``ellipk`` takes the parameter ``k^2``.
    """
    M2 = effective_mass_sq(mass_sq, a, s)
    k = 4.0 / (4.0 + M2)
    return float(2.0 * ellipk(k * k) / (math.pi * (4.0 + M2)))


def markov_decay_rate(mass_sq: float, a: float, s: float) -> float:
    """``mu`` with ``cosh mu = 1 + M^2 / 2``: the decay rate of the Wiener kernel."""
    return float(np.arccosh(1.0 + 0.5 * effective_mass_sq(mass_sq, a, s)))


def markov_length(mass_sq: float, a: float, s: float) -> float:
    """``xi_M = 1 / (2 mu)``, in the convention I(A:C|B) ~ exp(-r / xi)."""
    return 1.0 / (2.0 * markov_decay_rate(mass_sq, a, s))


def local_optimum(L: int, mass_sq: float, a: float, s: float, r: int) -> Tuple[np.ndarray, float]:
    """Best radius-r linear estimator of ``x_0`` from ``y_W``: kernel (2r+1, 2r+1) and per-site MSE.

    ``w = a (a^2 G_WW + s^2 I)^{-1} G_W0`` and
    ``mse = G_00 - a^2 G_0W (a^2 G_WW + s^2 I)^{-1} G_W0``; the field is Gaussian,
    so this linear estimator is also the best r-local estimator of any form.
    """
    check_window(L, r)
    G = torus_green(L, mass_sq)
    off = window_offsets(r)
    diff = off[:, None, :] - off[None, :, :]
    G_WW = G[diff[..., 0] % L, diff[..., 1] % L]
    G_W0 = G[off[:, 0] % L, off[:, 1] % L]
    A = a * a * G_WW + s * s * np.eye(len(off))
    sol = np.linalg.solve(A, G_W0)
    w = a * sol
    mse = float(G[0, 0] - a * a * G_W0 @ sol)
    return w.reshape(2 * r + 1, 2 * r + 1), mse


def noisy_covariance(L: int, mass_sq: float, a: float, s: float, sites: np.ndarray) -> np.ndarray:
    """Covariance of the noisy field ``a^2 G + s^2 I`` restricted to flat site indices."""
    G = torus_green(L, mass_sq)
    i1, i2 = np.divmod(np.asarray(sites, dtype=np.int64), L)
    cov = a * a * G[(i1[:, None] - i1[None, :]) % L, (i2[:, None] - i2[None, :]) % L]
    return cov + s * s * np.eye(len(sites))


def _logdet(cov: np.ndarray) -> float:
    if cov.size == 0:
        return 0.0
    sign, val = np.linalg.slogdet(cov)
    if sign <= 0:
        raise np.linalg.LinAlgError("covariance is not positive definite")
    return float(val)


def conditional_mutual_information(
    L: int, mass_sq: float, a: float, s: float, A: Iterable[int], B: Iterable[int], C: Iterable[int]
) -> float:
    """Exact I(Y_A : Y_C | Y_B) of the noisy field, in nats, from log-determinants.

    ``I = 1/2 [log det S_AB + log det S_BC - log det S_B - log det S_ABC]``.
    """
    A, B, C = (np.asarray(list(v), dtype=np.int64) for v in (A, B, C))
    if len(np.intersect1d(A, B)) or len(np.intersect1d(A, C)) or len(np.intersect1d(B, C)):
        raise ValueError("site sets A, B, C must be disjoint")

    def ld(*sets):
        return _logdet(noisy_covariance(L, mass_sq, a, s, np.concatenate(sets)))

    return 0.5 * (ld(A, B) + ld(B, C) - ld(B) - ld(A, B, C))


def window_split(L: int, r: int, centre: Tuple[int, int] = (0, 0)) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of A = {centre}, B = radius-r window minus A, and C = the rest of the torus."""
    check_window(L, r)
    off = window_offsets(r)
    win = ((centre[0] + off[:, 0]) % L) * L + (centre[1] + off[:, 1]) % L
    A = np.array([centre[0] * L + centre[1]])
    B = np.setdiff1d(win, A)
    C = np.setdiff1d(np.arange(L * L), win)
    return A, B, C
