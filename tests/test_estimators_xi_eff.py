"""xi_eff on synthetic data: the decay-length fits over radii, and the transition estimator of the toric tasks
(peak of xi_eff along the level, extrapolated in r) on synthetic increments."""

import numpy as np
import pytest

from phasebench.suites.estimators import decay_length as dl
from phasebench.suites.estimators import xi_eff as sc
from phasebench.suites.estimators.bootstrap import bootstrap_indices
from phasebench.suites.estimators.xi_eff import (
    RHO_OFFSET,
    extrapolate,
    local_rates,
    peak_location,
    peak_window,
    interior_or_nan,
    threshold_from_increments,
)

def test_fit_recovers_exact_exponential():
    r = np.arange(5)
    assert abs(dl.fit_decay_length(r, 3.0 * np.exp(-r / 0.7)) - 0.7) < 1e-12
    assert np.isnan(dl.fit_decay_length(r, np.exp(r / 2.0)))  # growing: no decay length
    assert np.isnan(dl.fit_decay_length([0], [1.0]))


def test_decay_length_with_ci_uses_only_resolved_radii():
    rng = np.random.default_rng(1)
    n = 400
    true = 0.02 * np.exp(-np.arange(6) / 0.5)
    noise = 2e-4
    per_config = true[:, None] + noise * rng.standard_normal((6, n))
    out = dl.decay_length_with_ci(list(range(6)), per_config, bootstrap_indices(n, seed=0, n_boot=300))
    # standard error 1e-5: r = 0..3 (excess >= 5e-5) are resolved, r = 5 (9e-7) is not
    assert out["radii_used"][:4] == [0, 1, 2, 3] and 5 not in out["radii_used"]
    assert out["lo"] <= 0.5 <= out["hi"]
    assert abs(out["xi"] - 0.5) < 0.02


def test_vectorised_fit_and_replicate_means_match_their_definitions():
    rng = np.random.default_rng(2)
    r = np.arange(5)
    deltas = np.exp(-r[:, None] / 0.6) * rng.uniform(0.8, 1.2, (5, 40))
    deltas[3, 0] = -1.0  # not decaying through a non-positive excess: NaN
    sig = rng.uniform(0.01, 0.1, 5)
    for j in range(40):
        w = deltas[:, j] / sig
        A = np.stack([np.ones(5), r], axis=1) * w[:, None]
        if j == 0:
            assert np.isnan(dl.fit_decay_lengths(r, deltas, sig)[0])
            continue
        slope = np.linalg.lstsq(A, np.log(deltas[:, j]) * w, rcond=None)[0][1]
        assert dl.fit_decay_lengths(r, deltas, sig)[j] == pytest.approx(-1 / slope, rel=1e-12)
    values = rng.gamma(2.0, 1.0, (3, 30))
    idx = bootstrap_indices(30, seed=4, n_boot=50)
    means, reps, se = dl.replicate_means(values, idx)
    assert np.allclose(reps, values[:, idx].mean(axis=2), rtol=1e-13)
    assert np.allclose(se, values.std(axis=1, ddof=1) / np.sqrt(30)) and np.allclose(means, values.mean(axis=1))


def test_paired_ratio_cancels_the_fit_bias_and_the_shared_noise():
    """Excesses that are not a pure exponential (a power-law prefactor: the fit is biased against the asymptotic
    length), a family with 1.5 times the oracle's excess on the same configurations: the oracle's ratio is 1 in
    every replicate, the family's interval covers 1 and is narrower than its own xi_eff interval (relative)."""
    rng = np.random.default_rng(5)
    n, r = 800, np.arange(5)
    expected = np.exp(-r / 0.5) / (1 + r) ** 1.5
    oracle = expected[:, None] * rng.gamma(4.0, 0.25, (5, n))  # skewed per-configuration excesses
    family = 1.5 * oracle + 0.1 * expected[:, None] * rng.standard_normal((5, n))  # plus noise of its own
    idx = bootstrap_indices(n, seed=0, n_boot=400)
    own = dl.paired_decay_length_ratio(r, oracle, oracle, idx, expected)
    assert own["ratio"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
    assert own["xi_expected"] < 0.5 * 0.97  # the fit's own bias against the asymptotic length, 0.5
    out = dl.paired_decay_length_ratio(r, family, oracle, idx)
    assert out["radii_used"] == [0, 1, 2, 3, 4]
    assert out["ratio"]["lo"] <= 1.0 <= out["ratio"]["hi"]
    plain = dl.decay_length_with_ci(r, family, idx)
    assert (out["ratio"]["hi"] - out["ratio"]["lo"]) < 0.5 * (plain["hi"] - plain["lo"]) / plain["xi"]


def test_analytic_decay_length_skips_roundoff():
    r = list(range(8))
    d = [np.exp(-x / 0.3) for x in r]
    d[6], d[7] = 1e-18, -1e-18
    out = dl.analytic_decay_length(r, d, rel_floor=1e-10)
    assert out["radii_used"] == [0, 1, 2, 3, 4, 5]
    assert abs(out["xi"] - 0.3) < 1e-9


LEVELS = np.array([0.02, 0.04, 0.06, 0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.115, 0.12, 0.13, 0.14, 0.16, 0.2])
NU_NISHIMORI = 1 / 0.655  # the correlation-length exponent along the Nishimori line (the toric tasks' nu)
RADII_INC = [1, 2, 3, 4, 5]  # increments D_r = MSE(r) - MSE(r+1) for r = 1..5 (radii 1..6)


def synthetic_increments(peak_of_rho, kappa0=0.3, curvature=60.0, even_odd=0.0):
    """D_r(p) whose two-step local rate (1/2) ln(D_r / D_{r+2}) is kappa0 + curvature (p - peak(r + 1.5))^2,
    with an optional even/odd factor (cancelled by the two-step ratio)."""
    logd = {1: np.zeros(len(LEVELS)), 2: np.full(len(LEVELS), -0.5)}
    for r in (1, 2, 3):
        rate = kappa0 + curvature * (LEVELS - peak_of_rho(r + RHO_OFFSET)) ** 2
        logd[r + 2] = logd[r] - 2 * rate
    return np.array([np.exp(logd[r]) * (1 + even_odd * (-1) ** r) for r in RADII_INC])  # (n_inc, n_levels)


def test_two_step_rate_cancels_parity_and_recovers_a_fixed_peak():
    d = synthetic_increments(lambda rho: 0.105, even_odd=0.3)
    kappa = local_rates(d[0], d[2])
    assert np.allclose(kappa, 0.3 + 60.0 * (LEVELS - 0.105) ** 2)
    sel = peak_window(kappa)
    assert sel[0] < np.argmin(kappa) < sel[-1]
    assert peak_location(LEVELS, kappa, np.ones_like(LEVELS)) == pytest.approx(0.105, abs=1e-12)


def test_extrapolation_recovers_the_transition_from_drifting_peaks():
    pc, b = 0.10922, -0.06
    drift = lambda rho: pc + b * rho ** (-1 / NU_NISHIMORI)  # noqa: E731
    d = synthetic_increments(drift)
    inc = np.repeat(d[:, :, None], 20, axis=2)  # identical configurations: no noise
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    peaks = [e["value"] for e in out["by_rmax"]]
    assert [e["r_max"] for e in out["by_rmax"]] == [4, 5, 6]
    assert np.allclose(peaks, [drift(r + RHO_OFFSET) for r in (1, 2, 3)], atol=1e-10)
    assert peaks[0] < peaks[1] < peaks[2] < pc  # finite-r peaks are shifted; the extrapolation is not
    assert out["estimate"]["value"] == pytest.approx(pc, abs=1e-10)
    assert "extrapolated" in out["estimate"]["method"]


def test_ci_covers_the_truth_and_narrows_with_more_configurations():
    pc = 0.10922
    d = synthetic_increments(lambda rho: pc - 0.04 * rho ** (-1 / NU_NISHIMORI))
    widths = []
    for n in (200, 3200):
        rng = np.random.default_rng(n)
        inc = d[:, :, None] * rng.exponential(1.0, size=(1, 1, n))  # positive, heavy-ish noise per configuration
        inc = inc * rng.exponential(1.0, size=inc.shape) ** 0.2  # plus independent jitter per cell
        inc = inc / inc.mean(axis=-1, keepdims=True) * d[:, :, None]  # unbiased means (a fixed rescaling)
        out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(n, 1, 200), nu=NU_NISHIMORI)
        e = out["estimate"]
        assert e["lo"] <= pc <= e["hi"]
        widths.append(e["hi"] - e["lo"])
    assert widths[1] < widths[0]


def test_unresolved_increments_give_nan_not_an_error():
    inc = -np.ones((5, len(LEVELS), 30))  # e.g. a learned family whose error does not decrease with r
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(30, 0, 20), nu=NU_NISHIMORI)
    assert np.isnan(out["estimate"]["value"]) and all(np.isnan(e["value"]) for e in out["by_rmax"])
    assert np.isnan(extrapolate(np.array([2.5, 3.5]), np.array([np.nan, 0.1]), np.ones(2), 1.5))


def test_a_maximum_at_the_grid_edge_is_no_peak_and_is_not_extrapolated():
    """xi_eff growing to the last level (e.g. a learned family whose training deficit grows with r): that scale
    has no located peak, is flagged, and the estimate comes from the scales with interior peaks."""
    assert np.isnan(interior_or_nan(LEVELS, LEVELS[-1])) and np.isnan(interior_or_nan(LEVELS, LEVELS[0]))
    assert interior_or_nan(LEVELS, 0.1) == 0.1
    d = synthetic_increments(lambda rho: {2.5: 0.09, 3.5: 0.5, 4.5: 0.1}[rho])  # r_max = 5: minimum of kappa at 0.2
    inc = np.repeat(d[:, :, None], 20, axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    edge = [e["peak_at_grid_edge"] for e in out["by_rmax"]]
    assert edge == [False, True, False]
    assert np.isnan(out["by_rmax"][1]["value"]) and np.isnan(out["by_rmax"][1]["lo"])
    assert out["by_rmax"][0]["value"] == pytest.approx(0.09, abs=1e-10)
    u = np.array([2.5, 4.5]) ** (-1 / NU_NISHIMORI)  # the straight line through the two interior peaks
    expected = 0.09 - (0.1 - 0.09) / (u[1] - u[0]) * u[0]
    assert out["estimate"]["value"] == pytest.approx(expected, abs=1e-9)
    assert out["estimate"]["extrapolated"] and "from r_max in [4, 6]" in out["estimate"]["method"]


def test_an_extrapolation_outside_the_level_grid_is_no_estimate():
    d = synthetic_increments(lambda rho: {2.5: 0.03, 3.5: 0.07, 4.5: 0.1}[rho])  # peaks drifting up steeply
    inc = np.repeat(d[:, :, None], 20, axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    assert all(e["resolved"] for e in out["by_rmax"])
    assert out["extrapolated"]["value"] > LEVELS[-1]
    assert np.isnan(out["estimate"]["value"]) and "outside the level grid" in out["estimate"]["method"]
    assert not out["estimate"]["extrapolated"]


def test_one_resolved_scale_gives_its_peak_not_extrapolated():
    d = synthetic_increments(lambda rho: {2.5: 0.09, 3.5: 0.5, 4.5: 0.5}[rho])  # r_max = 5, 6: maxima at the edge
    inc = np.repeat(d[:, :, None], 20, axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    assert [e["resolved"] for e in out["by_rmax"]] == [True, False, False]
    assert out["estimate"]["value"] == pytest.approx(0.09, abs=1e-10)
    assert "r_max = 4" in out["estimate"]["method"] and not out["estimate"]["extrapolated"]


def test_each_replicate_chooses_its_own_window():
    """The window is re-chosen per curve by the fixed rule: a replicate whose minimum moved far from the point
    estimate's window is located there, not clipped to the point estimate's window."""
    kappa = np.vstack([0.3 + 200.0 * (LEVELS - 0.09) ** 2, 0.3 + 200.0 * (LEVELS - 0.13) ** 2])
    peaks = sc.peak_locations(LEVELS, kappa, np.ones_like(LEVELS))
    assert peaks == pytest.approx([0.09, 0.13], abs=1e-12)
    lo, hi, ok = sc.peak_windows(kappa)
    assert ok.all() and LEVELS[hi[0]] < 0.13 < LEVELS[hi[1]]


def test_a_rate_that_is_not_positive_is_unresolved():
    """kappa <= 0 (D_{r+2} >= D_r: no decay) gives no xi = 1/kappa, and a peak whose window borders such a
    level is unknown (NaN), not placed at the next-smallest rate."""
    assert np.isnan(local_rates(np.array([1.0]), np.array([1.0]))[0])
    assert np.isnan(local_rates(np.array([1.0]), np.array([2.0]))[0])
    kappa = 0.3 + 60.0 * (LEVELS - 0.105) ** 2
    kappa[7] = np.nan  # 0.105, at the minimum
    assert np.isnan(sc.peak_locations(LEVELS, kappa, np.ones_like(LEVELS))[0])
    kappa = 0.3 + 60.0 * (LEVELS - 0.105) ** 2
    kappa[0] = np.nan  # far from the minimum: irrelevant
    assert sc.peak_locations(LEVELS, kappa, np.ones_like(LEVELS))[0] == pytest.approx(0.105, abs=1e-12)
    d = synthetic_increments(lambda rho: 0.105)
    d[4, 7] = d[2, 7] * 1.1  # D_5 > D_3 at p = 0.105: kappa < 0 at the largest scale
    inc = np.repeat(d[:, :, None], 20, axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    assert np.isnan(out["xi_eff"][7]["xi"]) and np.isnan(out["by_rmax"][2]["value"])


def test_the_extrapolation_carries_a_systematic_term_over_the_model_range():
    """Peaks drifting with offset 2 and 1/nu = 0.6, fitted with the nominal 1.5 and 0.655: the systematic
    envelope (offset 1..2, 1/nu 0.55..0.70) contains the true p_c, and the combined interval is the widest."""
    pc = 0.10922
    d = synthetic_increments(lambda rho: pc - 0.04 * (rho + 0.5) ** -0.6)
    inc = np.repeat(d[:, :, None], 20, axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(20, 0, 50), nu=NU_NISHIMORI)
    e = out["estimate"]
    assert abs(e["value"] - pc) > 1e-3  # the nominal model is biased here
    assert e["systematic"]["lo"] <= pc <= e["systematic"]["hi"]
    assert e["combined"]["lo"] <= e["systematic"]["lo"] and e["combined"]["hi"] >= e["systematic"]["hi"]
    assert set(e["systematic"]["variants"]) == {"offset 1, 1/nu 0.55", "offset 1, 1/nu 0.7", "offset 2, 1/nu 0.55",
                                                "offset 2, 1/nu 0.7", "without the smallest scale",
                                                "peak window fraction 0.2", "peak window fraction 0.6"}


def test_bootstrap_level_means_match_fancy_indexing():
    rng = np.random.default_rng(0)
    inc = rng.random((3, 4, 25))
    idx = bootstrap_indices(25, 1, 30)
    assert np.allclose(sc.bootstrap_level_means(inc, idx), np.stack([inc[:, :, b].mean(axis=-1) for b in idx]))


def test_a_replicate_with_its_maximum_at_the_grid_edge_is_censored_there():
    """14 of 40 configurations barely decay at the first level (at the largest scale): the mean curve keeps its
    interior minimum, but the replicates that draw many of them have theirs at the first level; they are counted
    at that level (their side is known), so the interval reaches down to it instead of failing."""
    d_in, d_edge = synthetic_increments(lambda rho: 0.105), synthetic_increments(lambda rho: 0.105)
    d_edge[4, 0] = d_edge[2, 0] * np.exp(-0.05)  # kappa(p = 0.02) = 0.025 for these, against 0.73
    inc = np.concatenate([np.repeat(d_in[:, :, None], 26, axis=2), np.repeat(d_edge[:, :, None], 14, axis=2)], axis=2)
    out = threshold_from_increments(LEVELS, RADII_INC, inc, bootstrap_indices(40, 0, 400), nu=NU_NISHIMORI)
    last = out["by_rmax"][2]
    assert last["value"] == pytest.approx(0.105, abs=1e-3)  # the mean curve keeps its interior minimum
    assert last["lo"] == LEVELS[0] and last["hi"] == pytest.approx(0.105, abs=1e-3)


def test_replicates_equal_up_to_rounding_do_not_dominate_the_weights():
    """A column whose replicates differ only in the last bits has no variance: it gets the floor (the smallest
    real variance), not a weight 1e30 times the others' (which made the extrapolation's fit singular)."""
    from phasebench.suites.estimators.xi_eff import inverse_variance_weights

    rng = np.random.default_rng(0)
    rounded = 0.105 + np.spacing(0.105) * rng.integers(-2, 3, 400)
    real = 0.1 + 0.01 * rng.standard_normal(400)
    w = inverse_variance_weights(np.stack([rounded, real], axis=1))
    assert w[0] == pytest.approx(w[1]) and w[1] == pytest.approx(1 / real.var(ddof=1))
