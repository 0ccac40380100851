"""The coverage harness, and the fast coverage cases: each nominal 95% interval must not be shown to
cover less than 0.93 or more than 0.99 (the binomial CI of its empirical coverage must reach into
[0.93, 0.99])."""

import math

import numpy as np
import pytest

from phasebench.suites.coverage import CASES, CoverageCase, measure_coverage
from phasebench.suites.coverage import cases  # noqa: F401
from phasebench.suites.estimators import replicate_interval
from phasebench.suites.estimators.systematic import combined_interval, consistent_with, error_text, with_systematic

N_REP_FAST = 200


def test_harness_measures_a_known_coverage():
    """An exact z-interval of a Gaussian mean covers 95%: the harness must agree within its binomial CI."""
    case = CoverageCase("z", "z", "-", 0.0, lambda rng: rng.normal(0, 1, 25),
                        lambda x, seed: (x.mean() - 1.96 / 5, x.mean() + 1.96 / 5))
    r = measure_coverage(case, 400, seed=3)
    assert r["coverage_lo"] <= 0.95 <= r["coverage_hi"]
    too_narrow = CoverageCase("z1", "z", "-", 0.0, lambda rng: rng.normal(0, 1, 25),
                              lambda x, seed: (x.mean() - 1.0 / 5, x.mean() + 1.0 / 5))  # a 68% interval
    assert measure_coverage(too_narrow, 400, seed=3)["coverage_hi"] < 0.8


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.fast))
def test_fast_case_covers_at_nominal_rate(name):
    r = measure_coverage(CASES[name], N_REP_FAST, seed=1)
    assert r["coverage_hi"] >= 0.93 and r["coverage_lo"] <= 0.99, r


def test_failed_replicates_are_counted_not_dropped():
    rng = np.random.default_rng(0)
    reps = rng.normal(0, 1, 1000)
    lo0, hi0 = replicate_interval(reps)
    reps[np.argsort(reps)[:20]] = np.nan  # the 20 lowest fail: dropping them would raise the lower limit
    lo, hi = replicate_interval(reps)
    assert lo <= lo0 + 1e-12 and hi >= hi0 - 1e-12
    reps[:40] = np.nan  # more failures than the 2.5% tail holds: no interval
    assert all(math.isnan(v) for v in replicate_interval(reps))


def test_systematic_and_combined_intervals():
    est = with_systematic({"value": 1.0, "lo": 0.97, "hi": 1.04}, {"a": 0.96, "b": 1.0, "c": float("nan")}, "test")
    assert est["systematic"]["lo"] == 0.96 and est["systematic"]["hi"] == 1.0
    assert est["combined"]["lo"] == pytest.approx(1 - math.hypot(0.03, 0.04))
    assert est["combined"]["hi"] == pytest.approx(1.04)
    assert consistent_with(est, 0.951) and not consistent_with(est, 0.94)
    assert error_text(est, 0.951).startswith("consistent")
    assert "outside" in error_text(est, 1.2)
    assert all(math.isnan(v) for v in combined_interval(1.0, float("nan"), 1.1, 0.9, 1.1).values())
