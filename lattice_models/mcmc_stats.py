"""Autocorrelation analysis of Markov-chain time series (Sokal's automatic windowing).

Conventions: a series has shape ``(n_chains, n_steps)`` (a 1-D series is one
chain).  The normalised autocorrelation ``rho(t)`` is averaged over chains, each
centred on its own mean, and ``tau_int = 1/2 + sum_{t=1}^{W} rho(t)`` with the
smallest window ``W >= c tau_int(W)`` (Sokal 1997, c = 6).  ``tau_int = 1/2`` for
independent samples, so the variance of a mean of ``n`` samples is
``2 tau_int var / n``.  Reference: docs/physics.md, section 2: keep chains >= 50 tau_int.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import numpy as np

WINDOW_FACTOR = 6.0


def _as_chains(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"series must have shape (n_chains, n_steps >= 2), got {x.shape}")
    return x


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Chain-averaged normalised autocorrelation ``rho(t)``, t = 0 .. n_steps - 1."""
    x = _as_chains(x)
    n = x.shape[1]
    y = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(y, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n].mean(axis=0) / n
    if acov[0] <= 0.0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acov / acov[0]


def integrated_autocorrelation_time(x: np.ndarray, c: float = WINDOW_FACTOR) -> float:
    """``tau_int`` in steps (0.5 for independent samples); see the module docstring."""
    rho = autocorrelation(x)
    tau = 0.5
    for w in range(1, len(rho)):
        tau += rho[w]
        if w >= c * tau:
            return float(max(tau, 0.5))
    return float(max(tau, 0.5))


def mean_and_error(x: np.ndarray) -> Tuple[float, float, float]:
    """Mean, autocorrelation-corrected standard error and ``tau_int`` of a series."""
    x = _as_chains(x)
    tau = integrated_autocorrelation_time(x)
    n = x.size
    var = float(x.var(ddof=1)) if n > 1 else math.nan
    return float(x.mean()), math.sqrt(2.0 * tau * var / n), tau


def series_means(series: Dict[str, np.ndarray]) -> Dict[str, Tuple[float, float]]:
    """``name -> (mean, standard error)`` of per-configuration series in sample order.

    The error is :func:`mean_and_error`'s (corrected for correlation along the order, ``sqrt(2 tau_int)``),
    never below the naive ``sd / sqrt(n)``; a single value has error NaN."""
    out = {}
    for name, x in series.items():
        x = np.asarray(x, dtype=np.float64)
        if len(x) < 2:
            out[name] = (float(x.mean()), float("nan"))
            continue
        mean, err, _ = mean_and_error(x)
        out[name] = (mean, max(err, float(x.std(ddof=1) / math.sqrt(len(x)))))
    return out
