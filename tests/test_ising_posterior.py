"""Exact Ising posterior oracle: brute-force agreement, channel limits, input checks."""

import numpy as np
import pytest

from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.exact.ising_posterior import (
    ising_posterior_field,
    ising_posterior_mean,
    ising_posterior_mean_brute_force,
)


def _spins(n, L, seed):
    return np.random.default_rng(seed).choice([-1, 1], size=(n, 1, L, L)).astype(np.int8)


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("K", [0.2, 0.4406868, 1.0])
@pytest.mark.parametrize("lam", [0.05, 1.0, 20.0])
def test_gaussian_matches_brute_force(L, K, lam):
    channel = GaussianChannel(a=0.7)
    y = channel.corrupt(_spins(2, L, seed=L), lam, seed=11)
    exact = ising_posterior_mean(y, K, channel, lam)
    brute = ising_posterior_mean_brute_force(y, K, channel, lam)
    np.testing.assert_allclose(exact, brute, rtol=0, atol=1e-10)


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("K", [0.2, 0.4406868, 1.0])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.3, 0.49])
def test_bitflip_matches_brute_force(L, K, p):
    y = BitFlipChannel().corrupt(_spins(2, L, seed=L + 1), p, seed=12)
    exact = ising_posterior_mean(y, K, "bitflip", p)
    brute = ising_posterior_mean_brute_force(y, K, "bitflip", p)
    np.testing.assert_allclose(exact, brute, rtol=0, atol=1e-10)


def test_bitflip_limits():
    y = BitFlipChannel().corrupt(_spins(2, 4, seed=0), 0.2, seed=1)
    np.testing.assert_array_equal(ising_posterior_mean(y, 0.5, "bitflip", 0.0), y)
    np.testing.assert_array_equal(ising_posterior_mean_brute_force(y, 0.5, "bitflip", 0.0), y)
    np.testing.assert_array_equal(ising_posterior_mean(y, 0.5, "bitflip", 0.5), 0.0)
    np.testing.assert_allclose(ising_posterior_mean_brute_force(y, 0.5, "bitflip", 0.5), 0.0, atol=1e-15)


def test_fields():
    y = np.array([1.0, -2.0]).reshape(1, 1, 1, 2)
    a, s = GaussianChannel(a=2.0).amplitudes(3.0)
    np.testing.assert_allclose(ising_posterior_field(y, GaussianChannel(a=2.0), 3.0), a * y / s**2)
    yb = np.array([1, -1]).reshape(1, 1, 1, 2)
    np.testing.assert_allclose(ising_posterior_field(yb, "bitflip", 0.1), yb * np.arctanh(0.8))


def test_strong_data_at_large_lambda_and_low_temperature():
    # lambda = 400 and K = 2 on L = 6: finite, in [-1, 1], and equal to the clean spins
    # to within exp(-O(lambda)) wherever the data are unambiguous.
    s = _spins(1, 6, seed=5)
    y = GaussianChannel().corrupt(s, 400.0, seed=6)
    m = ising_posterior_mean(y, 2.0, "gaussian", 400.0)
    assert np.isfinite(m).all() and np.abs(m).max() <= 1.0
    np.testing.assert_allclose(m, s, atol=1e-12)


def test_odd_and_even_sizes_agree_with_symmetry():
    # global flip y -> -y maps E[s|y] to -E[s|y]; translations commute with the oracle
    y = GaussianChannel().corrupt(_spins(1, 5, seed=7), 0.5, seed=8)
    m = ising_posterior_mean(y, 0.44, "gaussian", 0.5)
    np.testing.assert_allclose(ising_posterior_mean(-y, 0.44, "gaussian", 0.5), -m, atol=1e-13)
    moved = ising_posterior_mean(np.roll(y, (2, 1), axis=(2, 3)), 0.44, "gaussian", 0.5)
    np.testing.assert_allclose(moved, np.roll(m, (2, 1), axis=(2, 3)), atol=1e-13)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ising_posterior_mean(np.ones((1, 2, 3, 3)), 0.4, "gaussian", 1.0), r"shape \(n, 1, L, L\)"),
        (lambda: ising_posterior_mean(np.ones((1, 1, 13, 13)), 0.4, "gaussian", 1.0), r"L must be in \[2, 12\]"),
        (lambda: ising_posterior_mean(np.ones((1, 1, 3, 3)), np.nan, "gaussian", 1.0), "coupling K"),
        (lambda: ising_posterior_mean(np.ones((1, 1, 3, 3)), 0.4, "gaussian", -1.0), "lambda must be > 0"),
        (lambda: ising_posterior_mean(np.ones((1, 1, 3, 3)), 0.4, "bitflip", 0.7), r"p must be in \[0, 0.5\]"),
        (lambda: ising_posterior_mean(np.zeros((1, 1, 3, 3)), 0.4, "bitflip", 0.1), r"must be \+-1"),
        (lambda: ising_posterior_mean(np.ones((1, 1, 3, 3)), 0.4, 3, 0.1), "channel must be"),
        (
            lambda: ising_posterior_mean(np.ones((1, 1, 3, 3)), 0.4, GaussianChannel(encode_binary_as_spin=True), 1.0),
            "encode_binary_as_spin=False",
        ),
        (lambda: ising_posterior_mean_brute_force(np.ones((1, 1, 5, 5)), 0.4, "gaussian", 1.0), r"\[2, 4\]"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
