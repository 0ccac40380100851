"""The effective decay length xi_eff of the r-local error from increments: its peak along the noise level, and
the finite-r extrapolation of that peak to the transition.

The decay length from the excesses over the radii (``gff-markov``) is in :mod:`.decay_length`.

**Transition from increments** (:func:`threshold_from_increments`, the toric tasks).  Input: paired
increments ``D_r = MSE(r) - MSE(r+1)`` per level and test configuration.  For the exact r-local oracle
they are ``E[(q_{r+1} - q_r)^2]`` (nested Bayes posteriors), positive and free of the Bernoulli noise of x.

1. **Local decay rate.**  ``kappa(level; r) = (1/2) ln(D_r / D_{r+2})`` and
   ``xi_eff = 1 / kappa``: the fit ``MSE(r) = MSE_inf + A e^{-r/xi}`` through the two
   largest increments of equal parity.  The two-step ratio cancels the even/odd
   oscillation of the window oracle's increments; ``A`` and ``MSE_inf`` drop out.  It is
   the log-derivative of ``D`` at ``rho = r + 1.5`` (``D_r`` sits between the radii r
   and r + 1, ``D_{r+2}`` between r + 2 and r + 3), the length scale of the estimate; it
   uses the radii up to ``r_max = r + 3``.
2. **Peak.**  ``level*(rho)`` = the vertex of a quadratic fitted to ``kappa(level)`` over
   the contiguous levels around its minimum where ``kappa <= (1 + PEAK_FRACTION) min``
   (plus one level on each flank), weighted by 1 / (bootstrap standard deviation of kappa), and
   clipped to that window.  The minimum of ``kappa`` is the maximum of ``xi_eff``; fitting ``kappa``
   avoids the blow-up of ``1 / kappa`` where the decay is slow.  The window is a fixed rule applied to
   each curve: every bootstrap replicate chooses its own (a window chosen once, from the point estimate,
   fixed part of the answer: on the quick toric oracle 38% of the replicates had their minimum outside
   it, and the clipped intervals undercovered; docs/decisions/interval-coverage.md).  A rate that is
   not positive (``D_{r+2} >= D_r``: no decay resolved) is NaN: ``xi_eff = 1 / kappa`` has no value
   there, and a peak whose window borders such a level is unknown (a failed replicate).  A maximum at
   the first or last level of the grid is no peak (``xi_eff`` is monotone there, and the transition, if
   any, is outside the grid): that scale's value is NaN, flagged ``peak_at_grid_edge``.  A bootstrap
   replicate whose maximum sits at the edge is censored there: it counts as a peak at that level, since
   its side is known (the smallest increments, at the low-noise end of the grid, are the noisiest: on the
   quick toric oracle the sd of kappa at p = 0.04 is 5 to 12 times that near the peak, and such a level
   holds the minimum of a few percent of the replicates by noise alone; counted as failures of unknown
   side, they left 6% of the synthetic quick data sets without an interval).  A scale is *resolved* when its peak and its CI are
   finite (failed replicates are counted beyond both ends of the interval, :func:`.bootstrap.replicate_interval`,
   so an interval exists only where nearly all of the replicates locate an interior peak).
3. **Extrapolation.**  At a finite scale the peak is shifted from the transition as
   ``level*(rho) = level_c + b rho^{-1/nu}`` (finite-size scaling with ``rho`` in place
   of L; ``nu`` is the transition's correlation-length exponent, a parameter: 1/0.655 along the
   Nishimori line of the toric code, docs/physics.md, section 3).  A straight-line fit of
   ``level*`` against ``rho^{-1/nu}`` over the resolved scales, weighted by 1 / (bootstrap variance of
   each peak), gives ``level_c`` at ``rho = inf``: a fixed linear combination of the peaks, applied to
   every replicate's peaks (a replicate with a failed peak fails).  An extrapolated value outside the
   level grid is no estimate (NaN; the value stays in ``extrapolated``).  With one resolved scale the
   estimate is its peak, not extrapolated.
4. **Systematic term** (:func:`.systematic.with_systematic`).  The extrapolation's model is not known
   exactly, and no resampling shows it; the estimate carries the envelope of its model variants:

   * the offset of ``rho = r + offset`` over :data:`RHO_OFFSET_RANGE` = 1 to 2: ``D_r`` and ``D_{r+2}``
     span the radii r to r + 3, so the length scale of the rate lies between r + 1 and r + 2 (1.5 is
     the midpoint, not a derived value);
   * ``1/nu`` over :data:`INV_NU_RANGE` = 0.55 to 0.70: from ``1/1.8`` (Sang and Hsieh's effective
     exponent fitted from the conditional mutual information at sizes like these) to ``y_1 + 3 sigma``
     of the Monte Carlo value 0.655(15) (Hasenbusch et al. 2008); a model whose nominal ``1/nu`` lies
     outside that range gets the same relative range around its own value;
   * the fit without the smallest scale (three or more scales): corrections to scaling weigh most there;
   * the peak window with :data:`PEAK_FRACTION_RANGE` = 0.2 and 0.6 in place of 0.4: where kappa is
     steeper on one side of its minimum (the quick toric oracle's is steeper below), the vertex of the
     quadratic sits on the flatter side by an amount that grows with the window and shrinks with the
     scale, which the extrapolation does not remove (measured: docs/decisions/interval-coverage.md).

   The offset and ``1/nu`` enter at the four corners of their ranges.  A variant moves the estimate by
   its shift less the shift's own statistical spread, ``sign(d) sqrt(max(d^2 - s_d^2, 0))`` with ``s_d``
   the bootstrap standard deviation of the shift (Barlow, hep-ex/0207026): dropping a scale changes the
   noise as well as the model, and the noise is in the statistical interval already.  The combined
   interval adds the statistical and systematic half-widths in quadrature (coverage measured on
   synthetic increments with the true offset and ``1/nu`` drawn from these ranges:
   :mod:`phasebench.suites.coverage.peak_cases`).

Every CI is a percentile bootstrap over test configurations, resampled jointly for all
levels and radii (the same level weights in every replicate), so correlations
between levels (common noise) and radii are accounted for.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence

import numpy as np

from .bootstrap import replicate_interval
from .systematic import with_systematic

PEAK_FRACTION = 0.4
PEAK_FRACTION_RANGE = (0.2, 0.6)  # the systematic term's window variants (module doc, step 4)
RHO_OFFSET = 1.5
#: the systematic term's plausible ranges (module doc, step 4): rho = r + offset, and 1/nu at the Nishimori point
RHO_OFFSET_RANGE = (1.0, 2.0)
INV_NU_RANGE = (0.55, 0.70)
INV_NU_NOMINAL = 0.655


# -- xi_eff from increments, its peak along the level and the extrapolation in r ----------------------------
def local_rate_pairs(radii_inc: Sequence[int]) -> List[tuple]:
    """Index pairs ``(i, k)`` with ``radii_inc[k] = radii_inc[i] + 2`` (increments D_r, D_{r+2})."""
    pos = {int(r): i for i, r in enumerate(radii_inc)}
    return [(i, pos[int(r) + 2]) for i, r in enumerate(radii_inc) if int(r) + 2 in pos]


def local_rates(d_small: np.ndarray, d_large: np.ndarray) -> np.ndarray:
    """``(1/2) ln(D_r / D_{r+2})``; NaN (unresolved) where an increment is not positive or the rate is not:
    ``D_{r+2} >= D_r`` shows no decay, and ``xi = 1 / kappa`` would be infinite or negative."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 0.5 * (np.log(d_small) - np.log(d_large))
    return np.where((d_small > 0) & (d_large > 0) & (rate > 0), rate, np.nan)


def peak_windows(kappa: np.ndarray, frac: float = PEAK_FRACTION):
    """Per row of ``kappa`` (levels on the last axis): the contiguous levels around the minimum with
    ``kappa <= min + frac |min|``, widened by one level on each side where there is one.  Returns
    ``(lo, hi, ok)`` (first and last index); ``ok`` is False where the row has no finite kappa or an
    unresolved (NaN) level borders that core: the window, and the peak, are then unknown."""
    k = np.atleast_2d(np.asarray(kappa, dtype=np.float64))
    rows, n = np.arange(len(k)), k.shape[1]
    v = np.where(np.isfinite(k), k, np.inf)
    i = np.argmin(v, axis=1)
    vmin = v[rows, i]
    ok = np.isfinite(vmin)
    outside = ~(v <= (vmin + frac * np.abs(vmin))[:, None])
    idx = np.arange(n)
    lo = np.where(outside & (idx < i[:, None]), idx, -1).max(axis=1) + 1
    hi = np.where(outside & (idx > i[:, None]), idx, n).min(axis=1) - 1
    ok &= ~((lo > 0) & ~np.isfinite(k[rows, np.maximum(lo - 1, 0)]))
    ok &= ~((hi < n - 1) & ~np.isfinite(k[rows, np.minimum(hi + 1, n - 1)]))
    return np.maximum(lo - 1, 0), np.minimum(hi + 1, n - 1), ok


def peak_window(kappa: np.ndarray, frac: float = PEAK_FRACTION) -> np.ndarray:
    """The level indices of :func:`peak_windows` for one curve (empty where unknown)."""
    lo, hi, ok = peak_windows(kappa, frac)
    return np.arange(lo[0], hi[0] + 1) if ok[0] else np.array([], dtype=int)


def peak_locations(levels: np.ndarray, kappa: np.ndarray, weights: np.ndarray, frac: float = PEAK_FRACTION) -> np.ndarray:
    """The peak of every row of ``kappa`` by one fixed rule: the window of :func:`peak_windows` chosen from that
    row, then the vertex of the quadratic fitted to kappa over it with weights ``weights`` (1 / sigma per level),
    clipped to the window; the level of the smallest kappa where the window has < 3 levels or the fit is not
    convex; NaN where the window is unknown.  (The bootstrap applies this to every replicate: a window chosen
    once, from the point estimate, would fix part of the answer and narrow the interval.)"""
    levels = np.asarray(levels, dtype=np.float64)
    k = np.atleast_2d(np.asarray(kappa, dtype=np.float64))
    lo, hi, ok = peak_windows(k, frac)
    rows, idx = np.arange(len(k)), np.arange(k.shape[1])
    inside = (idx >= lo[:, None]) & (idx <= hi[:, None])
    out = levels[np.argmin(np.where(np.isfinite(k), k, np.inf), axis=1)]
    fit = ok & (inside.sum(axis=1) >= 3) & np.isfinite(np.where(inside, k, 0.0)).all(axis=1)
    if fit.any():
        centre, scale = levels.mean(), np.ptp(levels) or 1.0
        t = (levels - centre) / scale
        w2 = np.where(inside[fit], np.asarray(weights, dtype=np.float64) ** 2, 0.0)  # polyfit's w: residual weights
        y = np.where(inside[fit], k[fit], 0.0)
        powers = t[None, :, None] ** np.arange(3)  # (1, n_levels, 3)
        normal = np.einsum("rl,lj,lk->rjk", w2, powers[0], powers[0])
        rhs = np.einsum("rl,lj,rl->rj", w2, powers[0], y)
        c = (np.linalg.pinv(normal) @ rhs[..., None])[..., 0]  # kappa = c0 + c1 t + c2 t^2
        convex = c[:, 2] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = centre + scale * (-c[:, 1] / (2 * c[:, 2]))
        vertex = np.clip(vertex, levels[lo[fit]], levels[hi[fit]])
        out[fit] = np.where(convex, vertex, out[fit])
    return np.where(ok, out, np.nan)


def peak_location(levels: np.ndarray, kappa: np.ndarray, weights: np.ndarray, frac: float = PEAK_FRACTION) -> float:
    """:func:`peak_locations` of one curve."""
    return float(peak_locations(levels, kappa, weights, frac)[0])


def interior_or_nan(levels: np.ndarray, peak):
    """``peak``, or NaN where it sits at the first or last level of the grid (no interior maximum)."""
    peak = np.asarray(peak, dtype=np.float64)
    out = np.where((levels[0] < peak) & (peak < levels[-1]), peak, np.nan)
    return float(out) if out.ndim == 0 else out


def intercept_coefficients(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The coefficients ``a`` with ``level_c = a @ peaks`` of the weighted straight-line fit
    ``peak = level_c + b u`` (weights 1 / variance), or NaN where fewer than two points carry weight."""
    ok = np.isfinite(weights) & (weights > 0) & np.isfinite(u)
    if ok.sum() < 2 or np.ptp(u[ok]) == 0:
        return np.full(len(u), np.nan)
    X = np.stack([np.ones(ok.sum()), u[ok]], axis=1)
    wX = X * weights[ok, None]
    a = np.zeros(len(u))
    a[ok] = np.linalg.solve(X.T @ wX, wX.T)[0]
    return a


def extrapolate(rho: np.ndarray, peaks: np.ndarray, weights: np.ndarray, nu: float) -> float:
    """``level_c`` of the weighted fit ``peak = level_c + b rho^{-1/nu}`` over the finite peaks (NaN with < 2)."""
    ok = np.isfinite(peaks)
    a = intercept_coefficients(np.asarray(rho, dtype=np.float64) ** (-1.0 / nu), np.where(ok, weights, 0.0))
    return float(a[ok] @ peaks[ok]) if np.isfinite(a).all() else float("nan")


def inv_nu_range(nu: float) -> tuple:
    """The plausible range of ``1/nu`` for the systematic term: :data:`INV_NU_RANGE` where it contains the
    nominal ``1/nu``, else the same relative range around the nominal value."""
    lo, hi = INV_NU_RANGE
    if lo <= 1.0 / nu <= hi:
        return INV_NU_RANGE
    return (lo / INV_NU_NOMINAL / nu, hi / INV_NU_NOMINAL / nu)


def variant_coefficients(r: np.ndarray, weights: np.ndarray, nu: float) -> Dict[str, np.ndarray]:
    """Intercept coefficients (:func:`intercept_coefficients`, over the scales ``r``) of each model variant of the
    systematic term (module doc, step 4): the rho offset and ``1/nu`` at the corners of their plausible ranges,
    and the nominal model without the smallest scale (with three or more scales)."""
    inv_lo, inv_hi = inv_nu_range(nu)
    out = {f"offset {o:g}, 1/nu {inv:.3g}": intercept_coefficients((r + o) ** (-inv), weights)
           for o in RHO_OFFSET_RANGE for inv in (inv_lo, inv_hi)}
    if len(r) >= 3:
        out["without the smallest scale"] = intercept_coefficients((r + RHO_OFFSET) ** (-1.0 / nu),
                                                                   np.where(r > r.min(), weights, 0.0))
    return out


def variant_shifts(value: float, reps: np.ndarray, variants: Dict[str, tuple]):
    """Per variant (name -> its estimate and its bootstrap replicates): its estimate, and the nominal ``value``
    moved by the part of the variant's shift that exceeds the shift's own statistical spread,
    ``sign(d) sqrt(max(d^2 - s_d^2, 0))`` with ``s_d`` the bootstrap standard deviation of the shift (Barlow,
    hep-ex/0207026): a variant that drops a scale also changes the noise, and that part is in the
    statistical interval already."""
    raw, moved = {}, {}
    for name, (estimate, estimate_reps) in variants.items():
        raw[name] = float(estimate)
        d = raw[name] - value
        spread = np.nanstd(estimate_reps - reps, ddof=1)
        moved[name] = float(value + np.sign(d) * math.sqrt(max(d * d - spread * spread, 0.0))) if np.isfinite(d) else float("nan")
    return raw, moved


#: relative standard deviation below which replicates count as equal (:func:`inverse_variance_weights`)
ROUNDING_SD = 1e-9


def inverse_variance_weights(replicates: np.ndarray) -> np.ndarray:
    """1 / variance over the replicates (axis 0), per column; variances are floored at the
    smallest positive one (equal weights when none is positive); 0 for columns without
    finite replicates.  A variance below rounding (standard deviation under 1e-9 of the mean) counts as
    zero: replicates equal up to the last bits would otherwise weigh 1e30 times the others and make the
    fit singular."""
    rep = np.asarray(replicates, dtype=np.float64)
    finite = np.isfinite(rep)
    counts = finite.sum(axis=0)
    mean = np.where(finite, rep, 0.0).sum(axis=0) / np.maximum(counts, 1)
    var = np.where(finite, (rep - mean) ** 2, 0.0).sum(axis=0) / np.maximum(counts - 1, 1)
    var = np.where(var <= (ROUNDING_SD * np.abs(mean)) ** 2, 0.0, var)
    positive = var[(counts > 1) & (var > 0)]
    floor = positive.min() if len(positive) else 1.0
    return np.where(counts > 0, 1.0 / np.maximum(var, floor), 0.0)


def bootstrap_level_means(increments: np.ndarray, boot_idx: np.ndarray) -> np.ndarray:
    """Replicate means ``(n_boot, *increments.shape[:-1])``: each row of ``boot_idx`` resamples the
    configurations (last axis) jointly for every level and radius."""
    n_boot, n = boot_idx.shape
    counts = np.bincount((np.arange(n_boot)[:, None] * n + boot_idx).ravel(), minlength=n_boot * n).reshape(n_boot, n)
    flat = increments.reshape(-1, n) @ counts.T / n  # (cells, n_boot)
    return flat.T.reshape(n_boot, *increments.shape[:-1])


def threshold_from_increments(levels: Sequence[float], radii_inc: Sequence[int], increments: np.ndarray,
                              boot_idx: np.ndarray, nu: float) -> Dict[str, Any]:
    """Transition estimate from per-configuration increments ``(n_inc, n_levels, n_test)``.

    Returns ``xi_eff`` per level at the largest scale (value and CI), the peak per scale
    (``by_rmax``: r_max, rho, value, lo, hi) and the extrapolated estimate (value, lo, hi: statistical;
    ``systematic`` and ``combined``, :func:`.systematic.with_systematic`); ``estimate`` is the extrapolated
    one when two or more scales resolve a peak, else the peak at the largest scale.  ``nu``: the
    correlation-length exponent of the transition (step 3 of the module doc).
    """
    if not (isinstance(nu, (int, float)) and math.isfinite(nu) and nu > 0):
        raise ValueError(f"nu (the correlation-length exponent) must be a finite number > 0, got {nu!r}")
    levels = np.asarray(levels, dtype=np.float64)
    pairs = local_rate_pairs(radii_inc)
    nan = {"value": float("nan"), "lo": float("nan"), "hi": float("nan")}
    out: Dict[str, Any] = {"nu": nu, "by_rmax": [], "extrapolated": dict(nan), "estimate": dict(nan), "xi_eff": []}
    if not pairs:
        out["estimate"].update(method="no scale (needs increments D_r and D_{r+2})", extrapolated=False)
        return out
    increments = np.asarray(increments, dtype=np.float64)
    means = increments.mean(axis=-1)  # (n_inc, n_levels)
    boots = bootstrap_level_means(increments, boot_idx)  # (n_boot, n_inc, n_levels)
    r_small = np.array([radii_inc[i] for i, _ in pairs], dtype=np.float64)
    point_peaks, rep_peaks = [], []
    window_variants = {f: ([], []) for f in PEAK_FRACTION_RANGE}  # the peaks with other window fractions
    for (i, k), r in zip(pairs, r_small):
        kappa = local_rates(means[i], means[k])
        kappa_b = local_rates(boots[:, i], boots[:, k])  # (n_boot, n_levels)
        weights = np.sqrt(inverse_variance_weights(kappa_b))  # 1 / sigma per level, the same in every replicate
        raw = peak_location(levels, kappa, weights)
        est = interior_or_nan(levels, raw)
        reps = peak_locations(levels, kappa_b, weights)  # a maximum at the grid edge is censored there (module doc)
        lo, hi = replicate_interval(reps) if np.isfinite(est) else (float("nan"), float("nan"))  # no peak, no interval
        point_peaks.append(est)
        rep_peaks.append(reps)
        for f, (points, replicates) in window_variants.items():
            points.append(interior_or_nan(levels, peak_location(levels, kappa, weights, f)))
            replicates.append(peak_locations(levels, kappa_b, weights, f))
        out["by_rmax"].append({"r_max": int(radii_inc[k]) + 1, "rho": float(r + RHO_OFFSET),
                               "value": est, "lo": lo, "hi": hi,
                               "peak_at_grid_edge": bool(np.isfinite(raw) and not np.isfinite(est))})
    with np.errstate(divide="ignore"):  # xi_eff at the largest scale (the last pair); kappa is NaN where <= 0
        xi, xi_b = 1.0 / kappa, 1.0 / kappa_b
    out["xi_eff"] = [dict(zip(("xi", "lo", "hi"), (float(xi[j]), *replicate_interval(xi_b[:, j]))))
                     for j in range(len(levels))]
    resolved = np.array([np.isfinite([e["value"], e["lo"], e["hi"]]).all() for e in out["by_rmax"]])
    for e, ok in zip(out["by_rmax"], resolved):
        e["resolved"] = bool(ok)
    r_small, point_peaks, rep_peaks = r_small[resolved], np.array(point_peaks)[resolved], np.array(rep_peaks)[resolved]
    if resolved.sum() >= 2:
        w = inverse_variance_weights(rep_peaks.T)
        a = intercept_coefficients((r_small + RHO_OFFSET) ** (-1.0 / nu), w)
        value = float(a @ point_peaks)
        lo, hi = replicate_interval(a @ rep_peaks)  # a replicate with a failed peak fails (NaN): counted
        used = [e["r_max"] for e in out["by_rmax"] if e["resolved"]]
        inv_lo, inv_hi = inv_nu_range(nu)
        model_range = (f"rho offset {RHO_OFFSET_RANGE[0]:g} to {RHO_OFFSET_RANGE[1]:g}, 1/nu {inv_lo:.3g} to "
                       f"{inv_hi:.3g}" + (", without the smallest scale" if len(used) >= 3 else "") +
                       f", peak window fraction {PEAK_FRACTION_RANGE[0]:g} to {PEAK_FRACTION_RANGE[1]:g}")
        variants = {name: (c @ point_peaks, c @ rep_peaks) for name, c in variant_coefficients(r_small, w, nu).items()}
        for f, (points, replicates) in window_variants.items():
            variants[f"peak window fraction {f:g}"] = (a @ np.array(points)[resolved], a @ np.array(replicates)[resolved])
        raw, moved = variant_shifts(value, a @ rep_peaks, variants)
        out["extrapolated"] = with_systematic({"value": value, "lo": lo, "hi": hi, "rho": (r_small + RHO_OFFSET).tolist(),
                                               "variant_estimates": raw}, moved, model_range)
        method = f"peak extrapolated in rho^(-1/nu), nu = {nu:.3g}, from r_max in {used}"
        if levels[0] < value < levels[-1]:
            out["estimate"] = {**out["extrapolated"], "method": method, "extrapolated": True}
        else:  # e.g. peaks that drift the wrong way: no estimate, but the extrapolation stays on record
            out["estimate"] = {**nan, "method": f"{method}: {value:.4g} lies outside the level grid", "extrapolated": False}
    elif resolved.any():
        last = [e for e in out["by_rmax"] if e["resolved"]][-1]
        out["estimate"] = {"value": last["value"], "lo": last["lo"], "hi": last["hi"], "extrapolated": False,
                           "method": f"peak at r_max = {last['r_max']} (not extrapolated; the only resolved scale)"}
    else:
        out["estimate"] = {**nan, "method": "no resolved peak", "extrapolated": False}
    return out
