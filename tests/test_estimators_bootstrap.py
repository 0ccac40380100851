"""Bootstrap estimators: the one bootstrap configuration, CIs of means and of paired ratios."""

import numpy as np
import pytest

from phasebench.suites.estimators import bootstrap as sc


def test_bootstrap_ci_covers_the_mean_at_nominal_rate():
    rng = np.random.default_rng(0)
    hits = 0
    for trial in range(200):
        v = rng.standard_normal(100)
        e = sc.mean_with_ci(v, sc.bootstrap_indices(100, seed=trial, n_boot=400))
        hits += e.lo <= 0.0 <= e.hi
    # 95% nominal: binomial(200, 0.95) has sd 3.1; accept within 4 sd
    assert abs(hits - 190) <= 13


def test_ratio_with_ci_resamples_numerator_and_denominator_together():
    """A ratio of paired means: perfectly correlated numerator and denominator give a zero-width CI; a
    non-positive denominator gives NaN."""
    rng = np.random.default_rng(3)
    den = rng.exponential(size=200)
    boot = sc.bootstrap_indices(200, seed=1, n_boot=300)
    e = sc.ratio_with_ci(0.25 * den, den, boot)
    assert abs(e.mean - 0.25) < 1e-12 and abs(e.lo - 0.25) < 1e-12 and abs(e.hi - 0.25) < 1e-12
    num = 0.25 * den + rng.normal(scale=0.1, size=200)
    noisy = sc.ratio_with_ci(num, den, boot)
    # the delta method's 95% width for a ratio of means, 2 x 1.96 sd(num - ratio den) / (sqrt(n) mean(den)); the
    # bootstrap width over it measured 0.87..1.13 (sd 0.05) over 200 seeds, so +-0.3 is 6 sd
    width = 2 * 1.96 * np.std(num - noisy.mean * den, ddof=1) / (np.sqrt(200) * den.mean())
    assert noisy.lo < noisy.mean < noisy.hi and 0.7 * width < noisy.hi - noisy.lo < 1.3 * width
    assert np.isnan(sc.ratio_with_ci(den, -den, boot).mean)


def test_bootstrap_config_derives_one_seed_per_use_from_the_task_seed():
    """Seeds come from (task seed, key): the same pair gives the same resamples, a different task seed or any
    different key part gives others; the resample count is the package's one count."""
    b = sc.BootstrapConfig(seed=7)
    assert b.n_resamples == sc.N_RESAMPLES
    assert b.seed_for("phi", 6, 0) == sc.BootstrapConfig(seed=7).seed_for("phi", 6, 0)
    seeds = {b.seed_for("phi", 6, 0), b.seed_for("phi", 6, 1), b.seed_for("phi", 10, 0), b.seed_for("data_m2", 6, 0),
             sc.BootstrapConfig(seed=8).seed_for("phi", 6, 0)}
    assert len(seeds) == 5
    idx = b.indices(40, "phi", 6, 0)
    assert idx.shape == (sc.N_RESAMPLES, 40) and idx.min() >= 0 and idx.max() < 40
    assert np.array_equal(idx, sc.bootstrap_indices(40, b.seed_for("phi", 6, 0), sc.N_RESAMPLES))
    values = np.random.default_rng(0).normal(size=(3, 40))
    means = sc.BootstrapConfig(seed=7, n_resamples=50).means(values, "phi", 6, 0)
    assert means.shape == (51, 3) and np.array_equal(means[0], values.mean(axis=-1))
    assert b.to_dict()["n_resamples"] == sc.N_RESAMPLES and b.to_dict()["seed"] == 7


def test_bootstrap_seeds_do_not_depend_on_the_interpreter_session():
    """A string key is hashed by CRC-32, not by Python's per-process salted hash(): two interpreters with
    different hash seeds derive the same seed."""
    import os
    import subprocess
    import sys

    code = "from phasebench.suites.estimators import BootstrapConfig; print(BootstrapConfig(seed=3).seed_for('lambda_r', 8, 1))"
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": h}).stdout.strip() for h in ("1", "2")}
    assert out == {str(sc.BootstrapConfig(seed=3).seed_for("lambda_r", 8, 1))}


@pytest.mark.parametrize("kwargs, name", [({"n_resamples": 1}, "n_resamples"), ({"n_resamples": 2.5}, "n_resamples"),
                                          ({"n_resamples": True}, "n_resamples"), ({"seed": -1}, "seed"),
                                          ({"seed": 1.0}, "seed")])
def test_bootstrap_config_rejects_bad_settings_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sc.BootstrapConfig(**kwargs)


def test_bootstrap_keys_must_be_names_or_non_negative_integers():
    b = sc.BootstrapConfig()
    for bad in ((), ("phi", -1), ("phi", 0.5)):
        with pytest.raises(ValueError, match="key"):
            b.seed_for(*bad)
