"""The effective decay length xi_eff of the r-local error: its fit, its peak along the noise level, and
the finite-r extrapolation of that peak to the transition.

**Decay length from excesses** (:func:`decay_length_with_ci`, ``gff-markov``).  The excess
``Delta(r) = MSE_r - MSE_ref`` decays as ``Delta(r) ~ exp(-r / xi_eff)`` (the Markov-length convention
``I(A:C|B) ~ exp(-r / xi)``).  ``xi_eff`` is fitted by weighted least squares of ``log Delta`` on ``r``
over the *resolved* radii: the contiguous run from the smallest radius where the mean excess is positive in
all but 1.25% of the bootstrap replicates (:func:`fit_radii`).
At small r the excess is not yet a pure exponential (power-law prefactors), so the fit is biased against
the asymptotic decay length, by 3-8% for the GFF at r <= 4 even on exact expected excesses.
:func:`paired_decay_length_ratio` therefore compares a family with the exact r-local oracle through the
*same* fit (radii, weights) on the *same* configurations, inside every bootstrap replicate: the fit's
bias is common to both and cancels, and so does the noise of the test configurations they share.

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
   (plus one level on each flank), weighted by 1 / (bootstrap standard deviation of kappa).  The
   minimum of ``kappa`` is the maximum of ``xi_eff``; fitting ``kappa`` avoids the
   blow-up of ``1 / kappa`` where the decay is slow.  A maximum at the first or last level of
   the grid is no peak (``xi_eff`` is monotone there, and the transition, if any, is outside the
   grid): that scale's value is NaN, flagged ``peak_at_grid_edge``, and so is every bootstrap
   replicate whose maximum sits at the edge.  A scale is *resolved* when its peak and its CI are
   finite (failed replicates are counted beyond both ends of the interval, :func:`.bootstrap.replicate_interval`,
   so an interval exists only where nearly all of the replicates locate an interior peak).
3. **Extrapolation.**  At a finite scale the peak is shifted from the transition as
   ``level*(rho) = level_c + b rho^{-1/nu}`` (finite-size scaling with ``rho`` in place
   of L; ``nu`` is the transition's correlation-length exponent, a parameter: 1/0.655 along the
   Nishimori line of the toric code, docs/physics.md, section 3).  A
   weighted straight-line fit of ``level*`` against ``rho^{-1/nu}`` over the resolved
   scales gives ``level_c`` at ``rho = inf``; an extrapolated value outside the level grid is
   no estimate (NaN; the value stays in ``extrapolated``).  With one resolved scale the
   estimate is its peak, not extrapolated.

Every CI is a percentile bootstrap over test configurations, resampled jointly for all
levels and radii (same level windows and weights in every replicate), so correlations
between levels (common noise) and radii are accounted for.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .bootstrap import CI_LEVEL, replicate_interval

PEAK_FRACTION = 0.4
RHO_OFFSET = 1.5


# -- decay length from excesses over the radii --------------------------------------------------------------
def fit_decay_length(radii: Sequence[float], deltas: Sequence[float], sigmas: Optional[Sequence[float]] = None) -> float:
    """``xi`` from a weighted least-squares fit ``log Delta = c - r / xi`` (NaN if not decaying).

    The residual of ``log Delta`` is weighted by ``Delta / sigma``, the inverse relative error of ``Delta``."""
    return float(fit_decay_lengths(radii, np.asarray(deltas, dtype=np.float64)[:, None], sigmas)[0])


def fit_decay_lengths(radii: Sequence[float], deltas: np.ndarray, sigmas: Optional[Sequence[float]] = None) -> np.ndarray:
    """:func:`fit_decay_length` of every column of ``deltas`` (n_radii, n_fits), e.g. bootstrap replicates."""
    r = np.asarray(radii, dtype=np.float64)
    d = np.asarray(deltas, dtype=np.float64)
    ok = (d > 0).all(axis=0) & np.isfinite(d).all(axis=0)
    if len(r) < 2:
        return np.full(d.shape[1], np.nan)
    d = np.where(ok, d, 1.0)
    w = np.ones_like(d) if sigmas is None else d / np.maximum(np.asarray(sigmas, float), 1e-300)[:, None]
    w2, y = w * w, np.log(d)
    s0, s1, s2 = w2.sum(axis=0), (w2 * r[:, None]).sum(axis=0), (w2 * r[:, None] ** 2).sum(axis=0)
    slope = (s0 * (w2 * r[:, None] * y).sum(axis=0) - s1 * (w2 * y).sum(axis=0)) / (s0 * s2 - s1 * s1)
    with np.errstate(divide="ignore"):
        return np.where(ok & (slope < 0), -1.0 / slope, np.nan)


def replicate_means(per_config: np.ndarray, boot_idx: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means over configurations (last axis) of the rows of ``per_config`` (n_rows, n_configs), their bootstrap
    replicates (n_rows, n_boot: each resample as a count per configuration, one matrix product) and standard
    errors (sample standard deviation over sqrt(n))."""
    n_boot, n = boot_idx.shape
    counts = np.bincount((boot_idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
    reps = np.einsum("bn,rn->rb", counts.reshape(n_boot, n).astype(np.float64), per_config) / n
    return per_config.mean(axis=1), reps, per_config.std(axis=1, ddof=1) / math.sqrt(n)


def fit_radii(means: Sequence[np.ndarray], reps: Sequence[np.ndarray]) -> int:
    """How many radii from the first the fit uses: the longest run where every series' mean excess is positive
    and at most ``(1 - CI_LEVEL) / 4`` of the bootstrap replicates have a non-positive mean at any radius of
    the run in any series (``means``: one (n_radii,) array per series, ``reps``: (n_radii, n_boot)).

    A replicate with a non-positive mean has no log: its fit fails and :func:`.bootstrap.replicate_interval`
    counts it beyond both ends.  Half of the ``(1 - CI_LEVEL) / 2`` tail keeps the interval defined and
    little widened by them (each radius used is resolved at 2.24 sigma, above the 1.96 of a CI excluding
    0).  Measured: docs/decisions/interval-coverage.md, section GFF calibration."""
    n_boot = reps[0].shape[1]
    failed = np.zeros(n_boot, dtype=bool)
    for i in range(len(means[0])):
        failed = failed | np.any([rep[i] <= 0 for rep in reps], axis=0)
        if not all(m[i] > 0 for m in means) or failed.mean() > (1 - CI_LEVEL) / 4:
            return i
    return len(means[0])


def decay_length_with_ci(radii: Sequence[int], per_config_excess: np.ndarray, boot_idx: np.ndarray) -> Dict:
    """Fit xi_eff over the resolved radii (:func:`fit_radii`), with a bootstrap CI over test configurations.

    ``per_config_excess`` has shape (n_radii, n_configs), paired over configurations.
    """
    means, reps, se = replicate_means(per_config_excess, boot_idx)
    keep = list(range(fit_radii([means], [reps])))
    out = {"radii_used": [int(radii[i]) for i in keep], "xi": float("nan"), "lo": float("nan"), "hi": float("nan")}
    if len(keep) < 2:
        return out
    r = np.asarray([radii[i] for i in keep], dtype=np.float64)
    out["xi"] = fit_decay_length(r, means[keep], se[keep])
    out["lo"], out["hi"] = replicate_interval(fit_decay_lengths(r, reps[keep], se[keep]))
    return out


def paired_decay_length_ratio(radii: Sequence[int], per_config_excess: np.ndarray, oracle_excess: np.ndarray,
                              boot_idx: np.ndarray, expected_oracle_excess: Optional[Sequence[float]] = None) -> Dict:
    """``xi_eff(family) / xi_eff(exact r-local oracle)`` from the same fit on the same configurations.

    ``per_config_excess`` and ``oracle_excess``: (n_radii, n_configs), paired over configurations (the
    oracle's r-local errors on the family's test configurations and noise draws, minus the same reference).
    Both fits use the radii resolved for both (:func:`fit_radii` of the two) and the family's weights
    (:func:`fit_decay_length`); every bootstrap replicate resamples the same configurations in both and
    takes the ratio, so the fit's bias and the configurations' shared noise cancel.  For the oracle itself
    the ratio is 1 in every replicate.  ``expected_oracle_excess`` (the oracle's exact expected excess per
    radius, where known) adds ``xi_expected``: the same fit on it, the oracle's xi_eff without sampling
    noise, whose ratio to the Markov length is the fit's own bias.
    """
    fam_means, fam_reps, se = replicate_means(per_config_excess, boot_idx)
    ora_means, ora_reps, _ = replicate_means(oracle_excess, boot_idx)
    keep = list(range(fit_radii([fam_means, ora_means], [fam_reps, ora_reps])))
    nan = {"value": float("nan"), "lo": float("nan"), "hi": float("nan")}
    out = {"radii_used": [int(radii[i]) for i in keep], "xi": dict(nan), "xi_oracle": dict(nan), "ratio": dict(nan),
           "xi_expected": float("nan")}
    if len(keep) < 2:
        return out
    r = np.asarray([radii[i] for i in keep], dtype=np.float64)
    xi_f = fit_decay_lengths(r, np.concatenate([fam_means[keep, None], fam_reps[keep]], axis=1), se[keep])
    xi_o = fit_decay_lengths(r, np.concatenate([ora_means[keep, None], ora_reps[keep]], axis=1), se[keep])
    for key, xi in (("xi", xi_f), ("xi_oracle", xi_o), ("ratio", xi_f / xi_o)):
        out[key] = {"value": float(xi[0]), **dict(zip(("lo", "hi"), replicate_interval(xi[1:])))}
    if expected_oracle_excess is not None:
        out["xi_expected"] = fit_decay_length(r, np.asarray(expected_oracle_excess, float)[keep], se[keep])
    return out


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


# -- xi_eff from increments, its peak along the level and the extrapolation in r ----------------------------
def local_rate_pairs(radii_inc: Sequence[int]) -> List[tuple]:
    """Index pairs ``(i, k)`` with ``radii_inc[k] = radii_inc[i] + 2`` (increments D_r, D_{r+2})."""
    pos = {int(r): i for i, r in enumerate(radii_inc)}
    return [(i, pos[int(r) + 2]) for i, r in enumerate(radii_inc) if int(r) + 2 in pos]


def local_rates(d_small: np.ndarray, d_large: np.ndarray) -> np.ndarray:
    """``(1/2) ln(D_r / D_{r+2})``; NaN where an increment is not positive (unresolved)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 0.5 * (np.log(d_small) - np.log(d_large))
    return np.where((d_small > 0) & (d_large > 0), rate, np.nan)


def peak_window(kappa: np.ndarray, frac: float = PEAK_FRACTION) -> np.ndarray:
    """Contiguous finite levels around the minimum of kappa with ``kappa <= min + frac |min|``,
    widened by one finite level on each side."""
    v = np.where(np.isfinite(kappa), kappa, np.inf)
    i = int(np.argmin(v))
    if not np.isfinite(v[i]):
        return np.array([], dtype=int)
    cut = v[i] + frac * abs(v[i])
    lo = hi = i
    while lo > 0 and v[lo - 1] <= cut:
        lo -= 1
    while hi < len(v) - 1 and v[hi + 1] <= cut:
        hi += 1
    lo = lo - 1 if lo > 0 and np.isfinite(v[lo - 1]) else lo
    hi = hi + 1 if hi < len(v) - 1 and np.isfinite(v[hi + 1]) else hi
    return np.arange(lo, hi + 1)


def peak_location(levels: np.ndarray, kappa: np.ndarray, sel: np.ndarray, weights: np.ndarray) -> float:
    """Vertex of the weighted quadratic fit of kappa over ``sel`` (clipped to the fitted range);
    the level of the smallest kappa when the fit has < 3 points or is not convex; NaN if none."""
    if len(sel) == 0 or not np.isfinite(kappa[sel]).all():
        finite = np.where(np.isfinite(kappa), kappa, np.inf)
        return float(levels[int(np.argmin(finite))]) if np.isfinite(finite).any() else float("nan")
    x, v = levels[sel], kappa[sel]
    if len(sel) >= 3:
        a, b, _ = np.polyfit(x, v, 2, w=weights[sel])
        if a > 0:
            return float(np.clip(-b / (2 * a), x[0], x[-1]))
    return float(x[int(np.argmin(v))])


def interior_or_nan(levels: np.ndarray, peak: float) -> float:
    """``peak``, or NaN where it sits at the first or last level of the grid (no interior maximum)."""
    return float("nan") if not (levels[0] < peak < levels[-1]) else peak


def extrapolate(rho: np.ndarray, peaks: np.ndarray, weights: np.ndarray, nu: float) -> float:
    """``level_c`` of the weighted fit ``peak = level_c + b rho^{-1/nu}`` (NaN with < 2 finite points)."""
    ok = np.isfinite(peaks) & np.isfinite(weights) & (weights > 0)
    if ok.sum() < 2:
        return float("nan")
    u = rho[ok] ** (-1.0 / nu)
    _, c = np.polyfit(u, peaks[ok], 1, w=np.sqrt(weights[ok]))  # weights are 1 / variance
    return float(c)


def inverse_variance_weights(replicates: np.ndarray) -> np.ndarray:
    """1 / variance over the replicates (axis 0), per column; variances are floored at the
    smallest positive one (equal weights when none is positive); 0 for columns without
    finite replicates."""
    rep = np.asarray(replicates, dtype=np.float64)
    finite = np.isfinite(rep)
    counts = finite.sum(axis=0)
    mean = np.where(finite, rep, 0.0).sum(axis=0) / np.maximum(counts, 1)
    var = np.where(finite, (rep - mean) ** 2, 0.0).sum(axis=0) / np.maximum(counts - 1, 1)
    positive = var[(counts > 1) & (var > 0)]
    floor = positive.min() if len(positive) else 1.0
    return np.where(counts > 0, 1.0 / np.maximum(var, floor), 0.0)


def threshold_from_increments(levels: Sequence[float], radii_inc: Sequence[int], increments: np.ndarray,
                              boot_idx: np.ndarray, nu: float) -> Dict[str, Any]:
    """Transition estimate from per-configuration increments ``(n_inc, n_levels, n_test)``.

    Returns ``xi_eff`` per level at the largest scale (value and CI), the peak per scale
    (``by_rmax``: r_max, rho, value, lo, hi) and the extrapolated estimate (value, lo, hi);
    ``estimate`` is the extrapolated one when two or more scales resolve a peak, else the
    peak at the largest scale.  ``nu``: the correlation-length exponent of the transition (step 3 of
    the module doc).
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
    means = increments.mean(axis=-1)  # (n_inc, n_levels)
    boots = np.stack([increments[:, :, b].mean(axis=-1) for b in boot_idx])  # (n_boot, n_inc, n_levels)
    rho = np.array([radii_inc[i] + RHO_OFFSET for i, _ in pairs])
    point_peaks, rep_peaks = [], []
    for i, k in pairs:
        kappa = local_rates(means[i], means[k])
        kappa_b = local_rates(boots[:, i], boots[:, k])  # (n_boot, n_levels)
        weights = np.sqrt(inverse_variance_weights(kappa_b))  # polyfit weights multiply residuals: 1 / sigma
        sel = peak_window(kappa)
        raw = peak_location(levels, kappa, sel, weights)
        est = interior_or_nan(levels, raw)
        reps = np.array([interior_or_nan(levels, peak_location(levels, row, sel, weights)) for row in kappa_b])
        lo, hi = replicate_interval(reps)
        point_peaks.append(est)
        rep_peaks.append(reps)
        out["by_rmax"].append({"r_max": int(radii_inc[k]) + 1, "rho": float(radii_inc[i] + RHO_OFFSET),
                               "value": est, "lo": lo, "hi": hi,
                               "peak_at_grid_edge": bool(np.isfinite(raw) and not np.isfinite(est))})
    with np.errstate(divide="ignore"):  # xi_eff at the largest scale (the last pair)
        xi, xi_b = 1.0 / kappa, 1.0 / kappa_b
    out["xi_eff"] = [dict(zip(("xi", "lo", "hi"), (float(xi[j]), *replicate_interval(xi_b[:, j]))))
                     for j in range(len(levels))]
    resolved = np.array([np.isfinite([e["value"], e["lo"], e["hi"]]).all() for e in out["by_rmax"]])
    for e, ok in zip(out["by_rmax"], resolved):
        e["resolved"] = bool(ok)
    rho, point_peaks, rep_peaks = rho[resolved], np.array(point_peaks)[resolved], np.array(rep_peaks)[resolved]
    if resolved.sum() >= 2:
        w = inverse_variance_weights(rep_peaks.T)
        value = extrapolate(rho, point_peaks, w, nu)
        reps = np.array([extrapolate(rho, rep_peaks[:, b], w, nu) for b in range(rep_peaks.shape[1])])
        lo, hi = replicate_interval(reps)
        out["extrapolated"] = {"value": value, "lo": lo, "hi": hi, "rho": rho.tolist()}
        used = [e["r_max"] for e in out["by_rmax"] if e["resolved"]]
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
