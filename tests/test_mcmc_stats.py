"""Autocorrelation estimator against the exact tau_int of an AR(1) process."""

import numpy as np
import pytest

from phasebench.lattice_models.mcmc_stats import integrated_autocorrelation_time, mean_and_error


def ar1(rho, n_chains, n_steps, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_chains, n_steps))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, n_steps):
        x[:, t] = rho * x[:, t - 1] + z[:, t]
    return x


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_tau_int_of_ar1(rho):
    # exact: tau_int = (1 + rho) / (2 (1 - rho)); the windowed estimator's relative
    # statistical error is about sqrt(2 (2W + 1) / n) (Sokal), a few percent here
    tau_exact = (1 + rho) / (2 * (1 - rho))
    tau = integrated_autocorrelation_time(ar1(rho, 8, 20000, seed=1))
    assert tau == pytest.approx(tau_exact, rel=0.05)


def test_error_bar_is_calibrated_on_ar1():
    rho = 0.8
    x = ar1(rho, 200, 10000, seed=2)  # >= 2000 tau_int per chain: small window bias
    z = np.array([mean_and_error(c)[0] / mean_and_error(c)[1] for c in x])
    assert abs(z.mean()) < 3 / np.sqrt(len(z))
    assert 0.85 < z.std() < 1.15  # the std of 200 unit normals is within 0.1 of 1 at ~3 sigma


def test_bad_series():
    with pytest.raises(ValueError, match="series"):
        integrated_autocorrelation_time(np.zeros(1))


def test_series_means_is_the_correlated_mean_and_error_per_series():
    """A positively correlated series (AR(1), rho = 0.9): the error is mean_and_error's, above sd/sqrt(n)."""
    from phasebench.lattice_models.mcmc_stats import mean_and_error, series_means

    rng = np.random.default_rng(0)
    x = np.empty(4000)
    x[0] = 0.0
    for t in range(1, len(x)):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    (mean, err), = series_means({"x": x}).values()
    assert (mean, err) == mean_and_error(x)[:2] and err > 2 * x.std(ddof=1) / np.sqrt(len(x))
    assert np.isnan(series_means({"one": np.array([2.0])})["one"][1])
