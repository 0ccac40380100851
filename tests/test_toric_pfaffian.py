"""The Pfaffian window oracle of the loop model against the transfer matrix and brute force."""

import itertools

import numpy as np
import pytest

from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.exact import toric_bruteforce as bf
from phasebench.lattice_models.exact import toric_pfaffian as pf
from phasebench.lattice_models.exact.toric_window import (PFAFFIAN_FROM_RADIUS, edge_likelihoods,
                                                          local_posterior_marginals, window_oracle,
                                                          window_posterior)
from phasebench.lattice_models.kernels import toric_window as tm

BITFLIP = BitFlipChannel()
GAUSS = GaussianChannel(encode_binary_as_spin=True)
TOL = 1e-10  # measured: worst |Pfaffian - transfer matrix| over these windows is 1.1e-14 (5.8e-14 vs enumeration)


def noisy_window(r, channel, level, seed):
    """Normalised likelihoods ``(2, n, n)`` of one window of a sampled noisy loop configuration."""
    n = 2 * r + 1
    x = make_model("toric_loops").sample(1, 2 * n + 2, seed=seed)
    y = channel.corrupt(x, level, seed=seed + 1000)[0, :, :n, :n]
    return edge_likelihoods(y, channel, level)


def transfer_matrix_centre(q):
    return np.array(tm.window_centre_marginals(np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])))


def enumerate_window(r):
    """All interior-parity configurations of the radius-r window, ``(k, 2, n, n)`` uint8."""
    n = 2 * r + 1
    allowed = bf.span(bf.gf2_nullspace(bf.interior_constraints(r)))
    return allowed.reshape(-1, 2, n, n)


def log_weights(configs, q):
    return np.where(configs == 1, np.log(q), np.log1p(-q)).reshape(len(configs), -1).sum(axis=1)


# -- against the transfer matrix ------------------------------------------------------------------
@pytest.mark.parametrize("r", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("p", [0.05, 0.1, 0.15])
def test_centre_marginals_equal_the_transfer_matrix(r, p):
    for seed in range(4):
        q = noisy_window(r, BITFLIP, p, seed=100 * r + seed)
        got = np.array(pf.window_centre_marginals(q[0], q[1]))
        assert np.abs(got - transfer_matrix_centre(q)).max() < TOL


@pytest.mark.parametrize("r,level", [(3, 0.4), (5, 0.9), (6, 1.5)])
def test_centre_marginals_equal_the_transfer_matrix_gaussian(r, level):
    for seed in range(3):
        q = noisy_window(r, GAUSS, level, seed=seed)
        assert np.abs(np.array(pf.window_centre_marginals(q[0], q[1])) - transfer_matrix_centre(q)).max() < TOL


def test_centre_marginals_equal_the_transfer_matrix_at_r7():
    """Past the crossover radius, where ``method="auto"`` switches to the Pfaffian."""
    for seed in range(2):
        q = noisy_window(7, BITFLIP, 0.11, seed=seed)
        assert np.abs(np.array(pf.window_centre_marginals(q[0], q[1])) - transfer_matrix_centre(q)).max() < TOL


# -- against brute force ------------------------------------------------------------------------
@pytest.mark.parametrize("channel,level", [(BITFLIP, 0.1), (GAUSS, 0.8)])
def test_every_edge_marginal_and_log_partition_by_enumeration_r1(channel, level):
    """r = 1: the 2^14 interior-parity configurations of the window."""
    configs = enumerate_window(1)
    assert len(configs) == 2 ** 14
    for seed in range(3):
        q = noisy_window(1, channel, level, seed=seed)
        logw = log_weights(configs, q)
        w = np.exp(logw - logw.max())
        expected = (w[:, None, None, None] * configs).sum(axis=0) / w.sum()
        assert np.abs(pf.window_edge_marginals(q[0], q[1]) - expected).max() < TOL
        log_z = logw.max() + np.log(w.sum())
        assert abs(pf.window_log_partition(q[0], q[1]) - log_z) < TOL


def test_centre_marginals_and_log_partition_by_macwilliams_r2():
    """r = 2: sums over the 2^16 parity-check combinations (MacWilliams identity)."""
    r, n = 2, 5
    checks = bf.span(bf.gf2_row_basis(bf.interior_constraints(r))).astype(np.float64)  # the dual of P
    sign = 1.0 - 2.0 * checks

    def log_total(w0, w1):  # log sum_{x in P} prod_f w_f(x_f)
        terms = np.prod(w0 + sign * w1, axis=1)
        return np.log(np.sort(terms).sum()) - np.log(len(checks))

    for p, seed in itertools.product((0.05, 0.15), range(2)):
        q = noisy_window(r, BITFLIP, p, seed=seed)
        flat = q.reshape(-1)
        log_z = log_total(1.0 - flat, flat)
        assert abs(pf.window_log_partition(q[0], q[1]) - log_z) < TOL
        centre = [r * n + r, n * n + r * n + r]
        expected = []
        for pos in centre:
            w0 = 1.0 - flat
            w0[pos] = 0.0
            expected.append(np.exp(log_total(w0, flat) - log_z))
        assert np.abs(np.array(pf.window_centre_marginals(q[0], q[1])) - expected).max() < TOL


@pytest.mark.parametrize("r", [1, 4, 8, 10])
def test_uninformative_window_counts_the_configurations(r):
    """At q = 1/2 every configuration weighs 2^-(2 n^2) and |P| = 2^(2 n^2 - (n-1)^2): a check of the
    Kasteleyn orientation at radii the transfer matrix cannot afford."""
    n = 2 * r + 1
    half = np.full((n, n), 0.5)
    assert abs(pf.window_log_partition(half, half) + (n - 1) ** 2 * np.log(2.0)) < 1e-9
    assert np.abs(pf.window_edge_marginals(half, half) - 0.5).max() < 1e-12


# -- limits and the wiring ----------------------------------------------------------------------
def test_noiseless_impossible_and_uninformative_windows():
    r, n = 3, 7
    x = make_model("toric_loops").sample(1, 2 * n + 2, seed=5)[0, :, :n, :n]
    q = edge_likelihoods(x, BITFLIP, 0.0)
    assert np.array_equal(pf.window_edge_marginals(q[0], q[1]), x.astype(float))
    y = x.copy()
    y[0, r, r] ^= 1  # an odd interior vertex at p = 0
    q = edge_likelihoods(y, BITFLIP, 0.0)
    assert np.isnan(pf.window_centre_marginals(q[0], q[1])).all()
    assert pf.window_log_partition(q[0], q[1]) == -np.inf
    q = edge_likelihoods(y, BITFLIP, 0.5)
    assert np.allclose(pf.window_centre_marginals(q[0], q[1]), 0.5, atol=1e-14, rtol=0)


def test_extreme_likelihoods_stay_probabilities():
    q = noisy_window(5, BITFLIP, 0.05, seed=3)
    q = np.where(q > 0.5, 1.0 - 1e-12, 1e-12)
    got = np.array(pf.window_centre_marginals(q[0], q[1]))
    assert np.isfinite(got).all() and ((got >= 0) & (got <= 1)).all()
    assert np.abs(got - transfer_matrix_centre(q)).max() < 1e-6  # measured 1.9e-9 (condition ~1e17)


def test_field_methods_agree_and_auto_keeps_the_transfer_matrix_below_the_crossover():
    y = BITFLIP.corrupt(make_model("toric_loops").sample(2, 8, seed=1), 0.1, seed=2)
    auto = local_posterior_marginals(y, BITFLIP, 0.1, 3)
    assert np.array_equal(auto, local_posterior_marginals(y, BITFLIP, 0.1, 3, method="transfer_matrix"))
    pfaffian, mask = local_posterior_marginals(y, BITFLIP, 0.1, 3, edges=5, seed=0, method="pfaffian")
    assert np.abs(pfaffian[mask] - auto[mask]).max() < TOL and np.isnan(pfaffian[~mask]).all()
    assert window_oracle(PFAFFIAN_FROM_RADIUS - 1) is tm and window_oracle(PFAFFIAN_FROM_RADIUS) is pf
    y_window = y[0, :, :7, :7]
    assert np.abs(np.subtract(window_posterior(y_window, BITFLIP, 0.1, method="pfaffian"),
                              window_posterior(y_window, BITFLIP, 0.1))).max() < TOL


def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        window_oracle(3, "lu")
    with pytest.raises(ValueError, match="shape"):
        pf.window_centre_marginals(np.full((4, 4), 0.5), np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="shape"):
        pf.window_edge_marginals(np.full((3, 3), 0.5), np.full((5, 5), 0.5))
