"""Coverage of the placement score over training seeds (:mod:`..estimators.training_seeds`): the mean of the
seeds' estimates and the RMSE of one run, on synthetic per-seed estimates with a known answer.

Each seed s of n reports ``v_s = g + b + sigma_c eta + tau eps_s`` (``eta`` shared: the seeds are scored on one
test set), with the statistical interval ``v_s +- 1.96 sigma_c (1 + 0.05 u_s)``: the Monte Carlo noise of a
percentile interval from 1000 resamples, over 500 test configurations; ``g = 0``, ``sigma_c = 1``.  The mean's
interval is checked against ``g + b``, the RMSE's against ``sqrt(b^2 + sigma_c^2 + tau^2)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..estimators.training_seeds import placement_over_seeds
from . import CoverageCase, register

N_CONFIGS = 500


def _simulate(n: int, b: float, tau: float):
    def simulate(rng):
        v = b + rng.standard_normal() + tau * rng.standard_normal(n)
        half = 1.96 * (1 + 0.05 * rng.standard_normal(n))
        return [{"value": x, "lo": x - h, "hi": x + h} for x, h in zip(v, half)]
    return simulate


def _interval(part: str):
    def interval(estimates, seed):
        r = placement_over_seeds(estimates, 0.0, seeded=True, n_configs=N_CONFIGS)[part]
        return r["lo"], r["hi"]
    return interval


#: (seeds, bias / sigma_c, tau / sigma_c, fast)
GRID = [(3, 0.0, 0.0, True), (3, 0.0, 1.0, True), (3, 1.0, 0.5, True), (3, 1.0, 3.0, False), (3, 3.0, 1.0, False),
        (5, 0.0, 0.0, False), (5, 1.0, 1.0, False), (5, 3.0, 3.0, False)]

for n, b, tau, fast in GRID:
    tag = f"seeds{n}-b{b:g}-tau{tau:g}"
    register(CoverageCase(
        name=f"placement-mean-{tag}", estimator="placement_over_seeds (mean)", grid=f"{n} seeds", truth=b,
        simulate=_simulate(n, b, tau), interval=_interval("mean"), fast=fast,
        notes="t interval with Welch-Satterthwaite degrees of freedom"))
    register(CoverageCase(
        name=f"placement-rmse-{tag}", estimator="placement_over_seeds (RMSE)", grid=f"{n} seeds",
        truth=math.sqrt(b * b + 1.0 + tau * tau), simulate=_simulate(n, b, tau), interval=_interval("rmse"), fast=fast,
        notes="simultaneous (Bonferroni) over the bias and the seed variance: conservative by construction"))
