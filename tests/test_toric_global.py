"""Global toric-code oracle: brute force over the cycle space, limits, decoder, input checks."""

import numpy as np
import pytest

from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.exact.toric_global import (
    all_cycles,
    cycle_space_basis,
    decode_homology,
    homology_class,
    toric_bayes_failure_probability,
    toric_failure_probability,
    toric_logical_failure,
    toric_posterior,
    toric_posterior_brute_force,
    toric_posterior_marginals,
    vertex_parity,
)


def _uniform_cycles(n, L, seed):
    """Test-only exact sampler of the loop-weight-1 measure: XOR of fair-coin plaquette
    boundaries and two fair homology bits (docs/physics.md, section 3)."""
    rng = np.random.default_rng(seed)
    basis = cycle_space_basis(L).reshape(L * L + 1, -1).astype(np.int64)
    plaquettes = np.zeros((L * L, 2, L, L), dtype=np.int64)
    for i in range(L):
        for j in range(L):
            b = plaquettes[i * L + j]
            b[0, i, j] = b[0, (i + 1) % L, j] = b[1, i, j] = b[1, i, (j + 1) % L] = 1
    coins = rng.integers(0, 2, size=(n, L * L))
    hom = rng.integers(0, 2, size=(n, 2))
    x = (coins @ plaquettes.reshape(L * L, -1) + hom @ basis[-2:]) % 2
    return x.astype(np.int8).reshape(n, 2, L, L)


def _gf2_rank(rows):
    rows = rows.copy() % 2
    rank = 0
    for col in range(rows.shape[1]):
        pivot = next((r for r in range(rank, len(rows)) if rows[r, col]), None)
        if pivot is None:
            continue
        rows[[rank, pivot]] = rows[[pivot, rank]]
        for r in range(len(rows)):
            if r != rank and rows[r, col]:
                rows[r] ^= rows[rank]
        rank += 1
    return rank


@pytest.mark.parametrize("L", [2, 3, 4])
def test_cycle_space_basis(L):
    basis = cycle_space_basis(L)
    assert basis.shape == (L * L + 1, 2, L, L)
    assert not vertex_parity(basis).any()
    assert _gf2_rank(basis.reshape(len(basis), -1).astype(np.int64)) == L * L + 1
    np.testing.assert_array_equal(homology_class(basis[-2:]), [[1, 0], [0, 1]])
    assert not homology_class(basis[:-2]).any()


def test_all_cycles_are_distinct_and_valid():
    cycles = all_cycles(3)
    assert len(np.unique(cycles.reshape(len(cycles), -1), axis=0)) == 2 ** 10
    assert not vertex_parity(cycles).any()


def test_test_sampler_is_uniform_over_cycles():
    # L = 2: 32 cycles; 32000 draws, chi-square with 31 dof below its 99.9% quantile (61.1)
    x = _uniform_cycles(32000, 2, seed=0)
    assert not vertex_parity(x).any()
    codes = (x.reshape(len(x), -1) * (1 << np.arange(8))).sum(axis=1)
    counts = np.bincount(codes, minlength=256)
    valid = all_cycles(2).reshape(32, -1) @ (1 << np.arange(8))
    assert counts[valid].sum() == len(x)
    expected = len(x) / 32
    assert ((counts[valid] - expected) ** 2 / expected).sum() < 61.1


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("p", [1e-4, 0.05, 0.109, 0.2, 0.45])
def test_bitflip_matches_brute_force(L, p):
    x = _uniform_cycles(2, L, seed=L)
    y = BitFlipChannel().corrupt(x, p, seed=21)
    exact = toric_posterior(y, "bitflip", p)
    brute = toric_posterior_brute_force(y, "bitflip", p)
    np.testing.assert_allclose(exact.edge_marginals, brute.edge_marginals, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exact.class_probabilities, brute.class_probabilities, rtol=0, atol=1e-10)


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("lam", [0.2, 1.04, 20.0])
@pytest.mark.parametrize("encode", [True, False])
def test_gaussian_matches_brute_force(L, lam, encode):
    channel = GaussianChannel(a=1.3, encode_binary_as_spin=encode)
    x = _uniform_cycles(2, L, seed=L + 10)
    y = channel.corrupt(x, lam, seed=22)
    exact = toric_posterior(y, channel, lam)
    brute = toric_posterior_brute_force(y, channel, lam)
    np.testing.assert_allclose(exact.edge_marginals, brute.edge_marginals, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exact.class_probabilities, brute.class_probabilities, rtol=0, atol=1e-10)


def test_bitflip_limits():
    x = _uniform_cycles(3, 4, seed=1)
    post = toric_posterior(x, "bitflip", 0.0)
    np.testing.assert_array_equal(post.edge_marginals, x)
    np.testing.assert_array_equal(decode_homology(post.class_probabilities), homology_class(x))
    assert post.class_probabilities.max(axis=(1, 2)).min() == 1.0
    y = BitFlipChannel().corrupt(x, 0.3, seed=2)
    post = toric_posterior(y, "bitflip", 0.5)
    np.testing.assert_allclose(post.edge_marginals, 0.5, atol=1e-15)
    np.testing.assert_allclose(post.class_probabilities, 0.25, atol=1e-15)


def test_logical_failure_matches_brute_force_decoder():
    L, p = 3, 0.2
    x = _uniform_cycles(40, L, seed=5)
    y = BitFlipChannel().corrupt(x, p, seed=6)
    fail = toric_logical_failure(x, y, "bitflip", p)
    brute = decode_homology(toric_posterior_brute_force(y, "bitflip", p).class_probabilities)
    np.testing.assert_array_equal(fail, (brute != homology_class(x)).any(axis=1))
    assert 0 < fail.sum() < len(fail)  # both outcomes occur at this p, so the check has teeth
    # tie-split failure probability: brute-force class posteriors, ties shared uniformly
    probs = toric_posterior_brute_force(y, "bitflip", p).class_probabilities.reshape(len(x), 4)
    tied = probs >= probs.max(axis=1, keepdims=True) - 1e-12
    hom = homology_class(x)
    expected = 1.0 - tied[np.arange(len(x)), 2 * hom[:, 0] + hom[:, 1]] / tied.sum(axis=1)
    np.testing.assert_array_equal(toric_failure_probability(x, y, "bitflip", p), expected)
    assert np.any((expected > 0) & (expected < 1))  # a tie occurs in this sample


def test_bayes_failure_probability_is_the_failure_rate():
    # L = 2, exact sums over all 32 cycles x (uniform) and all 256 observations y:
    # sum_y P(y) (1 - max_ab P(ab|y)) equals sum_{x,y} P(x) P(y|x) fail(x, y) (ties shared).
    L, p = 2, 0.15
    cycles = all_cycles(L)
    codes = np.arange(256)
    ys = ((codes[:, None] >> np.arange(8)) & 1).astype(np.int8).reshape(256, 2, L, L)
    flips = (cycles[:, None].reshape(32, 1, 8) != ys.reshape(1, 256, 8)).sum(axis=2)
    joint = p**flips * (1 - p) ** (8 - flips) / 32.0  # P(x, y), shape (32, 256)
    p_y = joint.sum(axis=0)
    bayes = toric_bayes_failure_probability(ys, "bitflip", p)
    probs = toric_posterior(ys, "bitflip", p).class_probabilities.reshape(256, 4)
    tied = probs >= probs.max(axis=1, keepdims=True) - 1e-12
    hom = homology_class(cycles)
    fail = 1.0 - tied[:, 2 * hom[:, 0] + hom[:, 1]].T / tied.sum(axis=1)  # (32, 256)
    direct = (joint * fail).sum()
    assert p_y @ bayes == pytest.approx(direct, abs=1e-13)
    assert 0.05 < direct < 0.7


def test_marginals_wrapper_and_translation_covariance():
    x = _uniform_cycles(1, 5, seed=7)
    y = BitFlipChannel().corrupt(x, 0.1, seed=8)
    m = toric_posterior_marginals(y, "bitflip", 0.1)
    moved = toric_posterior_marginals(np.roll(y, (2, 3), axis=(2, 3)), "bitflip", 0.1)
    np.testing.assert_allclose(moved, np.roll(m, (2, 3), axis=(2, 3)), atol=1e-13)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: toric_posterior(np.zeros((1, 1, 3, 3)), "bitflip", 0.1), r"shape \(n, 2, L, L\)"),
        (lambda: toric_posterior(np.zeros((1, 2, 13, 13)), "bitflip", 0.1), r"L must be in \[2, 12\]"),
        (lambda: toric_posterior(np.full((1, 2, 3, 3), 2), "bitflip", 0.1), "binary"),
        (lambda: toric_posterior(np.zeros((1, 2, 3, 3)), "bitflip", 0.6), r"p must be in \[0, 0.5\]"),
        (lambda: toric_posterior(np.zeros((1, 2, 3, 3)), "gaussian", 0.0), "lambda must be > 0"),
        (lambda: toric_posterior(np.full((1, 2, 3, 3), np.inf), "gaussian", 1.0), "finite"),
        (lambda: toric_posterior(np.eye(3, dtype=np.int8)[None, None].repeat(2, 1), "bitflip", 0.0), "cycle"),
        (lambda: toric_logical_failure(np.eye(3)[None, None].repeat(2, 1), np.zeros((1, 2, 3, 3)), "bitflip", 0.1), "cycle"),
        (lambda: toric_logical_failure(np.zeros((1, 2, 3, 3)), np.zeros((2, 2, 3, 3)), "bitflip", 0.1), "same shape"),
        (lambda: toric_posterior_brute_force(np.zeros((1, 2, 5, 5)), "bitflip", 0.1), r"\[2, 4\]"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
