"""toric_loops: exact uniform cycle sampler, validation, metadata, channels on edge data."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare

from phasebench.lattice_models import BitFlipChannel, GaussianChannel, MODELS, make_model
from phasebench.lattice_models.exact import toric_bruteforce as bf
from phasebench.lattice_models.toric_loops import homology_parities, plaquette_boundary, vertex_parity


def config_keys(x):
    """Integer key of each configuration (n, 2, L, L) -> (n,)."""
    flat = np.asarray(x).reshape(len(x), -1).astype(np.int64)
    return flat @ (1 << np.arange(flat.shape[1], dtype=np.int64))


def test_registered_and_described():
    assert "toric_loops" in MODELS
    m = make_model("toric_loops")
    assert m.x == 1.0 and m.variable_type == "binary" and m.channels == 2
    d = m.describe()
    assert d["name"] == "toric_loops" and d["params"][0]["name"] == "x"


@pytest.mark.parametrize("L", [2, 3, 4, 7])
def test_every_sample_has_even_vertex_parity(L):
    x = make_model("toric_loops").sample(300, L, seed=L)
    assert x.dtype == np.int8 and x.shape == (300, 2, L, L)
    assert np.isin(x, (0, 1)).all()
    assert not vertex_parity(x).any()


def test_plaquette_boundary_matches_generator_matrix():
    L = 4
    G = bf.cycle_space_generators(L)
    for k in range(L * L):
        b = np.zeros((L, L), dtype=np.int8)
        b.flat[k] = 1
        assert np.array_equal(plaquette_boundary(b).reshape(-1), G[k])


@pytest.mark.parametrize("L", [2, 3])
def test_uniform_over_the_cycle_space(L):
    # the cycle space by enumeration: span of generators == kernel of the parity checks
    cycles = bf.span(bf.gf2_row_basis(bf.cycle_space_generators(L)))
    assert len(cycles) == 2 ** (L * L + 1)
    assert len(bf.gf2_nullspace(bf.vertex_incidence(L))) == L * L + 1
    assert not (bf.vertex_incidence(L).astype(int) @ cycles.T.astype(int) % 2).any()
    n = 40 * len(cycles)
    x = make_model("toric_loops").sample(n, L, seed=11 + L)
    all_keys = np.sort(config_keys(cycles.reshape(-1, 2, L, L)))
    keys = config_keys(x)
    pos = np.searchsorted(all_keys, keys)
    assert (all_keys[np.minimum(pos, len(all_keys) - 1)] == keys).all()
    counts = np.bincount(pos, minlength=len(all_keys))
    assert chisquare(counts).pvalue > 1e-3


def test_homology_bits_and_occupation_are_fair():
    n, L = 20000, 5
    x = make_model("toric_loops").sample(n, L, seed=5)
    w_x, w_y = homology_parities(x)
    sigma = 0.5 / math.sqrt(n)
    for bits in (w_x, w_y, w_x ^ w_y):
        assert abs(bits.mean() - 0.5) < 4 * sigma
    obs = make_model("toric_loops").observables(x)
    exact = make_model("toric_loops").exact_observables(L)
    for key in ("occupation", "homology_x", "homology_y"):
        mean, err = obs[key]
        assert abs(mean - exact[key]) < 4 * err


def test_homology_parities_are_invariant_under_plaquette_flips():
    L = 6
    rng = np.random.default_rng(0)
    x = make_model("toric_loops").sample(50, L, seed=2)
    b = rng.integers(0, 2, size=(50, L, L)).astype(np.int8)
    y = x ^ plaquette_boundary(b)
    for a, c in zip(homology_parities(x), homology_parities(y)):
        assert np.array_equal(a, c)


def test_reproducible_and_seed_dependent():
    m = make_model("toric_loops")
    assert np.array_equal(m.sample(10, 6, seed=3), m.sample(10, 6, seed=3))
    assert not np.array_equal(m.sample(10, 6, seed=3), m.sample(10, 6, seed=4))


def test_validate_samples():
    m = make_model("toric_loops")
    x = m.sample(5, 4, seed=0)
    m.validate_samples(x)
    bad = x.copy()
    bad[3, 1, 2, 0] ^= 1
    with pytest.raises(ValueError, match="violates vertex parity"):
        m.validate_samples(bad)
    with pytest.raises(ValueError, match="0/1"):
        m.validate_samples(2 * x)


@pytest.mark.parametrize("x", [0.0, -0.5, 1.5, float("nan")])
def test_bad_loop_weight(x):
    with pytest.raises(ValueError, match="'x'.*\\(0, 1\\]"):
        make_model("toric_loops", x=x)


def test_bad_sampling_inputs():
    m = make_model("toric_loops")
    with pytest.raises(ValueError, match="L must be"):
        m.sample(3, 1, seed=0)
    with pytest.raises(ValueError, match="n must be"):
        m.sample(0, 4, seed=0)
    with pytest.raises(ValueError, match="no options"):
        m.sample(3, 4, seed=0, sweeps=3)
    with pytest.raises(ValueError, match="sweeps"):  # x < 1: the loop-gas sampler validates its options
        make_model("toric_loops", x=0.5).sample(3, 4, seed=0, sweeps=3)


def test_transitions():
    ts = make_model("toric_loops").transitions()
    by_axis = {t.axis: t for t in ts}
    assert by_axis["x"].value == pytest.approx(math.sqrt(2) - 1, abs=1e-15)
    assert by_axis["p"].channel == "bitflip" and by_axis["p"].value == 0.10922 and by_axis["p"].scored
    assert 0.0001 <= by_axis["p"].uncertainty <= 0.0005
    assert by_axis["lambda"].channel == "gaussian" and not by_axis["lambda"].scored
    assert [t.axis for t in make_model("toric_loops", x=0.5).transitions()] == ["x"]


def test_exact_posterior_support():
    m = make_model("toric_loops")
    bit, gauss = BitFlipChannel(), GaussianChannel(encode_binary_as_spin=True)
    assert m.supports_exact_posterior(bit, 1, 4) and m.supports_exact_posterior(gauss, 2, 6)
    assert not m.supports_exact_posterior(bit, 2, 5)
    assert not make_model("toric_loops", x=0.5).supports_exact_posterior(bit, 1, 8)
    try:
        import phasebench.lattice_models.exact.toric_global  # noqa: F401
        has_global = True
    except ModuleNotFoundError:
        has_global = False
    assert m.supports_exact_posterior(bit, None, 4) == has_global
    y = bit.corrupt(m.sample(2, 5, seed=0), 0.1, seed=1)
    with pytest.raises(ValueError, match="2r\\+1 < L"):
        m.exact_posterior_mean(y, bit, 0.1, 2)


# -- the existing channels on edge data --------------------------------------------------------
def test_bitflip_channel_on_edges():
    x = make_model("toric_loops").sample(400, 8, seed=1)
    p = 0.1
    y = BitFlipChannel().corrupt(x, p, seed=2)
    assert y.dtype == np.int8 and y.shape == x.shape and np.isin(y, (0, 1)).all()
    flips = (y != x).mean()
    assert abs(flips - p) < 4 * math.sqrt(p * (1 - p) / x.size)
    assert np.array_equal(BitFlipChannel().corrupt(x, 0.0, seed=2), x)
    assert np.array_equal(y, BitFlipChannel().corrupt(x, p, seed=2))


def test_gaussian_channel_on_edges_uses_spin_encoding():
    x = make_model("toric_loops").sample(400, 8, seed=1)
    ch = GaussianChannel(a=0.5, encode_binary_as_spin=True)
    lam = 2.0
    a, s = ch.amplitudes(lam)
    y = ch.corrupt(x, lam, seed=3)
    z = (y - a * (1 - 2 * x)) / s
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)
    assert abs(y[x == 0].mean() - a) < 4 * s / math.sqrt((x == 0).sum())
    assert abs(y[x == 1].mean() + a) < 4 * s / math.sqrt((x == 1).sum())
