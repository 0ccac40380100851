"""The ``patch_mlp``, ``attention`` and ``unet`` families: radius semantics, leaky variants caught by the audit,
the torus, no batch statistics, spins under the Gaussian channel, and parameter and FLOP counts against hand counts.

(Conformance and the locality audit of every registered family on every supported model run in
tests/test_conformance.py and tests/test_locality_audit.py, which include these families.)"""

import numpy as np
import pytest
import torch

from phasebench.denoisers import make_family
from phasebench.denoisers.attention import AttentionDenoiser, window_radii
from phasebench.denoisers.attention import build_network as build_attention
from phasebench.denoisers.conformance import check_family
from phasebench.denoisers.locality import audit_locality
from phasebench.denoisers.patch_mlp import PatchMLPDenoiser
from phasebench.denoisers.patch_mlp import build_network as build_patch_mlp
from phasebench.denoisers.unet import build_network as build_unet
from phasebench.denoisers.unet import halvings
from phasebench.lattice_models import GaussianChannel, make_model

L = 10
FIT = dict(seed=0, budget=None)
TINY = dict(steps=3, polish_configs=16)  # a few Adam steps and a small refit: a trained, nonzero head


@pytest.fixture(scope="module")
def gff():
    m = make_model("gff", m=0.5)
    return m, m.sample(16, L, seed=0), GaussianChannel().corrupt(m.sample(1, L, seed=1), 1.0, seed=2)


@pytest.mark.parametrize("r", range(7))
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_attention_window_radii_sum_to_the_radius(r, layers):
    radii = window_radii(r, layers)
    assert sum(radii) == r
    assert len(radii) == max(1, min(layers, r))
    assert r == 0 or min(radii) >= 1
    assert max(radii) - min(radii) <= 1


def test_unet_depth_is_the_number_of_even_halvings():
    assert [halvings(n, 3) for n in (32, 16, 10, 6, 7, 4, 2)] == [3, 3, 1, 1, 0, 1, 0]
    assert halvings(32, 5) == 4  # stops at a 2 x 2 coarsest lattice


# -- leaky variants: a window one too wide is caught -----------------------------------------------
class WidePatchMLP(PatchMLPDenoiser):
    """Claims radius r, but its first layer reads the radius-(r+1) window."""

    def network_args(self, channels, feature_dim, extra_inputs, settings):
        return {**super().network_args(channels, feature_dim, extra_inputs, settings), "window_radius": self.radius + 1}


class WideAttention(AttentionDenoiser):
    """Claims radius r, but its first block's attention window is one site wider."""

    def network_args(self, channels, feature_dim, extra_inputs, settings):
        args = super().network_args(channels, feature_dim, extra_inputs, settings)
        radii = args["window_radii"]
        return {**args, "window_radii": (radii[0] + 1,) + radii[1:]}


@pytest.mark.parametrize("honest, leaky", [(PatchMLPDenoiser, WidePatchMLP), (AttentionDenoiser, WideAttention)])
def test_a_window_one_too_wide_is_caught(gff, honest, leaky):
    m, x, y = gff
    for cls, passes in ((honest, True), (leaky, False)):
        fam = cls(1, **TINY).fit(x, GaussianChannel(), [1.0], model=m, **FIT)
        report = audit_locality(fam, y, 1.0, n_sites=2)
        assert report.passed is passes, report.message
        if not passes:
            assert "outside the window" in report.message


# -- the torus and no batch statistics --------------------------------------------------------------
def _randomised(net):
    """Untrained networks have a zero head, skip and FiLM: give every weight a random value."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)
    return net.double().eval()


NETS = {
    "patch_mlp": lambda: build_patch_mlp(channels=2, radius=2, width=8, depth=1, embed_dim=4, extra_inputs=2),
    "attention": lambda: build_attention(channels=2, radius=3, window_radii=(2, 1), dim=8, heads=2, mlp_ratio=2,
                                         embed_dim=4, extra_inputs=2),
    "unet": lambda: build_unet(channels=2, width=8, levels=2, skip_radius=1, embed_dim=4, extra_inputs=2),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_outputs_commute_with_translations_of_the_torus(name):
    net = _randomised(NETS[name]())
    y = torch.randn(2, 4, 16, 16, dtype=torch.float64)
    shift = (4, 8) if name == "unet" else (3, 5)  # the U-Net's pooling commutes with shifts by 2^depth = 4
    with torch.no_grad():
        out, moved = net(y, 0.3), net(torch.roll(y, shift, dims=(2, 3)), 0.3)
    assert torch.allclose(torch.roll(out, shift, dims=(2, 3)), moved, atol=1e-10)


@pytest.mark.parametrize("name", sorted(NETS))
def test_a_sample_is_denoised_alike_alone_and_in_a_batch_in_either_mode(name):
    net = _randomised(NETS[name]())
    y = torch.randn(3, 4, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        alone = net(y[:1], 0.3)
        batch = net(y, 0.3)[:1]
        net.train()
        training = net(y, 0.3)[:1]
    assert torch.allclose(alone, batch, atol=1e-12) and torch.allclose(alone, training, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NETS))
def test_inference_equals_forward_with_the_film_folded_where_the_trunk_folds(name):
    """``infer`` (denoising's path) folds each layer's FiLM into its convolution where the trunk supports it
    (patch_mlp, unet; attention's FiLM acts on normalised sites, not after a convolution): the same function as
    ``forward`` to float rounding."""
    net = _randomised(NETS[name]())
    assert net.folds_film == (name != "attention")
    y = torch.randn(3, 4, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        fwd, inf = net(y, 0.3), net.infer(y, 0.3)
    assert fwd.abs().max() > 0.1
    torch.testing.assert_close(inf, fwd, rtol=1e-12, atol=1e-12)


def test_unet_light_cone_is_the_torus_at_any_side():
    for side in (16, 7):  # 7: no down-sampling at all; the bottleneck's lattice mean still reaches every site
        net = _randomised(NETS["unet"]())
        y = torch.randn(1, 4, side, side, dtype=torch.float64)
        far = y.clone()
        far[0, :, side // 2, side // 2] += 1.0
        with torch.no_grad():
            assert abs(float(net(far, 0.3)[0, 0, 0, 0] - net(y, 0.3)[0, 0, 0, 0])) > 1e-6


# -- spins under the Gaussian channel: the Bayes output ------------------------------------------
@pytest.mark.parametrize("name", ["patch_mlp", "attention", "unet"])
def test_spins_under_the_gaussian_channel_conform(name):
    report = check_family(name, ["ising"], channels=[GaussianChannel()])
    fits = [r for r in report.records if r.prop == "fit and denoise"]
    assert fits and all(r.outcome == "passed" for r in fits)
    ising = make_model("ising")
    fam = make_family(name, None if name == "unet" else 1, steps=2).fit(
        ising.sample(4, 6, seed=0), GaussianChannel(), [1.0], model=ising)
    assert fam.fit_info_["output"] == "bayes"


def _window_attention_by_unfold(q, k, v, bias, r):
    """The window attention written independently: gather every window with F.unfold on the circularly padded
    keys and values, softmax over the window (q: (n, heads, c, L, W), scaled)."""
    n, h, c, L, W = q.shape
    K = (2 * r + 1) ** 2

    def gather(x):
        x = torch.nn.functional.pad(x.reshape(n, h * c, L, W), (r, r, r, r), mode="circular")
        return torch.nn.functional.unfold(x, 2 * r + 1).view(n, h, c, K, L, W)

    scores = (q[:, :, :, None] * gather(k)).sum(2) + bias[None, :, :, None, None]
    return (torch.softmax(scores, dim=2)[:, :, None] * gather(v)).sum(3)


@pytest.mark.parametrize("r", [0, 1, 2])
def test_window_attention_and_its_backward_equal_the_unfolded_windows(r):
    from phasebench.denoisers.harness.conditioned_net import circular_pad
    from phasebench.denoisers.harness.window_attention import WindowAttention

    g = torch.Generator().manual_seed(r)
    n, h, c, L, W = 2, 2, 3, 5, 6
    q, k, v = (torch.randn(n, h, c, L, W, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))
    bias = torch.randn(h, (2 * r + 1) ** 2, generator=g, dtype=torch.float64, requires_grad=True)

    def ours(q, k, v, bias):
        def pad(x):
            return circular_pad(x.reshape(n, h * c, L, W), r).view(n, h, c, L + 2 * r, W + 2 * r)
        return WindowAttention.apply(q, pad(k), pad(v), bias, r)

    weight = torch.randn(n, h, c, L, W, generator=g, dtype=torch.float64)
    grads = []
    for f in (ours, _window_attention_by_unfold):
        out = f(q, k, v, bias) if f is ours else f(q, k, v, bias, r)
        grads.append((out, *torch.autograd.grad((out * weight).sum(), (q, k, v, bias))))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(ours, (q, k, v, bias))


def test_attention_dim_must_divide_into_heads():
    with pytest.raises(ValueError, match="dim"):
        make_family("attention", 1, dim=30, heads=4)


# -- parameter and FLOP counts against hand counts ----------------------------------------------------
# One small configuration each: C = 1 data channel, no extra inputs, embedding width 3 (its MLP:
# Linear(1, 3) + Linear(3, 3) = 6 + 12 = 18 parameters), FiLM Linear(3, 2 units).
HAND_COUNTS = {
    # window conv 1*9*4 + 4 = 40, hidden 4*4 + 4 = 20, 2 FiLM 2*(3*8 + 8) = 64, head 4 + 1 = 5, skip 3*9 + 9 = 36;
    # madds: window 36, hidden 16, FiLM 2*4, head 4, skip 9
    "patch_mlp": (lambda: build_patch_mlp(channels=1, radius=1, width=4, depth=1, embed_dim=3),
                  18 + 40 + 20 + 64 + 5 + 36, 36 + 16 + 8 + 4 + 9),
    # tokens 1*4 + 4 = 8; block: qkv 4*12 + 12 = 60, out 20, offset bias 2*9 = 18, MLP 4*8 + 8 + 8*4 + 4 = 76,
    # 2 FiLM 64; final FiLM 32, head 5, skip 36.  Madds: tokens 4; block 4*16 + 2*4*9 + 2*2*16 + 2*4 = 208;
    # final FiLM 4, head 4, skip 9
    "attention": (lambda: build_attention(channels=1, radius=1, window_radii=(1,), dim=4, heads=2, mlp_ratio=2,
                                          embed_dim=3),
                  18 + 8 + (60 + 20 + 18 + 76 + 64) + 32 + 5 + 36, 4 + 208 + 4 + 4 + 9),
    # stem 1*9*2 + 2 = 20, down 2*9*2 + 2 = 38, bottom and up 4*9*2 + 2 = 74 each, 4 FiLM 4*(3*4 + 4) = 64,
    # head 2 + 1 = 3, skip 3 + 1 = 4.  Madds per full-resolution site: stem 18 + 2; depth 0: down 36 + 2,
    # up 72 + 2; bottom (72 + 2) / 4; head 2, skip 1
    "unet": (lambda: build_unet(channels=1, width=2, levels=1, skip_radius=0, embed_dim=3),
             18 + 20 + 38 + 74 + 74 + 64 + 3 + 4, 20 + 38 + 74 + 74 / 4 + 2 + 1),
}


@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_parameter_and_flop_counts_match_a_hand_count(name):
    build, params, madds = HAND_COUNTS[name]
    net = build()
    assert sum(p.numel() for p in net.parameters()) == params
    assert net.flops_per_site() == pytest.approx(madds, rel=1e-12)


def test_the_family_reports_its_networks_counts(gff):
    m, x, _ = gff
    fam = make_family("patch_mlp", 1, width=4, depth=1, embed_dim=3, **TINY).fit(x, GaussianChannel(), [1.0], model=m)
    net = build_patch_mlp(channels=1, radius=1, width=4, depth=1, embed_dim=3)
    assert fam.n_params == sum(p.numel() for p in net.parameters())
    assert fam.flops_per_site == net.flops_per_site()
    assert fam.describe()["fit"]["n_params"] == fam.n_params
