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
