"""Coverage of the plain and paired means (:func:`.bootstrap.mean_with_ci`, :func:`.bootstrap.ratio_with_ci`):
the reference cases, with skewed per-configuration values like a squared error's."""

from __future__ import annotations

import numpy as np

from ..estimators import bootstrap_indices, mean_with_ci, ratio_with_ci
from . import CoverageCase, register

N_CONFIGS = 50  # test configurations per level in the quick division
N_BOOT = 1000


def _mean_interval(values, seed):
    e = mean_with_ci(values, bootstrap_indices(len(values), seed, N_BOOT))
    return e.lo, e.hi


register(CoverageCase(
    name="mean-gamma5", estimator="mean_with_ci", grid="quick", truth=1.0,
    simulate=lambda rng: rng.gamma(5.0, 0.2, N_CONFIGS),
    interval=_mean_interval, fast=True,
    notes="50 configurations of a Gamma(5) error of mean 1: a per-configuration MSE averages many "
          "correlated site errors, so it is far less skewed than one squared error"))

register(CoverageCase(
    name="mean-chi2-1", estimator="mean_with_ci", grid="quick", truth=1.0,
    simulate=lambda rng: rng.chisquare(1, N_CONFIGS),
    interval=_mean_interval,
    notes="stress case: 50 single squared Gaussian errors (skewness 2.8), beyond what a per-configuration "
          "MSE shows; the percentile bootstrap of a mean undercovers here"))


def _paired(rng):
    common = rng.chisquare(2, N_CONFIGS)
    return common + 0.3 * rng.chisquare(1, N_CONFIGS), common  # ratio of means 1 + 0.3 / 2


def _ratio_interval(data, seed):
    e = ratio_with_ci(data[0], data[1], bootstrap_indices(N_CONFIGS, seed, N_BOOT))
    return e.lo, e.hi


register(CoverageCase(
    name="ratio-paired", estimator="ratio_with_ci", grid="quick", truth=1.15,
    simulate=_paired, interval=_ratio_interval, fast=True,
    notes="paired ratio of means of correlated chi-squared errors on the same 50 configurations"))
