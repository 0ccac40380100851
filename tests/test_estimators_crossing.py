"""Crossings on synthetic curves with a known answer: finite-size crossings with a general exponent and nu, their
extrapolation in L, crossings of bootstrapped curves, and the level where a curve reaches a fraction of its end."""

import numpy as np
import pytest

from phasebench.suites.estimators import BootstrapConfig
from phasebench.suites.estimators.crossing import (
    crossing_with_ci,
    finite_size_crossing,
    level_at_fraction_with_ci,
)

X = np.linspace(1.0, 1.6, 13)
XC, EXPONENT, NU = 1.3, 1.75, 0.7  # deliberately not the Ising 1/4 and 1


def scaled(x, L, nu=NU):
    """A scaling function of (x - x_c) L^(1/nu), decreasing through x_c: the curves Q L^a of all sizes cross there."""
    return 1.0 - 0.5 * (x - XC) * L ** (1 / nu)


def replicated(curve, n_boot=20):
    """Point estimates and n_boot identical replicates: (n_boot + 1, n_x)."""
    return np.tile(curve, (n_boot + 1, 1))


def test_crossing_with_a_non_ising_exponent_recovers_the_known_crossing():
    curves = {L: replicated(scaled(X, L) * L ** -EXPONENT) for L in (8, 16)}
    out = finite_size_crossing(X, curves, EXPONENT, XC, nu=NU)
    assert out["value"] == pytest.approx(XC, abs=1e-12) and out["lo"] == pytest.approx(XC, abs=1e-12)
    assert out["method"] == "crossing L=[8, 16]" and out["rel_error"] < 1e-12
    # the Ising exponent on the same curves: Q L^(1/4) = L^(-3/2) F, whose sizes do not cross near x_c
    wrong = finite_size_crossing(X, curves, 0.25, XC, nu=NU)
    assert not abs(wrong["value"] - XC) < 0.05


def test_crossing_ci_from_noisy_configurations_covers_the_crossing():
    """Per-configuration values with noise, bootstrapped per size and temperature with independent keys; the
    crossing's error is within 3 of its bootstrap standard errors (CI half-width / 1.96)."""
    rng = np.random.default_rng(5)
    boot = BootstrapConfig(seed=11, n_resamples=300)
    curves = {}
    for L in (8, 16):
        per_config = scaled(X, L)[:, None] + 0.3 * rng.standard_normal((len(X), 400))  # (n_x, n)
        curves[L] = np.stack([boot.means(per_config[k], "test", L, k) for k in range(len(X))], axis=1) * L ** -EXPONENT
    out = finite_size_crossing(X, curves, EXPONENT, XC, nu=NU)
    se = (out["hi"] - out["lo"]) / (2 * 1.96)
    assert 0 < se < 0.02 and abs(out["value"] - XC) < 3 * se
    assert out["pairs"][0]["found_fraction"] > 0.9


@pytest.mark.parametrize("shift_exponent", [2, 3])
def test_three_sizes_extrapolate_the_drifting_pair_crossings(shift_exponent):
    """Linear scaled curves built so that the pair crossings drift as x_c + b L_mean^(-shift_exponent): the
    extrapolation through them returns x_c."""
    Ls, b = (8, 12, 16), 4.0
    slope = {L: -0.5 * L ** (1 / NU) for L in Ls}
    offset = {8: 1.25}
    for L1, L2 in zip(Ls, Ls[1:]):  # pair crossing at t: s1 (t - c1) = s2 (t - c2)
        t = XC + b / (0.5 * (L1 + L2)) ** shift_exponent
        offset[L2] = t - slope[L1] * (t - offset[L1]) / slope[L2]
    curves = {L: replicated(slope[L] * (X - offset[L]) * L ** -EXPONENT) for L in Ls}
    out = finite_size_crossing(X, curves, EXPONENT, XC, nu=NU, shift_exponent=shift_exponent)
    expected = [XC + b / (0.5 * (L1 + L2)) ** shift_exponent for L1, L2 in zip(Ls, Ls[1:])]
    assert [p["value"] for p in out["pairs"]] == pytest.approx(expected, abs=1e-10)
    assert out["value"] == pytest.approx(XC, abs=1e-9)
    assert out["method"] == f"extrapolated in 1/L^{shift_exponent}"


@pytest.mark.parametrize("bad", [{"exponent": float("nan")}, {"nu": 0.0}, {"window": -1.0}, {"shift_exponent": 0}])
def test_bad_crossing_parameters_are_named(bad):
    kwargs = {"exponent": EXPONENT, "nu": NU, **bad}
    exponent = kwargs.pop("exponent")
    with pytest.raises(ValueError, match=next(iter(bad))):
        finite_size_crossing(X, {8: replicated(X), 16: replicated(X)}, exponent, XC, **kwargs)


def test_crossing_with_ci_of_two_lines():
    small, large = 1.0 - 0.5 * (X - XC), 1.0 - 2.0 * (X - XC)  # the larger size falls faster through x_c
    out = crossing_with_ci(X, replicated(small), replicated(large))
    assert out["value"] == pytest.approx(XC, abs=1e-12) and out["found_fraction"] == 1.0
    assert np.isnan(crossing_with_ci(X, replicated(large), replicated(small))["value"])  # only upward: none


def test_level_at_fraction_is_exact_for_a_log_linear_curve_and_its_paired_ci_cancels_the_scale():
    """M(lambda) = c(lambda) |m| per configuration, with c linear in log lambda from 0 to 1: M reaches half of
    <|m|> at lambda = 10^-1.5 in the point estimate and in every paired replicate (the scale |m| cancels), so
    the CI has zero width; added noise widens it around the same level."""
    levels = np.logspace(-3, 0, 7)
    c = (np.log(levels) - np.log(1e-3)) / (0.0 - np.log(1e-3))
    rng = np.random.default_rng(2)
    abs_m = rng.uniform(0.5, 1.5, size=300)
    idx = BootstrapConfig(seed=4).indices(300, "half")
    out = level_at_fraction_with_ci(levels, c[:, None] * abs_m[None], abs_m, 0.5, idx)
    for key in ("value", "lo", "hi"):
        assert out[key] == pytest.approx(10**-1.5, rel=1e-12)
    noisy = level_at_fraction_with_ci(levels, c[:, None] * abs_m[None] + 0.2 * rng.standard_normal((7, 300)), abs_m, 0.5, idx)
    se_log = np.log(noisy["hi"] / noisy["lo"]) / (2 * 1.96)  # the CI's standard error in log lambda
    assert 0 < se_log < 0.1 and abs(np.log(noisy["value"] / 10**-1.5)) < 3 * se_log


def test_line_roots_are_the_weighted_polyfit_roots():
    from phasebench.suites.estimators.crossing import line_roots

    rng = np.random.default_rng(8)
    x = np.linspace(2.2, 2.34, 6)
    rows = 0.4 - 3.0 * (x - 2.27) + 0.05 * rng.standard_normal((50, 6))
    w = rng.uniform(0.5, 2.0, 6)
    expected = []
    for row in rows:
        slope, icpt = np.polyfit(x, row, 1, w=w)
        expected.append(-icpt / slope if slope < 0 and x[0] <= -icpt / slope <= x[-1] else np.nan)
    np.testing.assert_allclose(line_roots(x, rows, w), expected, rtol=0, atol=1e-12)
    wide = line_roots(x, rows + 0.3, w, (2.0, 2.7))  # lines shifted up: roots beyond x, inside the bounds
    assert np.isfinite(wide).all() and (wide > x[-1]).all()
    assert np.isnan(line_roots(x, -rows, w)).all()  # rising lines: no downward crossing


def _drifting_curves(Ls, shift_exponent, b=4.0):
    """Noise-free scaled curves whose pair crossings are x_c + b L_mean^(-shift_exponent) (as above)."""
    slope = {L: -0.5 * L ** (1 / NU) for L in Ls}
    offset = {Ls[0]: 1.25}
    for L1, L2 in zip(Ls, Ls[1:]):
        t = XC + b / (0.5 * (L1 + L2)) ** shift_exponent
        offset[L2] = t - slope[L1] * (t - offset[L1]) / slope[L2]
    return {L: replicated(slope[L] * (X - offset[L]) * L ** -EXPONENT) for L in Ls}


def test_systematic_interval_covers_a_shift_the_nominal_model_misses():
    """Crossings drifting as 1/L^3: the nominal 1/L^2 extrapolation misses x_c (its statistical interval has zero
    width on noise-free curves), the 1/L^3 variant recovers it, so the systematic and combined intervals contain it."""
    out = finite_size_crossing(X, _drifting_curves((8, 12, 16), 3), EXPONENT, XC, nu=NU)
    assert out["method"] == "extrapolated in 1/L^2" and not out["lo"] <= XC <= out["hi"]
    assert out["systematic"]["variants"]["shift 1/L^3"] == pytest.approx(XC, abs=1e-9)
    tol = 1e-9  # the 1/L^3 variant is the envelope's edge, equal to x_c up to rounding
    assert out["systematic"]["lo"] - tol <= XC <= out["systematic"]["hi"] + tol
    assert out["combined"]["lo"] - tol <= XC <= out["combined"]["hi"] + tol
    assert "smallest pair dropped" not in out["systematic"]["variants"]  # three pairs: no two-point variant
    four = finite_size_crossing(X, _drifting_curves((8, 12, 16, 20, 24), 2), EXPONENT, XC, nu=NU)  # four pairs
    assert four["systematic"]["variants"]["smallest pair dropped"] == pytest.approx(XC, abs=1e-9)


def test_extrapolated_interval_is_the_intercepts_not_the_pairs():
    """Replicate b shifts the curve of the middle size only: both pairs that share it move, in opposite directions.
    The intercept's replicates combine them with the extrapolation's coefficients, so the CI differs from any
    rule built from the pairs' own half-widths; it must equal the percentile interval of the replicates'
    intercepts, computed here by hand."""
    from phasebench.suites.estimators import replicate_interval
    from phasebench.suites.estimators.crossing import extrapolate

    Ls = (8, 12, 16)
    curves = _drifting_curves(Ls, 2)
    rng = np.random.default_rng(3)
    curves[12] = curves[12] + 0.02 * rng.standard_normal((len(curves[12]), 1)) * 12 ** -EXPONENT
    curves[12][0] = _drifting_curves(Ls, 2)[12][0]
    out = finite_size_crossing(X, curves, EXPONENT, XC, nu=NU, systematic=False)
    by_replicate = []
    for b in range(1, len(curves[8])):
        one = {L: np.vstack([curves[L][b], curves[L][b], curves[L][b]]) for L in Ls}
        pairs = finite_size_crossing(X, one, EXPONENT, XC, nu=NU, systematic=False)["pairs"]
        by_replicate.append([p["value"] for p in pairs])
    by_replicate = np.array(by_replicate)
    assert np.corrcoef(by_replicate.T)[0, 1] < -0.9  # the shared curve anticorrelates the pairs
    weights = np.array(out["weights"])
    lo, hi = replicate_interval(extrapolate(np.array([10.0, 14.0]), by_replicate, weights, 2))
    assert (out["lo"], out["hi"]) == pytest.approx((lo, hi), abs=1e-9)
    assert "systematic" not in out
