"""Maxima of sampled curves: significant interior peaks, the parabola-refined maximum."""

import numpy as np

from phasebench.suites.estimators import peaks as sc


def test_peaks_need_separated_cis():
    v = [1.0, 2.0, 1.0]
    assert sc.find_interior_peaks(v, [0.9, 1.9, 0.9], [1.1, 2.1, 1.1]) == [1]
    assert sc.find_interior_peaks(v, [0.5, 0.8, 0.5], [1.5, 2.5, 1.5]) == []
    assert sc.find_interior_peaks([3.0, 2.0, 1.0], [2.9, 1.9, 0.9], [3.1, 2.1, 1.1]) == []
    assert sc.find_interior_peaks([1.0, np.nan, 1.0], [1, 1, 1], [1, 1, 1]) == []


def test_parabolic_max_is_exact_for_a_parabola_and_never_below_the_samples():
    x = np.log(np.logspace(-2, 0, 7))
    for centre in np.linspace(x[1], x[-2], 9):  # peaks anywhere between interior samples
        f = 0.3 - 0.05 * (x - centre) ** 2
        assert abs(sc.parabolic_max(x, f) - 0.3) < 1e-12
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 7))
    m = sc.parabolic_max(x, v)
    assert m.shape == (50,)
    assert (m >= v.max(-1)).all()
    edge = np.argmax(v, -1) % 6 == 0  # maximum at an end of the grid: the sample itself
    assert np.array_equal(m[edge], v.max(-1)[edge])
    # the refinement stays within the parabola's vertex, within half a grid step of the largest sample
    assert abs(sc.parabolic_max(x, np.array([0, 1, 2, 3, 3, 2, 1.0])) - 3.125) < 1e-12
