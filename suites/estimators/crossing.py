"""Crossings of curves: finite-size crossings of a scaled quantity between lattice sizes, and the level
where a growing curve reaches a given fraction of its end value.

**Finite-size crossing** (:func:`finite_size_crossing`).  Near a continuous transition at ``x_c`` a
quantity ``Q`` with scaling dimension ``a`` obeys ``Q(x, L) L^a = F((x - x_c) L^{1/nu})``: the curves
``Q L^a`` of all sizes cross at ``x_c``, up to corrections that shrink with L.  For the 2D Ising model and
a quantity ``~ <m^2>``, ``a = 2 beta / nu = 1/4`` and ``nu = 1`` (docs/physics.md, section 2).  Each pair
of successive sizes gives a crossing from a weighted line fitted to the difference of the two scaled
curves (:func:`crossing_by_local_fit`) within a window of fixed width in the scaling variable; with
three or more sizes the pairs' crossings are extrapolated in ``L_mean^(-shift_exponent)``.

Every input curve comes as an array ``(n_boot + 1, n_x)``: row 0 the point estimates, the other rows
bootstrap replicates (:func:`phasebench.suites.estimators.bootstrap.bootstrap_means`); the curves of two
sizes must be independent replicates (different keys).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence

import numpy as np

from .bootstrap import replicate_interval

#: half-width of the crossing's fit window in the scaling variable ``(x - x*) L_mean^(1/nu)``
CROSSING_WINDOW = 0.8


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
    lo, hi = replicate_interval(boots)
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
    lo, hi = replicate_interval(boots)
    return {"value": root(diff[0]), "lo": lo, "hi": hi, "found_fraction": float(np.isfinite(boots).mean()) if len(boots) else 0.0,
            "window": [float(x[sel[0]]), float(x[sel[-1]])]}


def finite_size_crossing(x: Sequence[float], curves: Dict[int, np.ndarray], exponent: float, target: Optional[float],
                         *, nu: float, window: float = CROSSING_WINDOW, shift_exponent: float = 2) -> Dict[str, Any]:
    """Crossings of ``curve * L^exponent`` between successive sizes, and the transition estimate.

    ``curves``: size L -> (n_boot + 1, n_x) (module doc).  Each crossing is the root of a weighted
    straight line fitted to the difference of the two scaled curves within
    ``|x - x*| <= window / L_mean^(1/nu)`` of their first crossing x* (:func:`crossing_by_local_fit`):
    a window of fixed width in the scaling variable ``(x - x_c) L^{1/nu}``, where the difference is
    close to linear.  The default window (:data:`CROSSING_WINDOW`) was validated on the Ising data's own ``<m^2> L^{1/4}``
    (measured: docs/decisions/ising-temperature-crossing-window.md).

    The estimate (``value``, ``lo``, ``hi``) is the crossing of the largest pair when only one pair
    crosses or some pair does not; with every pair (two or more) crossing, the linear extrapolation
    ``x*(L) = x_c + b L_mean^(-shift_exponent)`` to ``L = inf``, with a CI of the pairs' RMS half-width
    around it.  ``rel_error`` = ``|value - target| / |target|`` (NaN without a target).
    """
    for name, v in (("exponent", exponent), ("nu", nu), ("window", window), ("shift_exponent", shift_exponent)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)) or (name != "exponent" and v <= 0):
            raise ValueError(f"finite_size_crossing: {name} must be a finite number{'' if name == 'exponent' else ' > 0'}, "
                             f"got {v!r}")
    Ls = sorted(curves)
    out: Dict[str, Any] = {"pairs": []}
    for L1, L2 in zip(Ls, Ls[1:]):
        c = crossing_by_local_fit(x, curves[L1] * L1**exponent, curves[L2] * L2**exponent,
                                  window / (0.5 * (L1 + L2)) ** (1.0 / nu))
        out["pairs"].append({"L": [L1, L2], **c})
    usable = [p for p in out["pairs"] if math.isfinite(p["value"])]
    if not usable:
        out.update(value=float("nan"), lo=float("nan"), hi=float("nan"), method="none")
    elif len(usable) == 1 or len(usable) < len(out["pairs"]):
        best = usable[-1]
        out.update(value=best["value"], lo=best["lo"], hi=best["hi"], method=f"crossing L={best['L']}")
    else:  # extrapolate x*(L) = x_c + b / L_mean^shift_exponent, CI from the pairs' CIs (shifted in parallel)
        u = np.array([1.0 / (0.5 * sum(p["L"])) ** shift_exponent for p in usable])
        vals = np.array([p["value"] for p in usable])
        half = np.array([0.5 * (p["hi"] - p["lo"]) for p in usable])
        xc = float(np.polyval(np.polyfit(u, vals, 1), 0.0))
        spread = float(np.sqrt(np.mean(half**2))) if np.isfinite(half).all() else float("nan")
        out.update(value=xc, lo=xc - spread, hi=xc + spread, method=f"extrapolated in 1/L^{shift_exponent:g}")
    ok = target is not None and math.isfinite(out["value"])
    out["rel_error"] = abs(out["value"] - target) / abs(target) if ok else float("nan")
    return out


def first_upward_crossing_log(levels: Sequence[float], curve: np.ndarray, target: float) -> float:
    """The level where an increasing curve first reaches ``target`` (NaN if it does not), interpolated
    linearly in log level."""
    log_levels = np.log(np.asarray(levels, dtype=np.float64))
    for j in range(len(curve) - 1):
        if curve[j] < target <= curve[j + 1]:
            t = (target - curve[j]) / (curve[j + 1] - curve[j])
            return float(math.exp(log_levels[j] + t * (log_levels[j + 1] - log_levels[j])))
    return float("nan")


def level_at_fraction_with_ci(levels: Sequence[float], values: np.ndarray, reference: np.ndarray, fraction: float,
                              boot_idx: np.ndarray) -> Dict[str, float]:
    """The level where ``mean(values)`` first reaches ``fraction * mean(reference)``, with a paired bootstrap CI.

    ``values``: (n_levels, n) per configuration, increasing in the level on average; ``reference``: (n,)
    on the same configurations (e.g. ``ising-speciation``: the aligned magnetisation M(lambda) and
    ``|m|``, fraction 1/2).  Each replicate resamples the same configurations in both; the CI is NaN
    unless more than 90% of the replicates cross.
    """
    values, reference = np.asarray(values, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    est = first_upward_crossing_log(levels, values.mean(axis=-1), fraction * reference.mean())
    boots = np.array([first_upward_crossing_log(levels, values[:, b].mean(axis=-1), fraction * reference[b].mean())
                      for b in boot_idx])
    lo, hi = replicate_interval(boots)
    return {"value": est, "lo": lo, "hi": hi}
