"""Measure how often an estimator's nominal 95% interval covers a known answer.

A :class:`CoverageCase` is synthetic data with a known answer that mimics the real noise of one
estimator on one division's grid (per-configuration distributions, correlations between sizes or
radii, the real grids), and the interval the estimator reports on it.  :func:`measure_coverage`
replicates it ``n_rep`` times, each replication with its own random stream
(``SeedSequence([seed, crc32(name), i])``), and reports the fraction of replications whose interval
contains the answer with its exact (Clopper-Pearson) binomial 95% interval.  A replication that
yields no interval (the estimator declines) counts as not covering, and is counted apart.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Tuple

import numpy as np
from scipy.stats import binomtest


@dataclass(frozen=True)
class CoverageCase:
    """One estimator on one grid: ``simulate(rng)`` draws a synthetic data set, ``interval(data, seed)``
    returns the interval that the estimator reports on it, ``truth`` is the known answer."""

    name: str
    estimator: str
    grid: str
    truth: float
    simulate: Callable[[np.random.Generator], Any]
    interval: Callable[[Any, int], Tuple[float, float]]
    notes: str = ""
    fast: bool = False  # cheap enough for the test suite


def replication_seed(seed: int, name: str, i: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(i)])


def measure_coverage(case: CoverageCase, n_rep: int, seed: int = 0) -> Dict[str, Any]:
    """Empirical coverage of ``case``'s interval over ``n_rep`` replications, with its binomial CI."""
    if not isinstance(n_rep, int) or n_rep < 1:
        raise ValueError(f"n_rep must be an integer >= 1, got {n_rep!r}")
    covered = missing = 0
    widths: List[float] = []
    for i in range(n_rep):
        ss = replication_seed(seed, case.name, i)
        data = case.simulate(np.random.default_rng(ss))
        lo, hi = case.interval(data, int(ss.generate_state(1)[0]))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            missing += 1
            continue
        covered += int(lo <= case.truth <= hi)
        widths.append(hi - lo)
    ci = binomtest(covered, n_rep).proportion_ci(confidence_level=0.95, method="exact")
    return {"case": case.name, "estimator": case.estimator, "grid": case.grid, "n": n_rep, "covered": covered,
            "coverage": covered / n_rep, "coverage_lo": float(ci.low), "coverage_hi": float(ci.high),
            "no_interval": missing, "median_width": float(np.median(widths)) if widths else float("nan")}


def coverage_table(cases: Iterable[CoverageCase], n_rep: int, seed: int = 0) -> List[Dict[str, Any]]:
    return [measure_coverage(c, n_rep, seed) for c in cases]


def render_table(rows: List[Dict[str, Any]]) -> str:
    """Markdown table of :func:`measure_coverage` rows."""
    lines = ["| case | estimator | grid | n | coverage [95% binomial CI] | no interval | median width |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['estimator']} | {r['grid']} | {r['n']} | {r['coverage']:.3f} "
                     f"[{r['coverage_lo']:.3f}, {r['coverage_hi']:.3f}] | {r['no_interval']} | {r['median_width']:.4g} |")
    return "\n".join(lines)
