"""The ``cnn`` family: exact light cone, torus equivariance, determinism, data kinds, learning."""

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, make_family
from phasebench.denoisers.cnn import CNNDenoiser
from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.exact import gff_theory
from phasebench.lattice_models.gff import GaussianFreeField

TINY = dict(width=8, depth=1, embed_dim=8, steps=4, polish_configs=4, batch=2, dtype="float64", window_features=4)


def tiny_fit(radius, clean, channel=None, levels=(0.5, 2.0), seed=0, **hyper):
    channel = channel or GaussianChannel()
    return CNNDenoiser(radius, **{**TINY, **hyper}).fit(clean, channel, levels, seed=seed)


def torus_chebyshev(L, i0, j0):
    d1 = np.abs(np.arange(L) - i0)
    d2 = np.abs(np.arange(L) - j0)
    d1, d2 = np.minimum(d1, L - d1), np.minimum(d2, L - d2)
    return np.maximum(d1[:, None], d2[None, :])


@pytest.mark.parametrize("radius,channels,window_features,periodic",
                         [(0, 1, 0, 0), (1, 1, 0, 0), (2, 1, 0, 0), (2, 2, 0, 0), (3, 1, 0, 0), (1, 1, 2, 0), (3, 2, 3, 0),
                          (0, 1, 0, 3), (1, 2, 0, 4), (3, 2, 3, 4)])
def test_receptive_field_is_exactly_the_radius_window(radius, channels, window_features, periodic):
    L = 9
    rng = np.random.default_rng(radius)
    clean = rng.standard_normal((8, channels, L, L))
    fam = tiny_fit(radius, clean, window_features=window_features, periodic=periodic)
    assert fam.fit_info_["periodic"] == periodic
    if window_features:  # the window features are live (trained away from their zero initialisation)
        assert fam.net_.window.weight.abs().max() > 0
    # perturb every (site, channel) in turn, in one batch, and watch output site (i0, j0)
    y = rng.standard_normal((1, channels, L, L))
    batch = np.repeat(y, L * L * channels + 1, axis=0)
    for c in range(channels):
        for s in range(L * L):
            batch[1 + c * L * L + s, c, s // L, s % L] += 1.0
    out = fam.denoise(batch, 1.0)
    i0, j0 = 4, 7
    change = np.abs(out[1:, :, i0, j0] - out[0, :, i0, j0]).max(axis=1).reshape(channels, L, L)
    dist = torus_chebyshev(L, i0, j0)
    assert change[:, dist > radius].max(initial=0.0) < 1e-12
    assert change[:, dist <= radius].min() > 1e-6  # every site of the window, the rim included
    assert change[:, dist == radius].min() > 1e-6


def test_translation_equivariance_on_the_torus():
    rng = np.random.default_rng(1)
    clean = rng.standard_normal((8, 2, 10, 10))
    fam = tiny_fit(2, clean)
    y = rng.standard_normal((3, 2, 10, 10))
    shifted = np.roll(y, shift=(3, -4), axis=(2, 3))
    np.testing.assert_allclose(fam.denoise(shifted, 1.3), np.roll(fam.denoise(y, 1.3), shift=(3, -4), axis=(2, 3)), atol=1e-12)


def test_group_features_as_a_device_table_or_a_list_give_the_same_output():
    """``forward_groups`` takes the groups' features as a list (host values) or as a tensor table on the device (what
    training passes, with no host-to-device copy in the step); both are the same embedding, bit for bit."""
    import torch

    rng = np.random.default_rng(2)
    fam = tiny_fit(2, rng.standard_normal((8, 2, 10, 10)))
    net = fam.net_
    features = [0.3, -1.2, 2.5]
    y = torch.as_tensor(np.tile(rng.standard_normal((2, 2, 10, 10)), (3, 1, 1, 1)), dtype=torch.float64)  # same per group
    table = torch.as_tensor(np.asarray(features)[:, None], dtype=torch.float64)
    with torch.no_grad():
        from_list, from_table = net.forward_groups(y, features, 2), net.forward_groups(y, table, 2)
        first = net.forward_groups(y[:2], table[torch.tensor([0])], 2)
    assert torch.equal(from_list, from_table)
    assert torch.allclose(first, from_list[:2], rtol=1e-12, atol=1e-12)  # each group's own features (other batch size)
    assert not torch.allclose(from_list[:2], from_list[2:4])  # same inputs, other features: other outputs


def test_same_seed_same_network_other_seed_different(monkeypatch):
    """Bitwise for a fixed thread count (across thread counts: float32 rounding only)."""
    monkeypatch.setenv("PHASEBENCH_TORCH_THREADS", "1")
    rng = np.random.default_rng(2)
    clean = rng.standard_normal((8, 1, 8, 8))
    y = rng.standard_normal((2, 1, 8, 8))
    a = tiny_fit(1, clean, seed=5, dtype="float32").denoise(y, 1.0)
    b = tiny_fit(1, clean, seed=5, dtype="float32").denoise(y, 1.0)
    c = tiny_fit(1, clean, seed=6, dtype="float32").denoise(y, 1.0)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "kind,channel,levels,channels",
    [
        ("real", GaussianChannel(), (0.3, 3.0), 1),
        ("real", GaussianChannel(a=0.7), (1.0,), 2),
        ("spin", BitFlipChannel(), (0.05, 0.2, 0.5), 2),
        ("binary", BitFlipChannel(), (0.0, 0.1), 1),
        ("binary", GaussianChannel(encode_binary_as_spin=True), (1.0, 4.0), 2),
        ("binary", GaussianChannel(), (1.0,), 1),
        ("spin", GaussianChannel(), (1.0,), 1),
    ],
)
@pytest.mark.parametrize("output", ["linear", "auto"])  # the cnn and cnn-bayes families
def test_shapes_dtypes_and_ranges(kind, channel, levels, channels, output):
    rng = np.random.default_rng(3)
    shape = (6, channels, 8, 8)
    if kind == "real":
        clean = rng.standard_normal(shape)
    elif kind == "spin":
        clean = rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    else:
        clean = rng.integers(0, 2, size=shape).astype(np.int8)
    fam = tiny_fit(1, clean, channel=channel, levels=levels, output=output)
    assert fam.fit_info_["data_kind"] == kind
    y = channel.corrupt(clean[:3], levels[-1], seed=4)
    out = fam.denoise(y, levels[-1])
    assert out.shape == y.shape and out.dtype == np.float64 and np.isfinite(out).all()
    if kind == "spin":
        assert out.min() >= -1.0 and out.max() <= 1.0
    if kind == "binary":
        assert out.min() >= 0.0 and out.max() <= 1.0
    info = fam.describe()
    assert info["n_params"] == fam.n_params > 0
    # multiply-adds per site from the layers: trunk 3x3 (C_in->8), 1x1 (8 + 4 window features -> 8), FiLM, head,
    # skip (C -> C, 3x3) and the 4 window features (C_in -> 4, 3x3);
    # with the Bayes output (+-1 data, or bits encoded as spins, under the Gaussian or bit-flip channel) the trunk
    # also sees tanh(g y): C_in = 2 C
    spins = kind == "spin" or channel.spin_encodes(kind)
    bayes = output == "auto" and spins
    assert fam.fit_info_["output"] == ("bayes" if bayes else "linear")
    # periodic units: half the width under bit flip (the noisy inputs are bits), none otherwise; the
    # multiply-add count is the same, as they replace SiLU channels one for one (cos for FiLM)
    bitflip = channel.discrete_observations
    assert fam.fit_info_["periodic"] == (4 if bitflip else 0)
    assert (fam.fit_info_["batch"], fam.fit_info_["polish_fraction"]) == ((2, 0.1) if bitflip else (2, 0.5))  # TINY batch
    c_in = 2 * channels if bayes else channels
    assert info["flops_per_site"] == 9 * c_in * 8 + 8 + 12 * 8 + 8 + 8 * channels + channels * channels * 9 + 4 * c_in * 9


def test_bad_inputs():
    clean = np.random.default_rng(0).standard_normal((4, 1, 8, 8))
    with pytest.raises(ValueError, match="radius"):
        CNNDenoiser(-1)
    with pytest.raises(ValueError, match="radius"):
        CNNDenoiser(None)
    with pytest.raises(ValueError, match="width"):
        CNNDenoiser(1, width=0)
    with pytest.raises(ValueError, match="polish_fraction"):
        CNNDenoiser(1, polish_fraction=1.0)
    with pytest.raises(ValueError, match="window_features"):
        CNNDenoiser(1, window_features=-1)
    with pytest.raises(ValueError, match="window_features need depth"):
        CNNDenoiser(1, depth=0, window_features=2)
    with pytest.raises(ValueError, match="periodic"):
        CNNDenoiser(1, width=8, periodic=8)
    with pytest.raises(ValueError, match="periodic"):
        CNNDenoiser(1, periodic=-1)
    with pytest.raises(ValueError, match="budget"):
        CNNDenoiser(1, **TINY).fit(clean, GaussianChannel(), [1.0], budget=-1.0)
    with pytest.raises(ValueError, match="bit-flip"):
        tiny_fit(1, clean, channel=BitFlipChannel(), levels=(0.1,))
    with pytest.raises(ValueError, match="radius r=9"):
        tiny_fit(9, clean)
    with pytest.raises(RuntimeError):
        CNNDenoiser(1).denoise(clean, 1.0)
    fam = tiny_fit(1, clean)
    with pytest.raises(ValueError, match="channels"):
        fam.denoise(np.zeros((1, 2, 8, 8)), 1.0)
    with pytest.raises(ValueError, match="lambda"):
        fam.denoise(clean, -1.0)


def test_registered():
    assert "cnn" in DENOISERS
    assert isinstance(make_family("cnn", 2, width=4), CNNDenoiser)


def test_learns_the_gff_r_local_optimum():
    """Small budget, r = 1, L = 16, m^2 = 0.25, lambda = 1 (docs/physics.md, section 4).

    For Gaussian data the r-local optimum's error is independent of the window, so for
    any r-local estimate  mse_cnn = mse_loc + E[(cnn - loc)^2]  exactly.  We check that
    identity on the paired difference against the Wiener filter (4 standard errors,
    from the per-configuration spread), and that the learned gap is below 3% of the
    optimum's excess; its expected size is the least-squares estimation error
    ~ mse_loc * (parameters per level) / (sites in the refit); measured 0.5-1.1% of the
    excess over seeds 0-3 (finite clean set included).
    """
    L, m2, r = 16, 0.25, 1
    model = GaussianFreeField(m=0.5)
    train = model.sample(400, L, seed=10)
    test = model.sample(400, L, seed=11)
    ch = GaussianChannel()
    fam = CNNDenoiser(r, width=16, steps=60, polish_configs=512, batch=4)
    fam.fit(train, ch, [0.3, 1.0, 3.0], seed=0, model=model)
    a, s = ch.amplitudes(1.0)
    y = ch.corrupt(test, 1.0, seed=12)
    x_cnn = fam.denoise(y, 1.0)
    x_wiener = gff_theory.wiener_denoise(y, m2, a, s)
    kernel, mse_loc = gff_theory.local_optimum(L, m2, a, s, r)
    x_loc = gff_theory.apply_window_kernel(y, kernel)
    excess_opt = mse_loc - gff_theory.mmse_torus(L, m2, a, s)
    paired = ((x_cnn - test) ** 2 - (x_wiener - test) ** 2).mean(axis=(1, 2, 3))
    gap = ((x_cnn - x_loc) ** 2).mean(axis=(1, 2, 3))
    loc_paired = ((x_loc - test) ** 2 - (x_wiener - test) ** 2).mean(axis=(1, 2, 3))
    # the identity, on the same draws: paired difference = (local optimum's paired difference) + gap
    d = paired - loc_paired - gap
    assert abs(d.mean()) < 4 * d.std(ddof=1) / np.sqrt(len(d))
    assert abs(loc_paired.mean() - excess_opt) < 4 * loc_paired.std(ddof=1) / np.sqrt(len(d))
    assert gap.mean() < 0.03 * excess_opt


@pytest.mark.parametrize("kind", ["spin", "binary"])
def test_bitflip_posterior_mean_of_independent_bits(kind):
    """Oracle: i.i.d. bits, r = 0, bit flip p: E[u | y] = y (q+ (1-p) - q- p) / (q+ (1-p) + q- p) for spins u.

    q+- are the empirical frequencies of u = y and u = -y in the training set; the
    tolerance is 4 standard errors of a conditional mean from the refit's sample size.
    """
    rng = np.random.default_rng(7)
    spins = np.where(rng.random((64, 1, 8, 8)) < 0.8, 1, -1).astype(np.int8)
    clean = spins if kind == "spin" else ((1 - spins) // 2).astype(np.int8)
    p, n_polish = 0.1, 256
    fam = CNNDenoiser(0, width=8, depth=1, embed_dim=8, steps=20, polish_configs=n_polish, batch=4, dtype="float64",
                      output="linear")  # the least-squares refit of the linear readout (bit flip defaults to Bayes)
    fam.fit(clean, BitFlipChannel(), [0.1, 0.25], seed=1)
    y = BitFlipChannel().corrupt(clean[:8], p, seed=2)
    out = fam.denoise(y, p)
    q_plus = (spins == 1).mean()
    for y_spin in (1, -1):
        agree, disagree = (q_plus, 1 - q_plus) if y_spin == 1 else (1 - q_plus, q_plus)
        post = (agree * (1 - p) - disagree * p) / (agree * (1 - p) + disagree * p)
        exact = y_spin * post if kind == "spin" else 0.5 * (1 - y_spin * post)
        y_value = y_spin if kind == "spin" else (1 - y_spin) // 2
        sites = y == y_value
        n_eff = n_polish * 64 * (agree * (1 - p) + disagree * p)  # refit sites showing this y
        var_post = 1 - post**2 if kind == "spin" else 0.25 * (1 - post**2)
        np.testing.assert_allclose(out[sites], exact, atol=4 * np.sqrt(var_post / n_eff))


def test_conditioned_fit_covers_a_parameter_grid():
    """One network conditioned on the GFF mass tracks the exact r-local optimum at each mass.

    For Gaussian data the excess of any estimator over the r-local optimum is exactly
    E[(f(y) - w* y)^2].  Conditioned, that gap is below half the local excess and a tenth
    of the gap of the same network fitted without the condition (measured: ~0.1-0.3 and
    ~0.01 of those at this budget).
    """
    from phasebench.lattice_models import GaussianChannel, make_model
    from phasebench.lattice_models.exact import gff_theory as g

    L, lam, ch = 12, 2.0, GaussianChannel()
    masses = (0.5, 1.5)
    x = np.concatenate([make_model("gff", m=m).sample(300, L, seed=k) for k, m in enumerate(masses)])
    cond = np.repeat(masses, 300)
    fam = make_family("cnn", 1).fit(x, ch, [0.5, lam], seed=0, budget=5.0, conditions=cond)
    plain = make_family("cnn", 1).fit(x, ch, [0.5, lam], seed=0, budget=5.0)
    a, s = ch.amplitudes(lam)
    for m in masses:
        y = ch.corrupt(make_model("gff", m=m).sample(200, L, seed=9), lam, seed=10)
        kernel, mse = g.local_optimum(L, m * m, a, s, 1)
        best = g.apply_window_kernel(y, kernel)
        gap = ((fam.denoise(y, lam, condition=m) - best) ** 2).mean()
        gap_plain = ((plain.denoise(y, lam) - best) ** 2).mean()
        assert gap < 0.5 * (mse - g.mmse_torus(L, m * m, a, s)), (m, gap)
        assert gap < 0.1 * gap_plain, (m, gap, gap_plain)
    with pytest.raises(ValueError, match="condition"):
        fam.denoise(y, lam)


@pytest.mark.parametrize("channel,expected", [(BitFlipChannel(), (8, 2, 0.1)), (GaussianChannel(), (0, 8, 0.5))])
def test_defaults_per_channel(channel, expected):
    """Under bit flip: half the width periodic, 2 configurations per level per step, a tenth of the budget for the
    readout refit (measured on toric-bitflip, see denoisers.cnn.settings.BITFLIP_DEFAULTS); elsewhere none, 8 and a half."""
    clean = np.random.default_rng(0).integers(0, 2, size=(4, 1, 6, 6)).astype(np.int8)
    fam = CNNDenoiser(1, depth=1, embed_dim=4, width=16, steps=1, polish_configs=1).fit(clean, channel, [0.1], seed=0)
    assert (fam.fit_info_["periodic"], fam.fit_info_["batch"], fam.fit_info_["polish_fraction"]) == expected


@pytest.mark.parametrize("radius,periodic,window_features,stencils,feature",
                         [(0, 0, 0, (), 0.7), (2, 0, 3, (), 0.7), (3, 4, 0, (), 0.7), (2, 0, 0, (), (0.7, 2.27)),
                          (2, 0, 2, (((0, 0, 0), (1, 0, 0), (0, 0, 1), (1, 1, 0)),), 0.7)])
def test_inference_with_the_film_folded_into_the_convolutions_equals_forward(radius, periodic, window_features,
                                                                             stencils, feature):
    """``infer`` (denoising's path) folds each layer's FiLM into its convolution: the same function as ``forward``
    (training's path) to float rounding, for every kind of trunk layer."""
    import torch

    from phasebench.denoisers.cnn.network import build_network

    torch.manual_seed(radius)
    channels, extra = (2, 2) if stencils else (1, 0)
    net = build_network(channels, radius, width=8, depth=2, embed_dim=8, feature_dim=2 if isinstance(feature, tuple) else 1,
                        extra_inputs=extra, window_features=window_features, periodic=periodic,
                        check_stencils=stencils).double()
    with torch.no_grad():  # away from the zero initialisation of FiLM, head, skip and window generators
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
        y = torch.randn(5, channels + extra, 9, 9, dtype=torch.float64)
        fwd, inf = net(y, feature), net.infer(y, feature)
    assert fwd.abs().max() > 0.1
    torch.testing.assert_close(inf, fwd, rtol=1e-12, atol=1e-12)
