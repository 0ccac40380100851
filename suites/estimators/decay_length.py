"""The effective decay length xi_eff of the r-local error from its excesses over the radii (``gff-markov``).

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
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .bootstrap import CI_LEVEL, replicate_interval


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
