"""ising-speciation's summary: the oracle's and the members' levels are bootstrapped as a pair."""

import numpy as np
import pytest

from phasebench.suites.estimators import BootstrapConfig
from phasebench.suites.tasks.ising_speciation import IsingSpeciationTask


def _record(rng, n=200, L=6):
    levels = list(np.logspace(-3, 0, 7))
    abs_m = rng.uniform(0.7, 1.0, n)
    rise = np.linspace(0.0, 1.0, len(levels))[:, None]

    def aligned(scale):
        return np.clip(rise * scale, 0, 1) * abs_m[None] + 0.3 * rng.standard_normal((len(levels), n))

    glob = aligned(1.0)
    train = rng.choice([-1, 1], size=(50, L, L))
    return {"L": L, "levels": levels, "abs_m": abs_m, "global": {"aligned_m": glob, "mse": np.ones_like(glob)},
            "train_m": train.mean(axis=(1, 2)), "train": train,
            "families": {"same": {0: {"aligned_m": glob.copy(), "mse": np.ones_like(glob), "info": {}}},
                         "slower": {0: {"aligned_m": aligned(0.7), "mse": np.ones_like(glob), "info": {}}}}}


def test_member_identical_to_the_oracle_has_ratio_exactly_one():
    """Paired resamples: a member equal to the oracle has lambda_r / lambda_global = 1 in every replicate (with
    independent resamples the ratio's CI would have a width of the order of the levels' own CIs)."""
    task = IsingSpeciationTask()
    summary = task.summarize([_record(np.random.default_rng(1))], BootstrapConfig(seed=3, n_resamples=200))["L6"]
    same = summary["local"]["same"]["0"]
    assert same["ratio_to_global"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
    assert same["lambda_r"] == summary["lambda_global"]
    slower = summary["local"]["slower"]["0"]["ratio_to_global"]
    assert 1.0 < slower["lo"] < slower["value"] < slower["hi"]
    _, rows = task.leaderboard_rows({"L6": summary})
    assert [r[4] for r in rows if r[1] == "same"] == ["1.000 [1.000, 1.000] stat"]
