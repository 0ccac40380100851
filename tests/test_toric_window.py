"""Exact r-local oracle of the loop model: the window theorem and the transfer matrix vs brute force."""

import itertools

import numba
import numpy as np
import pytest

from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.exact import toric_bruteforce as bf
from phasebench.lattice_models.exact.toric_window import edge_likelihoods, local_posterior_marginals, window_posterior

BITFLIP = BitFlipChannel()
GAUSS = GaussianChannel(encode_binary_as_spin=True)
TOL = 1e-10


def noisy(L, channel, level, n=1, seed=0):
    x = make_model("toric_loops").sample(n, L, seed=seed)
    return channel.corrupt(x, level, seed=seed + 100)


# -- the theorem -----------------------------------------------------------------------------
@pytest.mark.parametrize("L,r", [(4, 1), (5, 1), (6, 1), (6, 2), (7, 2), (8, 3)])
def test_window_image_is_the_interior_parity_set(L, r):
    """rank of the restricted cycle space == |W| - rank(interior checks), and image ⊆ P."""
    n = 2 * r + 1
    C = bf.interior_constraints(r)
    assert len(C) == (n - 1) ** 2 and bf.gf2_rank(C) == (n - 1) ** 2
    for i, j in [(0, 0), (L - 1, 2)]:
        image = bf.cycle_space_generators(L)[:, bf.window_edges(L, r, i, j)]
        assert not (C.astype(int) @ image.T.astype(int) % 2).any()
        assert bf.gf2_rank(image) == 2 * n * n - bf.gf2_rank(C)


def test_theorem_fails_when_the_window_wraps():
    L, r = 3, 1  # 2r + 1 == L: the window is every edge, the image is the cycle space itself
    image = bf.cycle_space_generators(L)[:, bf.window_edges(L, r, 0, 0)]
    assert bf.gf2_rank(image) == L * L + 1 < 2 * 9 - bf.gf2_rank(bf.interior_constraints(r))


def test_restriction_is_uniform_on_the_interior_parity_set_by_enumeration():
    L, r = 4, 1
    cycles = bf.span(bf.gf2_row_basis(bf.cycle_space_generators(L)))
    assert len(cycles) == 2 ** (L * L + 1)
    C = bf.interior_constraints(r).astype(np.int64)
    all_patterns = np.array(list(itertools.product((0, 1), repeat=18)), dtype=np.int64)
    allowed = all_patterns[~(all_patterns @ C.T % 2).any(axis=1)]
    weights = 1 << np.arange(18, dtype=np.int64)
    for i, j in [(0, 0), (1, 3)]:
        restricted = cycles[:, bf.window_edges(L, r, i, j)].astype(np.int64)
        keys, counts = np.unique(restricted @ weights, return_counts=True)
        assert np.array_equal(keys, np.sort(allowed @ weights))
        assert (counts == counts[0]).all() and counts[0] * len(keys) == len(cycles)


# -- the oracle vs brute force ------------------------------------------------------------------
@pytest.mark.parametrize("channel,level", [(BITFLIP, 0.08), (BITFLIP, 0.3), (GAUSS, 0.7), (GAUSS, 3.0)])
def test_oracle_matches_full_enumeration_L4(channel, level):
    L = 4
    y = noisy(L, channel, level, seed=7)
    q = edge_likelihoods(y, channel, level)[0]
    cycles = bf.span(bf.gf2_row_basis(bf.cycle_space_generators(L)))
    for r in (0, 1):
        got = local_posterior_marginals(y, channel, level, r)[0]
        for i in range(L):
            for j in range(L):
                idx = bf.window_edges(L, r, i, j)
                ph, pv = bf.posterior_from_configs(cycles[:, idx], q.reshape(-1)[idx], r)
                assert abs(got[0, i, j] - ph) < TOL and abs(got[1, i, j] - pv) < TOL


def test_oracle_and_theorem_by_full_enumeration_L5():
    """All 2^26 cycles of the 5 x 5 torus, counted by window pattern."""
    L, r = 5, 1
    C = bf.interior_constraints(r).astype(np.int64)
    for (i, j), (channel, level) in zip([(0, 0), (3, 2)], [(BITFLIP, 0.1), (GAUSS, 0.8)]):
        patterns, counts = bf.window_pattern_counts(L, r, i, j)
        assert counts.sum() == 2 ** (L * L + 1)
        assert len(patterns) == 2 ** (18 - 4) and (counts == counts[0]).all()
        assert not (patterns.astype(np.int64) @ C.T % 2).any()
        y = noisy(L, channel, level, seed=21 + i)
        q = edge_likelihoods(y, channel, level)[0].reshape(-1)[bf.window_edges(L, r, i, j)]
        ph, pv = bf.posterior_from_configs(patterns, q, r, counts=counts)
        got = local_posterior_marginals(y, channel, level, r)[0]
        assert abs(got[0, i, j] - ph) < TOL and abs(got[1, i, j] - pv) < TOL


@pytest.mark.parametrize("L", [5, 6])
@pytest.mark.parametrize("channel,level", [(BITFLIP, 0.12), (GAUSS, 1.0)])
def test_oracle_matches_projected_enumeration_r1(L, channel, level):
    y = noisy(L, channel, level, seed=L)
    q = edge_likelihoods(y, channel, level)[0]
    got = local_posterior_marginals(y, channel, level, 1)[0]
    for i in range(L):
        for j in range(L):
            ph, pv = bf.posterior_projected_span(L, 1, i, j, q)
            assert abs(got[0, i, j] - ph) < TOL and abs(got[1, i, j] - pv) < TOL


@pytest.mark.parametrize("channel,level", [(BITFLIP, 0.1), (GAUSS, 1.5)])
def test_oracle_matches_dual_sum_r2_L6(channel, level):
    L = 6
    y = noisy(L, channel, level, seed=3)
    q = edge_likelihoods(y, channel, level)[0]
    got = local_posterior_marginals(y, channel, level, 2)[0]
    for i, j in [(0, 0), (2, 5)]:
        ph, pv = bf.posterior_dual_sum(L, 2, i, j, q)
        assert abs(got[0, i, j] - ph) < TOL and abs(got[1, i, j] - pv) < TOL


def test_brute_force_posterior_does_not_depend_on_L():
    r = 1
    rng = np.random.default_rng(4)
    q_window = rng.uniform(0.05, 0.95, size=(2, 3, 3))
    results = []
    for L in (4, 5, 6):
        q = rng.uniform(0.05, 0.95, size=(2, L, L))  # edges outside the window must not matter
        q[:, 0:3, 1:4] = q_window
        results.append(bf.posterior_projected_span(L, r, 1, 2, q))
    y_window = np.log(q_window / (1 - q_window))  # Gaussian with a = s = 1, spin encoding: q = expit(-2y)
    direct = window_posterior(-0.5 * y_window, GaussianChannel(encode_binary_as_spin=True), 1.0, r=1)
    for ph, pv in results:
        assert abs(ph - results[0][0]) < TOL and abs(pv - results[0][1]) < TOL
        assert abs(ph - direct[0]) < TOL and abs(pv - direct[1]) < TOL


def test_limits_of_the_channel_levels():
    x = make_model("toric_loops").sample(2, 6, seed=1)
    assert np.array_equal(local_posterior_marginals(x, BITFLIP, 0.0, 2), x.astype(float))
    y = x.copy()
    y[0, 0, 0, 0] ^= 1  # impossible at p = 0: windows containing the odd vertices give NaN
    p = local_posterior_marginals(y, BITFLIP, 0.0, 1)
    assert np.isnan(p[0, :, 0, 0]).all() and not np.isnan(p[1]).any()
    y = noisy(6, BITFLIP, 0.1, n=2, seed=1)
    assert np.allclose(local_posterior_marginals(y, BITFLIP, 0.5, 2), 0.5, atol=1e-14, rtol=0)


def test_extreme_likelihoods_do_not_underflow():
    y = noisy(16, BITFLIP, 0.05, n=1, seed=9)
    p = local_posterior_marginals(y, BITFLIP, 1e-12, 6)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_edge_subsets_and_model_hook():
    y = noisy(9, GAUSS, 1.2, n=3, seed=2)
    full = local_posterior_marginals(y, GAUSS, 1.2, 3)
    assert np.array_equal(make_model("toric_loops").exact_posterior_mean(y, GAUSS, 1.2, 3), full)
    sub, mask = local_posterior_marginals(y, GAUSS, 1.2, 3, edges=5, seed=0)
    assert mask.shape == y.shape and mask.sum() == 3 * 5 * 2
    assert np.array_equal(sub[mask], full[mask]) and np.isnan(sub[~mask]).all()
    sub2, mask2 = local_posterior_marginals(y, GAUSS, 1.2, 3, edges=5, seed=0)
    assert np.array_equal(mask, mask2)
    one = np.zeros((2, 9, 9), dtype=bool)
    one[1, 4, 0] = True
    sub, mask = local_posterior_marginals(y, GAUSS, 1.2, 3, edges=one)
    assert mask.sum() == 3 and np.array_equal(sub[mask], full[mask])


def test_thread_count_does_not_change_the_result():
    y = noisy(10, GAUSS, 1.0, n=2, seed=5)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = local_posterior_marginals(y, GAUSS, 1.0, 3)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = local_posterior_marginals(y, GAUSS, 1.0, 3)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)


def test_bad_inputs():
    y = noisy(5, BITFLIP, 0.1, seed=0)
    with pytest.raises(ValueError, match="2r\\+1 < L"):
        local_posterior_marginals(y, BITFLIP, 0.1, 2)
    with pytest.raises(ValueError, match="radius r must be an integer >= 0"):
        local_posterior_marginals(y, BITFLIP, 0.1, -1)
    with pytest.raises(ValueError, match="shape"):
        local_posterior_marginals(y[0], BITFLIP, 0.1, 1)
    with pytest.raises(ValueError, match="binary"):
        local_posterior_marginals(y + 2, BITFLIP, 0.1, 1)
    with pytest.raises(ValueError, match="p must be in"):
        local_posterior_marginals(y, BITFLIP, 0.7, 1)
    with pytest.raises(ValueError, match="edges"):
        local_posterior_marginals(y, BITFLIP, 0.1, 1, edges=100)
    with pytest.raises(ValueError, match="y_window"):
        window_posterior(np.zeros((2, 4, 4)), GAUSS, 1.0)
