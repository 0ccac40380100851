"""Scoring: per-configuration errors, paired excesses, bootstrap CIs, decay lengths, peaks.

Conventions:

* every statistic is a mean over *independent test configurations*; its 95%
  confidence interval is a percentile bootstrap over those configurations;
* the excess ``Delta(level, r) = MSE_r - MSE_ref`` is a *paired* difference:
  the same configurations and noise draws enter both terms;
* the decay length ``xi_eff`` is defined by ``Delta(r) ~ exp(-r / xi_eff)``
  (the Markov-length convention ``I(A:C|B) ~ exp(-r / xi)``).  It is fitted by
  weighted least squares of ``log Delta`` on ``r`` over the *resolved* radii:
  the contiguous run from the smallest radius whose bootstrap CI excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

N_BOOT = 1000
CI_LEVEL = 0.95


def per_config_mse(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean squared error per configuration (averaged over channels and sites)."""
    diff = np.asarray(estimate, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return (diff * diff).reshape(len(diff), -1).mean(axis=1)


def bootstrap_indices(n: int, seed: int, n_boot: int = N_BOOT) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


@dataclass
class Estimate:
    mean: float
    lo: float
    hi: float
    stderr: float

    def to_dict(self) -> dict:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "stderr": self.stderr}

    @property
    def resolved(self) -> bool:
        """The CI excludes zero (and the estimate is positive)."""
        return self.mean > 0 and self.lo > 0


def mean_with_ci(values: np.ndarray, boot_idx: np.ndarray) -> Estimate:
    values = np.asarray(values, dtype=np.float64)
    boots = values[boot_idx].mean(axis=1)
    alpha = (1 - CI_LEVEL) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return Estimate(float(values.mean()), float(lo), float(hi), se)


def ratio_with_ci(numerator: np.ndarray, denominator: np.ndarray, boot_idx: np.ndarray) -> Estimate:
    """``mean(numerator) / mean(denominator)`` of paired per-configuration values, with a percentile bootstrap CI
    that resamples the same configurations in both (so their correlation is accounted for); ``stderr`` is the
    replicates' standard deviation.  NaN where a mean of the denominator is not positive."""
    num, den = (np.asarray(a, dtype=np.float64) for a in (numerator, denominator))

    def ratio(n, d):
        return np.divide(n, d, out=np.full(np.shape(n), np.nan), where=np.asarray(d) > 0)

    value = float(ratio(num.mean(), den.mean()))
    boots = ratio(num[boot_idx].mean(axis=1), den[boot_idx].mean(axis=1))
    lo, hi = replicate_interval(boots, min_found=0.9)
    finite = boots[np.isfinite(boots)]
    return Estimate(value, lo, hi, float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"))


def resolved_prefix(estimates: Sequence[Estimate]) -> List[int]:
    """Indices of the contiguous run of resolved estimates from the start."""
    out = []
    for i, e in enumerate(estimates):
        if not e.resolved:
            break
        out.append(i)
    return out


def fit_decay_length(radii: Sequence[float], deltas: Sequence[float], sigmas: Optional[Sequence[float]] = None) -> float:
    """``xi`` from a weighted least-squares fit ``log Delta = c - r / xi`` (NaN if not decaying)."""
    r = np.asarray(radii, dtype=np.float64)
    d = np.asarray(deltas, dtype=np.float64)
    if len(r) < 2 or (d <= 0).any() or not np.isfinite(d).all():
        return float("nan")
    w = np.ones_like(d) if sigmas is None else d / np.maximum(np.asarray(sigmas, float), 1e-300)
    A = np.stack([np.ones_like(r), r], axis=1) * w[:, None]
    coef = np.linalg.lstsq(A, np.log(d) * w, rcond=None)[0]
    slope = coef[1]
    return float(-1.0 / slope) if slope < 0 else float("nan")


def decay_length_with_ci(radii: Sequence[int], per_config_excess: np.ndarray, boot_idx: np.ndarray) -> Dict:
    """Fit xi_eff over the resolved radii, with a bootstrap CI over test configurations.

    ``per_config_excess`` has shape (n_radii, n_configs), paired over configurations.
    """
    ests = [mean_with_ci(row, boot_idx) for row in per_config_excess]
    keep = resolved_prefix(ests)
    n_boot = boot_idx.shape[0]
    out = {"radii_used": [int(radii[i]) for i in keep], "xi": float("nan"), "lo": float("nan"), "hi": float("nan")}
    if len(keep) < 2:
        return out
    r = np.asarray([radii[i] for i in keep], dtype=np.float64)
    rows = per_config_excess[keep]
    sig = [ests[i].stderr for i in keep]
    out["xi"] = fit_decay_length(r, rows.mean(axis=1), sig)
    boots = rows[:, boot_idx].mean(axis=2)  # (n_keep, n_boot)
    xis = np.array([fit_decay_length(r, boots[:, b], sig) for b in range(n_boot)])
    out["lo"], out["hi"] = replicate_interval(xis, min_found=0.9)
    return out


def replicate_interval(replicates: np.ndarray, min_found: float) -> Tuple[float, float]:
    """Percentile CI (level ``CI_LEVEL``) of the finite bootstrap replicates; NaN unless more than
    ``min_found`` of them, and more than 10, are finite."""
    values = np.asarray(replicates, dtype=np.float64)
    found = values[np.isfinite(values)]
    if len(found) <= max(min_found * len(values), 10):
        return float("nan"), float("nan")
    alpha = (1 - CI_LEVEL) / 2
    lo, hi = np.quantile(found, [alpha, 1 - alpha])
    return float(lo), float(hi)


def analytic_decay_length(radii: Sequence[int], deltas: Sequence[float], rel_floor: float = 1e-10, scale: float = 1.0) -> Dict:
    """xi from exactly known excesses: radii above the round-off floor; CI from the fit residuals."""
    keep = [i for i, d in enumerate(deltas) if d > rel_floor * scale]
    keep = keep[: next((k for k, i in enumerate(keep) if i != k), len(keep))]
    out = {"radii_used": [int(radii[i]) for i in keep], "xi": float("nan"), "lo": float("nan"), "hi": float("nan")}
    if len(keep) < 2:
        return out
    r = np.asarray([radii[i] for i in keep], float)
    y = np.log(np.asarray([deltas[i] for i in keep], float))
    out["xi"] = fit_decay_length(r, np.exp(y))
    if len(keep) >= 3:
        coef, cov = np.polyfit(r, y, 1, cov="unscaled")
        resid = y - np.polyval(coef, r)
        s2 = float(resid @ resid) / (len(r) - 2)
        half = 1.96 * math.sqrt(max(s2 * cov[0, 0], 0.0))
        slopes = sorted([coef[0] - half, coef[0] + half])
        out["lo"], out["hi"] = (-1.0 / slopes[0], -1.0 / slopes[1]) if slopes[1] < 0 else (out["xi"], float("inf"))
    else:
        out["lo"] = out["hi"] = out["xi"]
    return out


def find_interior_peaks(values: Sequence[float], lo: Sequence[float], hi: Sequence[float]) -> List[int]:
    """Grid indices where a curve has a *significant* interior maximum.

    Index i is a peak if its CI lies entirely above the CIs of both neighbours
    (NaN values never form or bound a peak).
    """
    peaks = []
    v, lo, hi = (np.asarray(a, dtype=np.float64) for a in (values, lo, hi))
    for i in range(1, len(v) - 1):
        trio = v[i - 1 : i + 2]
        if not np.isfinite(trio).all() or not np.isfinite([lo[i], hi[i - 1], hi[i + 1]]).all():
            continue
        if lo[i] > hi[i - 1] and lo[i] > hi[i + 1]:
            peaks.append(i)
    return peaks


def first_downward_crossing(x: Sequence[float], d: Sequence[float]) -> float:
    """The x where d(x) first goes from > 0 to <= 0, by linear interpolation (NaN if none)."""
    x, d = np.asarray(x, float), np.asarray(d, float)
    for i in range(len(d) - 1):
        if d[i] > 0 and d[i + 1] <= 0:
            return float(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))
    return float("nan")


def crossing_with_ci(x: Sequence[float], f_small: np.ndarray, f_large: np.ndarray) -> Dict:
    """Crossing of two curves given bootstrap replicates.

    ``f_small`` and ``f_large`` have shape (n_boot + 1, n_x): row 0 holds the point
    estimates, the other rows independent bootstrap replicates of each curve.
    The crossing is where ``f_large - f_small`` turns from positive to negative.
    """
    diff = np.asarray(f_large) - np.asarray(f_small)
    est = first_downward_crossing(x, diff[0])
    boots = np.array([first_downward_crossing(x, row) for row in diff[1:]])
    found = boots[np.isfinite(boots)]
    lo, hi = replicate_interval(boots, min_found=0.5)
    return {"value": est, "lo": lo, "hi": hi, "found_fraction": float(len(found) / max(len(boots), 1))}


def crossing_by_local_fit(x: Sequence[float], f_small: np.ndarray, f_large: np.ndarray, half_width: float,
                          min_points: int = 3) -> Dict:
    """Crossing of two curves from a weighted straight-line fit of their difference near the crossing.

    ``f_small`` and ``f_large`` are as in :func:`crossing_with_ci`.  The window is every x within
    ``half_width`` of the first downward crossing of the point estimates (at least the
    ``min_points`` nearest to it); the difference is fitted there by least squares weighted by
    1 / (its bootstrap standard deviation), and the crossing is the root of the line.  Every
    bootstrap replicate is fitted on the same window with the same weights, so the CI is that of
    the fit.  A line through several points averages the sampling noise of each, which moves
    the first crossing of the piecewise-linear interpolation by up to a grid step; the window
    must stay within the range where the difference is close to linear (the caller's choice).
    NaN where there is no downward crossing, or the fitted line does not fall.
    """
    x = np.asarray(x, dtype=np.float64)
    diff = np.asarray(f_large, dtype=np.float64) - np.asarray(f_small, dtype=np.float64)
    nan = float("nan")
    centre = first_downward_crossing(x, diff[0])
    if not math.isfinite(centre):
        return {"value": nan, "lo": nan, "hi": nan, "found_fraction": 0.0, "window": []}
    dist = np.abs(x - centre)
    sel = np.flatnonzero(dist <= half_width)
    if len(sel) < min_points:
        sel = np.sort(np.argsort(dist, kind="stable")[:min_points])
    sd = diff[1:, sel].std(axis=0) if len(diff) > 2 else np.ones(len(sel))
    positive = sd[sd > 0]
    w = 1.0 / np.maximum(sd, positive.min() if len(positive) else 1.0)

    def root(row: np.ndarray) -> float:
        slope, icpt = np.polyfit(x[sel], row[sel], 1, w=w)
        r = -icpt / slope if slope < 0 else nan
        return float(r) if x[0] <= r <= x[-1] else nan

    boots = np.array([root(row) for row in diff[1:]])
    lo, hi = replicate_interval(boots, min_found=0.5)
    return {"value": root(diff[0]), "lo": lo, "hi": hi, "found_fraction": float(np.isfinite(boots).mean()) if len(boots) else 0.0,
            "window": [float(x[sel[0]]), float(x[sel[-1]])]}


def bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: the mean over the last axis; rows 1..n_boot: bootstrap replicates (resampling that axis)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    idx = bootstrap_indices(n, seed, n_boot)
    boots = values[..., idx].mean(axis=-1)  # (..., n_boot)
    return np.concatenate([values.mean(axis=-1)[None], np.moveaxis(boots, -1, 0)], axis=0)


def parabolic_max(x: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Maximum over the last axis of ``values`` sampled at ``x``, refined by the parabola through the largest
    sample and its two neighbours (where that parabola is concave; at an end of the grid, the sample itself).

    The maximum of a smooth curve sampled on a grid under-reads its peak by an amount that depends on
    where the peak falls between grid points; the parabola removes that error to second order.  Its
    vertex lies within half a grid step of the largest sample, and its value is never below it.
    """
    v = np.asarray(values, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = v.shape[-1]
    j = np.argmax(v, axis=-1)[..., None]
    best = np.take_along_axis(v, j, -1)[..., 0]
    if n < 3:
        return best
    jc = np.clip(j, 1, n - 2)
    y0, y1, y2 = (np.take_along_axis(v, jc + k, -1)[..., 0] for k in (-1, 0, 1))
    x0, x1, x2 = (x[jc[..., 0] + k] for k in (-1, 0, 1))
    # the parabola a (t - x1)^2 + b (t - x1) + y1 through the three points
    h0, h2 = x0 - x1, x2 - x1
    a = ((y0 - y1) / h0 - (y2 - y1) / h2) / (h0 - h2)
    b = (y0 - y1) / h0 - a * h0
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = y1 - b * b / (4.0 * a)
    interior = (j[..., 0] >= 1) & (j[..., 0] <= n - 2) & (a < 0)
    return np.where(interior, vertex, best)
