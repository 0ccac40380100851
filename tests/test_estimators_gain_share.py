"""The share of the exact oracle's gain per ring on synthetic increments with a known share."""

import numpy as np
import pytest

from phasebench.suites.estimators import bootstrap_indices, gain_captured


def test_a_family_with_a_fixed_fraction_of_every_gain_has_that_share_with_zero_width():
    """Family increments 0.6 x the exact ones on every configuration: share 0.6 exactly, in every paired replicate."""
    rng = np.random.default_rng(0)
    exact = {"radii": [1, 2, 3], "increments": rng.exponential(size=(2, 4, 50))}
    family = {"radii": [1, 2, 3], "levels": [0.05, 0.08, 0.11, 0.14], "increments": 0.6 * exact["increments"]}
    rings = gain_captured(family, exact, bootstrap_indices(50, seed=1, n_boot=200))
    assert [g["r"] for g in rings] == [1, 2]
    for g in rings:
        for s in g["share"]:
            assert s["mean"] == pytest.approx(0.6, rel=1e-12)
            assert s["lo"] == pytest.approx(0.6, rel=1e-12) and s["hi"] == pytest.approx(0.6, rel=1e-12)


def test_rings_are_matched_by_radius_and_need_consecutive_radii():
    """The family's ring 2 -> 3 is its second increment but the exact oracle's first; a gap 3 -> 5 is no ring."""
    rng = np.random.default_rng(1)
    exact = {"radii": [2, 3, 4], "increments": rng.exponential(size=(2, 1, 40))}
    noise = 0.05 * rng.standard_normal((1, 40))
    family = {"radii": [1, 2, 3, 5], "levels": [0.1],
              "increments": np.stack([rng.exponential(size=(1, 40)), 0.3 * exact["increments"][0] + noise,
                                      rng.exponential(size=(1, 40))])}
    rings = gain_captured(family, exact, bootstrap_indices(40, seed=2, n_boot=300))
    assert [g["r"] for g in rings] == [2]
    share = rings[0]["share"][0]
    expected = family["increments"][1, 0].mean() / exact["increments"][0, 0].mean()
    assert share["mean"] == pytest.approx(expected, rel=1e-12) and share["lo"] < share["mean"] < share["hi"]
