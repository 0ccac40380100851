"""Budgets in reference seconds (denoisers.harness.budget): a budget fixes the work, not the time."""

import time

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.denoisers.harness.budget import adam_steps, refit_configs, refit_seconds, step_seconds
from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel


def test_cost_models_are_positive_monotone_and_invert():
    base = dict(calls=1, groups=11, sites=11 * 2 * 256, madds_per_site=2e4)
    t = step_seconds(**base)
    assert t > 0
    assert step_seconds(**{**base, "madds_per_site": 4e4}) > t
    assert step_seconds(**{**base, "sites": 2 * base["sites"]}) > t
    steps = adam_steps(100.0, t)
    assert steps * t <= 100.0 < (steps + 1) * t  # the most whole steps that fit
    assert adam_steps(1e-9, t) == 1
    shape = dict(groups=11, chunk=16, sites=256, madds_per_site=2e4, n_z=131, n_unknowns=11 * 98 + 33, channels=2)
    n = refit_configs(10.0, **shape)
    assert n % 16 == 0 and n >= 16
    assert refit_seconds(n, **shape) <= 10.0 < refit_seconds(n + 16, **shape)
    assert refit_configs(1e-9, **shape) == 16  # at least one round


@pytest.mark.parametrize("channel,kind", [(GaussianChannel(), "real"), (BitFlipChannel(), "binary")])
def test_budgeted_fit_ignores_the_clock(monkeypatch, channel, kind):
    """The same budget gives the same network when the clock runs 50x faster (a loaded machine):
    the step count comes from the cost model, and the fit is bitwise reproducible."""
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((16, 2, 8, 8)) if kind == "real" else rng.integers(0, 2, (16, 2, 8, 8)).astype(np.int8)
    opts = dict(width=8, depth=1, embed_dim=8)
    y = channel.corrupt(clean[:2], 0.1 if kind == "binary" else 1.0, seed=1)
    level = 0.1 if kind == "binary" else 1.0

    def fit():
        fam = make_family("cnn", 1, **opts).fit(clean, channel, [level, 2 * level], seed=3, budget=1.0)
        return fam, fam.denoise(y, level)

    a, out_a = fit()
    real = time.perf_counter
    start = real()
    monkeypatch.setattr(time, "perf_counter", lambda: start + 50.0 * (real() - start))
    b, out_b = fit()
    assert a.fit_info_["steps"] == b.fit_info_["steps"] > 1
    assert a.fit_info_["polish_configs"] == b.fit_info_["polish_configs"]
    assert a.fit_info_["torch_threads"] == 1
    assert np.array_equal(out_a, out_b)
    # and the budget is what sets the work: the Adam share of twice the budget, int(2 x) for int(x) steps
    c = make_family("cnn", 1, **opts).fit(clean, channel, [level, 2 * level], seed=3, budget=2.0)
    assert c.fit_info_["steps"] - 2 * a.fit_info_["steps"] in (0, 1)

