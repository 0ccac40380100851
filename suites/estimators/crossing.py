"""Crossings of curves: finite-size crossings of a scaled quantity between lattice sizes, and the level
where a growing curve reaches a given fraction of its end value.

**Finite-size crossing** (:func:`finite_size_crossing`).  Near a continuous transition at ``x_c`` a
quantity ``Q`` with scaling dimension ``a`` obeys ``Q(x, L) L^a = F((x - x_c) L^{1/nu})``: the curves
``Q L^a`` of all sizes cross at ``x_c``, up to corrections that shrink with L.  For the 2D Ising model and
a quantity ``~ <m^2>``, ``a = 2 beta / nu = 1/4`` and ``nu = 1`` (docs/physics.md, section 2).  Each pair
of successive sizes gives a crossing from a weighted line fitted to the difference of the two scaled
curves (:func:`crossing_by_local_fit`) within a window of fixed width in the scaling variable; with
three or more sizes the pairs' crossings are extrapolated in ``L_mean^(-shift_exponent)``, inside every
bootstrap replicate.

**Systematic (model) range.**  Beside the statistical interval the estimate carries a systematic one,
the envelope of the same data's estimates under these model variants
(:mod:`phasebench.suites.estimators.systematic`):

* *shift exponent* (extrapolation only), nominal 2, variants :data:`SHIFT_EXPONENT_RANGE` = 7/4, 11/4,
  3.  The crossing of sizes L and bL moves as ``L^-(1/nu + omega)``, omega the leading correction
  exponent.  For the 2D Ising ``<m^2> L^(1/4)`` (nu = 1): omega = 7/4 (the analytic background of the
  susceptibility, relative ``L^(-gamma/nu)``) gives 11/4, omega = 2 (the irrelevant operators and lattice
  corrections) gives 3; a family's Phi is ``~ <m^2>`` only up to corrections from its window's edge,
  relative ``1/L`` (omega = 1), the nominal 2; 7/4 is a margin below it, for corrections of a learned
  family that no theory fixes.
* *smallest pair dropped* (extrapolation with :data:`MIN_PAIRS_TO_DROP` or more pairs): the shift model
  need not hold down to the smallest sizes.  With three pairs the remaining two would define the line
  exactly, with about 2.5 times the nominal statistical error: that variant would measure noise, not
  the model, so it is not used.
* *window* half-width, nominal :data:`CROSSING_WINDOW` = 0.8, variants 0.4, 1.2 (:data:`WINDOW_FACTORS`:
  +-50%): the line is a model of the difference's shape near the crossing, and the fit of a line to a
  curved difference is biased (on the synthetic Ising-like curves of the coverage cases, -0.0006,
  -0.0023, -0.0055 at half-widths 0.4, 0.8, 1.2 for the quick 6/10 pair).  0.4 leaves the three points
  a line needs on the quick grid (T = 2.24 .. 2.30); 1.6 and 2.4 were measured to bias the data's
  crossings low by up to 0.01 (docs/decisions/ising-temperature-crossing-window.md), so they are
  outside the plausible range.  With +-25% (0.6, 1.0) the quick pair's combined interval covered its
  crossing 0.922 of the time, with +-50% 0.95 (docs/decisions/interval-coverage.md).

A single pair (the quick division) has no extrapolation: its interval is the pair crossing's, with the
window variants; its own finite-size shift from ``x_c`` is not in it (for the data's ``<m^2> L^(1/4)``
about +0.002 at L = 6/10, measured in the full division, a fifth of the quick interval's half-width).
Coverage of every interval: docs/decisions/interval-coverage.md.

Every input curve comes as an array ``(n_boot + 1, n_x)``: row 0 the point estimates, the other rows
bootstrap replicates (:func:`phasebench.suites.estimators.bootstrap.bootstrap_means`); the curves of two
sizes must be independent replicates (different keys).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .bootstrap import replicate_interval
from .systematic import with_systematic

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


def _local_fit_window(x: np.ndarray, diff: np.ndarray, half_width: float, min_points: int):
    """The fit window (indices) around the first downward crossing of ``diff[0]``, and the fit weights
    1 / (bootstrap sd of the difference); None where the point estimates do not cross."""
    centre = first_downward_crossing(x, diff[0])
    if not math.isfinite(centre):
        return None, None
    dist = np.abs(x - centre)
    sel = np.flatnonzero(dist <= half_width)
    if len(sel) < min_points:
        sel = np.sort(np.argsort(dist, kind="stable")[:min_points])
    sd = diff[1:, sel].std(axis=0) if len(diff) > 2 else np.ones(len(sel))
    positive = sd[sd > 0]
    return sel, 1.0 / np.maximum(sd, positive.min() if len(positive) else 1.0)


def line_roots(x: np.ndarray, rows: np.ndarray, weights: np.ndarray, bounds: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Root of the weighted least-squares line through each row of ``rows`` (vs ``x``), one per row.

    The weights multiply the residuals (``numpy.polyfit``'s convention).  NaN where the line does not
    fall (a crossing must turn the difference from positive to negative) or its root leaves ``bounds``
    (default: ``x``'s range; a crossing passes the whole grid's).
    """
    w2 = np.asarray(weights, dtype=np.float64) ** 2
    x_mean = np.dot(w2, x) / w2.sum()
    dx = x - x_mean
    y_mean = rows @ w2 / w2.sum()
    slope = (rows @ (w2 * dx)) / np.dot(w2, dx * dx)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(slope < 0, x_mean - y_mean / slope, np.nan)
    lo, hi = (x.min(), x.max()) if bounds is None else bounds
    return np.where((root >= lo) & (root <= hi), root, np.nan)


def pair_crossing(x: Sequence[float], f_small: np.ndarray, f_large: np.ndarray, half_width: float,
                  min_points: int = 3) -> Tuple[Dict[str, Any], np.ndarray]:
    """:func:`crossing_by_local_fit`, and the crossing of each bootstrap replicate, (n_boot,)."""
    x = np.asarray(x, dtype=np.float64)
    diff = np.asarray(f_large, dtype=np.float64) - np.asarray(f_small, dtype=np.float64)
    sel, w = _local_fit_window(x, diff, half_width, min_points)
    if sel is None:
        nan = float("nan")
        return {"value": nan, "lo": nan, "hi": nan, "found_fraction": 0.0, "window": []}, np.full(len(diff) - 1, nan)
    roots = line_roots(x[sel], diff[:, sel], w, (x[0], x[-1]))
    boots = roots[1:]
    lo, hi = replicate_interval(boots)
    return ({"value": float(roots[0]), "lo": lo, "hi": hi, "found_fraction": float(np.isfinite(boots).mean()) if len(boots) else 0.0,
             "window": [float(x[sel[0]]), float(x[sel[-1]])]}, boots)


def crossing_by_local_fit(x: Sequence[float], f_small: np.ndarray, f_large: np.ndarray, half_width: float,
                          min_points: int = 3) -> Dict:
    """Crossing of two curves from a weighted straight-line fit of their difference near the crossing.

    ``f_small`` and ``f_large`` are as in :func:`crossing_with_ci`.  The window is every x within
    ``half_width`` of the first downward crossing of the point estimates (at least the
    ``min_points`` nearest to it); the difference is fitted there by least squares weighted by
    1 / (its bootstrap standard deviation), and the crossing is the root of the line.  Every
    bootstrap replicate is fitted on the same window with the same weights, so the CI is that of
    the fit; a replicate whose line does not fall or whose root leaves the grid counts as failed
    (:func:`.bootstrap.replicate_interval`).  A line through several points averages the sampling
    noise of each, which moves the first crossing of the piecewise-linear interpolation by up to a
    grid step; the window must stay within the range where the difference is close to linear (the
    caller's choice).  NaN where there is no downward crossing, or the fitted line does not fall.
    """
    return pair_crossing(x, f_small, f_large, half_width, min_points)[0]


def _pair_sizes(pairs) -> np.ndarray:
    return np.array([0.5 * sum(p["L"]) for p in pairs], dtype=np.float64)


def extrapolate(l_mean: np.ndarray, values: np.ndarray, weights: np.ndarray, shift_exponent: float) -> np.ndarray:
    """Intercept at ``L = inf`` of the weighted line ``x*(L) = x_c + b L_mean^(-shift_exponent)`` through the
    pairs' crossings; ``values`` (..., n_pairs), one intercept per row (NaN where a crossing is NaN).

    With two pairs the line goes through both; the weights (1 / variance) then do not matter."""
    u = l_mean ** -float(shift_exponent)
    w = weights / weights.sum()
    u_mean = np.dot(w, u)
    du = u - u_mean
    v_mean = values @ w
    slope = (values @ (w * du)) / np.dot(w, du * du)
    return v_mean - slope * u_mean


def _robust_variance(reps: np.ndarray) -> float:
    """Squared half-width of the central 68% of the finite replicates (a standard deviation that a few
    wild replicates, lines that barely fall, do not inflate)."""
    finite = reps[np.isfinite(reps)]
    if len(finite) < 2:
        return float("nan")
    lo, hi = np.quantile(finite, [0.16, 0.84])
    return float((0.5 * (hi - lo)) ** 2)


def _pair_crossings(x, curves, exponent, nu, window):
    Ls = sorted(curves)
    pairs, reps = [], []
    for L1, L2 in zip(Ls, Ls[1:]):
        c, boots = pair_crossing(x, curves[L1] * L1**exponent, curves[L2] * L2**exponent,
                                 window / (0.5 * (L1 + L2)) ** (1.0 / nu))
        pairs.append({"L": [L1, L2], **c})
        reps.append(boots)
    return pairs, np.array(reps)


def _combine_pairs(pairs, reps, shift_exponent, drop_smallest=False) -> Dict[str, Any]:
    """The estimate from the pairs' crossings: the largest crossing pair's alone, or their extrapolation."""
    nan = float("nan")
    usable = [i for i, p in enumerate(pairs) if math.isfinite(p["value"])]
    if not usable:
        return {"value": nan, "lo": nan, "hi": nan, "method": "none"}
    if len(usable) == 1 or len(usable) < len(pairs):
        best = pairs[usable[-1]]
        return {"value": best["value"], "lo": best["lo"], "hi": best["hi"], "method": f"crossing L={best['L']}"}
    idx = usable[1:] if drop_smallest else usable
    variances = np.array([_robust_variance(reps[i]) for i in idx])
    weights = 1.0 / variances if np.all(variances > 0) else np.ones(len(idx))
    sizes, values = _pair_sizes([pairs[i] for i in idx]), np.array([pairs[i]["value"] for i in idx])
    value = float(extrapolate(sizes, values, weights, shift_exponent))
    lo, hi = replicate_interval(extrapolate(sizes, reps[idx].T, weights, shift_exponent))
    return {"value": value, "lo": lo, "hi": hi, "method": f"extrapolated in 1/L^{shift_exponent:g}",
            "weights": (weights / weights.sum()).tolist()}


#: the extrapolation's plausible models (module doc): the crossings' shift exponent ``1/nu + omega``
SHIFT_EXPONENT_RANGE = (1.75, 2.75, 3.0)
#: the smallest pair is dropped as a variant only where three or more pairs remain to fit the line
MIN_PAIRS_TO_DROP = 4
#: the fit window's half-width in the scaling variable, varied by these factors around the nominal
#: (:data:`CROSSING_WINDOW`: 0.4 and 1.2)
WINDOW_FACTORS = (0.5, 1.5)


def finite_size_crossing(x: Sequence[float], curves: Dict[int, np.ndarray], exponent: float, target: Optional[float],
                         *, nu: float, window: float = CROSSING_WINDOW, shift_exponent: float = 2,
                         systematic: bool = True) -> Dict[str, Any]:
    """Crossings of ``curve * L^exponent`` between successive sizes, and the transition estimate.

    ``curves``: size L -> (n_boot + 1, n_x) (module doc), the sizes' replicates independent.  Each
    crossing is the root of a weighted straight line fitted to the difference of the two scaled curves
    within ``|x - x*| <= window / L_mean^(1/nu)`` of their first crossing x* (:func:`crossing_by_local_fit`):
    a window of fixed width in the scaling variable ``(x - x_c) L^{1/nu}``, where the difference is
    close to linear.  The default window (:data:`CROSSING_WINDOW`) was validated on the Ising data's own ``<m^2> L^{1/4}``
    (measured: docs/decisions/ising-temperature-crossing-window.md).

    The estimate (``value``, ``lo``, ``hi``: the statistical interval) is the crossing of the largest pair
    when only one pair crosses or some pair does not; with every pair (two or more) crossing, the
    weighted linear extrapolation ``x*(L) = x_c + b L_mean^(-shift_exponent)`` to ``L = inf``, weights
    1 / (each pair's replicate variance).  The extrapolation is repeated in every bootstrap replicate,
    on replicate b of every size's curve, so adjacent pairs that share a curve are correlated as they
    are in the data, and a replicate in which some pair fails fails.  ``rel_error`` =
    ``|value - target| / |target|`` (NaN without a target).

    With ``systematic``, the model's variants (the module doc: shift exponents
    :data:`SHIFT_EXPONENT_RANGE`, the smallest pair dropped when :data:`MIN_PAIRS_TO_DROP` or more cross, window widths
    ``window`` times :data:`WINDOW_FACTORS`) give ``systematic`` and ``combined`` intervals
    (:func:`phasebench.suites.estimators.systematic.with_systematic`).
    """
    for name, v in (("exponent", exponent), ("nu", nu), ("window", window), ("shift_exponent", shift_exponent)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)) or (name != "exponent" and v <= 0):
            raise ValueError(f"finite_size_crossing: {name} must be a finite number{'' if name == 'exponent' else ' > 0'}, "
                             f"got {v!r}")
    pairs, reps = _pair_crossings(x, curves, exponent, nu, window)
    out: Dict[str, Any] = {"pairs": pairs, **_combine_pairs(pairs, reps, shift_exponent)}
    if systematic and math.isfinite(out["value"]):
        extrapolated = out["method"].startswith("extrapolated")
        variants = {}
        if extrapolated:
            variants.update({f"shift 1/L^{s:g}": _combine_pairs(pairs, reps, s)["value"] for s in SHIFT_EXPONENT_RANGE})
            if len(pairs) >= MIN_PAIRS_TO_DROP:
                variants["smallest pair dropped"] = _combine_pairs(pairs, reps, shift_exponent, drop_smallest=True)["value"]
        widths = [window * f for f in WINDOW_FACTORS]
        for wdt in widths:
            w_pairs, w_reps = _pair_crossings(x, curves, exponent, nu, wdt)
            variants[f"window {wdt:g}"] = _combine_pairs(w_pairs, w_reps, shift_exponent)["value"]
        model_range = (f"shift exponent {', '.join(f'{s:g}' for s in SHIFT_EXPONENT_RANGE)} (nominal {shift_exponent:g})"
                       + ("; smallest pair dropped" if len(pairs) >= MIN_PAIRS_TO_DROP else "") + "; "
                       if extrapolated else "") + f"window {', '.join(f'{w:g}' for w in widths)} (nominal {window:g})"
        out = with_systematic(out, variants, model_range)
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


def level_at_fraction_replicates(levels: Sequence[float], values: np.ndarray, reference: np.ndarray, fraction: float,
                                 boot_idx: np.ndarray) -> Tuple[float, np.ndarray]:
    """The level where ``mean(values)`` first reaches ``fraction * mean(reference)``, and the same on each
    resample of configurations ``boot_idx`` (n_boot, n), NaN where a replicate does not reach it."""
    values, reference = np.asarray(values, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    est = first_upward_crossing_log(levels, values.mean(axis=-1), fraction * reference.mean())
    curves = values[:, boot_idx].mean(axis=-1).T  # (n_boot, n_levels)
    targets = fraction * reference[boot_idx].mean(axis=-1)[:, None]
    reached = (curves[:, :-1] < targets) & (targets <= curves[:, 1:])  # first such j, as first_upward_crossing_log
    j = np.argmax(reached, axis=1)
    rows = np.arange(len(curves))
    log_levels = np.log(np.asarray(levels, dtype=np.float64))
    t = (targets[:, 0] - curves[rows, j]) / (curves[rows, j + 1] - curves[rows, j])
    boots = np.exp(log_levels[j] + t * (log_levels[j + 1] - log_levels[j]))
    return est, np.where(reached.any(axis=1), boots, np.nan)


def level_at_fraction_with_ci(levels: Sequence[float], values: np.ndarray, reference: np.ndarray, fraction: float,
                              boot_idx: np.ndarray) -> Dict[str, float]:
    """The level where ``mean(values)`` first reaches ``fraction * mean(reference)``, with a paired bootstrap CI.

    ``values``: (n_levels, n) per configuration, increasing in the level on average; ``reference``: (n,)
    on the same configurations (e.g. ``ising-speciation``: the aligned magnetisation M(lambda) and
    ``|m|``, fraction 1/2).  Each replicate resamples the same configurations in both; a replicate that
    does not reach the fraction counts as failed (:func:`.bootstrap.replicate_interval`: no interval
    when more than 2.5% fail).
    """
    est, boots = level_at_fraction_replicates(levels, values, reference, fraction, boot_idx)
    lo, hi = replicate_interval(boots)
    return {"value": est, "lo": lo, "hi": hi}
