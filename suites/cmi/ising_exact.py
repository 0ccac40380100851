"""Exact CMI and r-local excess of noisy 2D Ising data on a small torus, and the speciation curve beside them.

Model (docs/physics.md, sections 2 and 5): s is drawn from the Ising model at temperature T on the L x L torus
(the validated sampler), y = a s + s_n z (Gaussian channel at level lambda = a^2 / s_n^2).  A is one site,
B the other sites of its radius-r Chebyshev window W, C the rest.

Exact r-local posterior.  The data are the L-torus Ising law itself, so the best r-local estimate is
E[s_A | y_W] = <s_A> in the Ising model on the whole torus with the posterior fields h_i = a y_i / s_n^2 on
W and zero field outside it: the same transfer matrix as the global oracle
(:func:`phasebench.lattice_models.exact.torus_ising.torus_ising_marginals`, L <= 12) with the field masked.

CMI.  y_A depends on the other sites only through s_A, so P(y_A | y_S) = sum_s P(s_A = s | y_S) N(y_A; a s,
s_n^2), a two-component mixture whose weight u_S = P(s_A = +1 | y_S) comes from the posterior with A's own
field set to zero, and I(A:C|B) = E_y KL(P(y_A | y_BC) || P(y_A | y_B)) (the same identity as
for the toric loops, :mod:`.toric_exact`).  The KL of two mixtures with common components N(+-mu, 1),
mu = sqrt(lambda), is a one-dimensional integral, done by Gauss-Hermite quadrature.

Excess.  Delta(lambda, r) = MSE_r - MSE_global = E (E[s_A | y] - E[s_A | y_W])^2 (orthogonality).

Speciation curve.  M(lambda) = E[mhat(y) sign m(s)], mhat the lattice mean of the global posterior mean, as in
``ising-speciation``; it rises from 0 to <|m|>.

Every level uses one clean sample and one noise draw z per configuration (y = a s + s_n z at every lambda), so
the curves in lambda are coupled.  Each configuration is averaged over a set of centres A (translation
invariance); the CI is a bootstrap over configurations.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Sequence

import numpy as np

from phasebench.lattice_models.exact.torus_ising import MAX_L as ORACLE_MAX_L
from phasebench.lattice_models.exact.torus_ising import torus_ising_marginals

from ..estimators.bootstrap import bootstrap_indices, mean_with_ci, replicate_interval
from ..estimators.crossing import level_at_fraction_replicates

#: the largest torus used here: the transfer matrix costs 0.3 s per call at L = 10 and one call is made per
#: centre and radius (measured: docs/decisions/ising-breakdown-speciation.md)
MAX_L = 10

#: centres A averaged per configuration (translation invariance)
DEFAULT_CENTRES = 8

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(200)  # relative error < 1e-8 for mu <= 3.2 (tested)


def mixture_kl(u: np.ndarray, v: np.ndarray, mu: float) -> np.ndarray:
    """KL(u N(mu, 1) + (1 - u) N(-mu, 1) || v N(mu, 1) + (1 - v) N(-mu, 1)) in nats, elementwise in u, v.

    log of the density ratio at y is log((u e^{2 mu y} + 1 - u) / (v e^{2 mu y} + 1 - v)); its mean under each
    component is a Gauss-Hermite sum."""
    u, v = np.asarray(u, dtype=np.float64)[..., None], np.asarray(v, dtype=np.float64)[..., None]

    def log_ratio(y):
        t = 2.0 * mu * y
        return (np.logaddexp(np.log(u) + t, np.log1p(-u)) - np.logaddexp(np.log(v) + t, np.log1p(-v)))

    with np.errstate(divide="ignore"):  # a weight of exactly 0 or 1 (a saturated posterior): log 0 = -inf is right
        plus = (_GH_W * log_ratio(mu + np.sqrt(2.0) * _GH_X)).sum(axis=-1) / np.sqrt(np.pi)
        minus = (_GH_W * log_ratio(-mu + np.sqrt(2.0) * _GH_X)).sum(axis=-1) / np.sqrt(np.pi)
    return np.maximum(u[..., 0] * plus + (1.0 - u[..., 0]) * minus, 0.0)


def window_mask(L: int, centre: tuple, r: int) -> np.ndarray:
    """Boolean (L, L) mask of the radius-r Chebyshev window around ``centre`` on the torus."""
    i, j = centre
    rows = (np.arange(i - r, i + r + 1) % L)[:, None]
    cols = (np.arange(j - r, j + r + 1) % L)[None, :]
    mask = np.zeros((L, L), dtype=bool)
    mask[rows, cols] = True
    return mask


def centres_for(L: int, n_centres: int) -> list:
    """Up to ``n_centres`` sites spread over the torus (all L^2 sites when n_centres >= L^2)."""
    if n_centres >= L * L:
        return [(i, j) for i in range(L) for j in range(L)]
    flat = np.round(np.linspace(0, L * L, n_centres, endpoint=False)).astype(int)
    # a diagonal stagger, so that the centres do not all share a row
    return [(int(f // L), int((f + f // L) % L)) for f in flat]


def _cavity_mean(J: np.ndarray, field: np.ndarray, centre: tuple) -> float:
    """<s_A> with A's own field set to zero: E[s_A | the other observations in ``field``]."""
    h = field.copy()
    h[centre] = 0.0
    return float(torus_ising_marginals(J, J, h).magnetization[centre])


def _with_own_field(cavity: np.ndarray, own: np.ndarray) -> np.ndarray:
    """E[s_A | y_S, y_A] = tanh(atanh(E[s_A | y_S]) + h_A) (adding A's field to the cavity log-odds)."""
    return np.tanh(np.arctanh(np.clip(cavity, -1 + 1e-16, 1 - 1e-16)) + own)


def per_config(x: np.ndarray, z: np.ndarray, K: float, lam: float, radii: Sequence[int], centres: Sequence[tuple],
               a: float = 1.0) -> Dict[str, np.ndarray]:
    """Per-configuration quantities at one level: ``cmi`` and ``excess`` of shape (n, len(radii)) (means over
    the centres), ``overlap`` M and ``abs_m`` of shape (n,).  x: (n, L, L) spins, z: (n, L, L) standard normal.

    The conditionals without A's own observation are computed with A's field set to zero (one transfer-matrix
    call per centre), not by removing it from a saturated magnetisation: at high SNR tanh(h) rounds to 1."""
    n, L = x.shape[0], x.shape[-1]
    s_n = a / np.sqrt(lam)
    h = a * (a * x + s_n * z) / s_n ** 2
    J = np.full((L, L), float(K))
    cmi, excess = np.zeros((n, len(radii))), np.zeros((n, len(radii)))
    overlap = np.empty(n)
    ci, cj = np.array([c[0] for c in centres]), np.array([c[1] for c in centres])
    masks = [[window_mask(L, c, r) for c in centres] for r in radii]
    for k in range(n):
        overlap[k] = torus_ising_marginals(J, J, h[k]).magnetization.mean() * np.sign(x[k].mean() + 1e-300)
        own = h[k, ci, cj]
        u = np.array([_cavity_mean(J, h[k], c) for c in centres])
        for q in range(len(radii)):
            v = np.array([_cavity_mean(J, np.where(mask, h[k], 0.0), c) for mask, c in zip(masks[q], centres)])
            cmi[k, q] = mixture_kl((1 + u) / 2, (1 + v) / 2, np.sqrt(lam)).mean()
            excess[k, q] = ((_with_own_field(u, own) - _with_own_field(v, own)) ** 2).mean()
    return {"cmi": cmi, "excess": excess, "overlap": overlap, "abs_m": np.abs(x.mean(axis=(1, 2)))}


def check_lattice(L: int) -> int:
    """``L`` itself, or ValueError outside the sizes this estimator treats (4 <= L <= :data:`MAX_L`)."""
    if not 4 <= int(L) <= min(MAX_L, ORACLE_MAX_L):
        raise ValueError(f"L must lie in [4, {MAX_L}] for the exact Ising CMI, got {L}")
    return int(L)


def grid(x: np.ndarray, K: float, levels: Sequence[float], radii: Sequence[int], n_centres: int, seed: int,
         ) -> Dict[str, Any]:
    """The quantities of :func:`per_config` over the levels: ``cmi``/``excess`` (levels, radii, n), ``overlap``
    (levels, n), ``abs_m`` (n), and the wall time.  x: (n, L, L) clean spins."""
    L = check_lattice(x.shape[-1])
    radii = [int(r) for r in radii]
    if any(r < 1 or 2 * r + 1 >= L for r in radii):
        raise ValueError(f"radii must satisfy 1 <= r and 2r + 1 < L = {L}, got {radii}")
    t0 = time.perf_counter()
    z = np.random.default_rng(seed).standard_normal(x.shape)
    centres = centres_for(L, n_centres)
    rows = [per_config(x, z, K, lam, radii, centres) for lam in levels]
    return {"L": L, "levels": [float(v) for v in levels], "radii": radii, "centres": len(centres),
            "cmi": np.stack([np.moveaxis(r["cmi"], 0, 1) for r in rows]),
            "excess": np.stack([np.moveaxis(r["excess"], 0, 1) for r in rows]),
            "overlap": np.stack([r["overlap"] for r in rows]), "abs_m": rows[0]["abs_m"],
            "wall_seconds": time.perf_counter() - t0}


def half_maximum_window(levels: Sequence[float], curves: np.ndarray) -> np.ndarray:
    """For each row of ``curves`` (rows, levels): the levels (lo, hi) where the curve crosses half its maximum
    below and above the maximum, interpolated in log level; NaN where it does not cross inside the grid
    (the window is censored by the grid).  Returns (rows, 2)."""
    logl = np.log(np.asarray(levels, dtype=np.float64))
    out = np.full((len(curves), 2), np.nan)
    for row, c in enumerate(np.asarray(curves, dtype=np.float64)):
        j = int(np.argmax(c))
        half = 0.5 * c[j]
        below = np.flatnonzero(c[:j] < half)
        above = np.flatnonzero(c[j + 1:] < half) + j + 1
        if below.size:
            i = below[-1]
            out[row, 0] = np.exp(np.interp(half, [c[i], c[i + 1]], [logl[i], logl[i + 1]]))
        if above.size:
            i = above[0]
            out[row, 1] = np.exp(np.interp(half, [c[i], c[i - 1]], [logl[i], logl[i - 1]]))
    return out


def speciation_window(levels, overlap, abs_m, boot_idx, fractions=(0.1, 0.9)) -> Dict[str, Any]:
    """The levels where the global posterior's M(lambda) reaches each fraction of <|m|>, with bootstrap CIs."""
    out = {}
    for f in fractions:
        est, boots = level_at_fraction_replicates(levels, overlap, abs_m, f, boot_idx)
        lo, hi = replicate_interval(boots)
        out[f"{f:g}"] = {"value": float(est), "lo": lo, "hi": hi}
    return out


def breakdown_window(levels, values: np.ndarray, boot_idx) -> Dict[str, Any]:
    """The half-maximum window in level of the mean curve of ``values`` (levels, n), with bootstrap CIs of
    both ends (a replicate whose window is censored fails; no interval when more than 2.5% fail)."""
    point = half_maximum_window(levels, values.mean(axis=-1)[None])[0]
    boots = half_maximum_window(levels, values[:, boot_idx].mean(axis=-1).T)
    peak = np.asarray(levels)[int(np.argmax(values.mean(axis=-1)))]
    ends = {}
    for e, name in enumerate(("lo", "hi")):
        lo, hi = replicate_interval(boots[:, e])
        ends[name] = {"value": float(point[e]) if np.isfinite(point[e]) else None, "lo": lo, "hi": hi}
    return {"peak_level": float(peak), **ends}


def summarize(res: Dict[str, Any], seed: int, n_boot: int = 1000) -> Dict[str, Any]:
    """Cells (CMI and excess with CIs per level and radius), the speciation window of the global posterior and
    the breakdown windows (half maximum of the excess and of the CMI) per radius."""
    n = res["abs_m"].shape[0]
    idx = bootstrap_indices(n, seed, n_boot)
    cells = []
    for j, lam in enumerate(res["levels"]):
        for q, r in enumerate(res["radii"]):
            cells.append({"level": lam, "r": r, **{f"cmi_{k}": v for k, v in mean_with_ci(res["cmi"][j, q], idx)
                                                   .to_dict().items()},
                          **{f"excess_{k}": v for k, v in mean_with_ci(res["excess"][j, q], idx).to_dict().items()},
                          "value": float(res["cmi"][j, q].mean())})
    return {"L": res["L"], "cells": cells,
            "speciation": speciation_window(res["levels"], res["overlap"], res["abs_m"], idx),
            "breakdown_excess": {str(r): breakdown_window(res["levels"], res["excess"][:, q], idx)
                                 for q, r in enumerate(res["radii"])},
            "breakdown_cmi": {str(r): breakdown_window(res["levels"], res["cmi"][:, q], idx)
                              for q, r in enumerate(res["radii"])},
            "mean_abs_m": float(res["abs_m"].mean()), "centres": res["centres"], "n": n,
            "wall_seconds": res["wall_seconds"]}
