"""The toric task's peak estimator on synthetic decay-length curves."""

import numpy as np

from suites.tasks.toric_bitflip import peak_location, peak_window, peak_with_ci


def test_peak_of_a_sampled_parabola_is_recovered():
    p = np.array([0.02, 0.06, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.15, 0.2])
    xi = 2.0 - 150.0 * (p - 0.105) ** 2
    sel = peak_window(xi)
    assert sel[0] < np.argmax(xi) < sel[-1]  # both flanks are in the fit
    assert abs(peak_location(p, xi, sel, np.ones_like(p)) - 0.105) < 1e-9


def test_peak_ci_comes_from_the_replicates():
    rng = np.random.default_rng(0)
    p = np.linspace(0.05, 0.17, 9)
    true = 2.0 - 100.0 * (p - 0.11) ** 2
    profiles = [{"xi": t, "lo": t - 0.05, "hi": t + 0.05, "replicates": t + 0.025 * rng.standard_normal(300)} for t in true]
    out = peak_with_ci(p, profiles)
    assert abs(out["value"] - 0.11) < 1e-9
    assert out["lo"] < 0.11 < out["hi"] and out["hi"] - out["lo"] < 0.03


def test_nan_levels_never_peak():
    p = np.array([0.1, 0.2, 0.3])
    xi = np.array([np.nan, 1.0, np.nan])
    assert peak_location(p, xi, peak_window(xi), np.ones(3)) == 0.2
    assert np.isnan(peak_location(p, np.full(3, np.nan), peak_window(np.full(3, np.nan)), np.ones(3)))
