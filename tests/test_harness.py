"""The learned-family harness with an architecture other than cnn: a per-site affine map whose coefficients are
generated from the level (radius 0), declared in this file alone."""

import pickle

import numpy as np
import pytest

from phasebench.denoisers import Hyperparameter, LearnedFamily
from phasebench.denoisers.harness import TRAINING_HYPERPARAMETERS
from phasebench.lattice_models.base import make_model
from phasebench.lattice_models.channels import GaussianChannel


def build_site_affine(channels: int, feature_dim: int, extra_inputs: int, hidden: int):
    """``u'_hat_c(i) = sum_k W_ck(e) y_k(i) + b_c(e)``, ``W`` and ``b`` generated from the level embedding ``e``."""
    import torch
    from torch import nn

    inputs = channels + extra_inputs

    class SiteAffine(nn.Module):
        def __init__(self):
            super().__init__()
            self.channels = channels
            self.embed = nn.Sequential(nn.Linear(feature_dim, hidden), nn.SiLU())
            self.mix = nn.Linear(hidden, channels * inputs + channels)
            nn.init.zeros_(self.mix.weight)  # untrained: the trivial predictor (the mean, or the single-site posterior)
            nn.init.zeros_(self.mix.bias)
            self.register_buffer("feature_shift", torch.zeros(feature_dim))
            self.register_buffer("feature_scale", torch.ones(feature_dim))

        def affine(self, y, f):
            w = self.mix(self.embed((f - self.feature_shift) / self.feature_scale))
            W, b = w[:, : channels * inputs].view(-1, channels, inputs), w[:, channels * inputs:]
            return torch.einsum("nck,nkij->ncij", W.expand(len(y), -1, -1), y) + b.expand(len(y), -1)[:, :, None, None]

        def forward(self, y, feature):
            f = torch.as_tensor(np.asarray(feature, dtype=np.float64).reshape(1, -1), dtype=y.dtype, device=y.device)
            return self.affine(y, f)

        def forward_groups(self, y, features, b):
            return self.affine(y, features.view(len(features), -1).repeat_interleave(b, dim=0))

        def flops_per_site(self):
            return float(channels * inputs)

    return SiteAffine()


class SiteAffineFamily(LearnedFamily):
    name = "test-site-affine"
    supports_global = False
    hyperparameters = (Hyperparameter("hidden", 8, "int", "width of the level embedding", low=1),) + TRAINING_HYPERPARAMETERS
    DEFAULTS = {"lr": 1e-2, "lr_final": 1e-3, "batch": 4, "adaptive_weights": False, "grad_clip": None, "error_frame": False}

    def resolve_settings(self, channel, bayes, model):
        return {k: v if getattr(self, k, None) is None else getattr(self, k) for k, v in self.DEFAULTS.items()}

    def network_args(self, channels, feature_dim, extra_inputs, settings):
        return dict(channels=channels, feature_dim=feature_dim, extra_inputs=extra_inputs, hidden=self.hidden)

    build_network = staticmethod(build_site_affine)


@pytest.mark.parametrize("model,levels,head", [(make_model("gff", m=0.5), [0.5, 2.0], "linear"),
                                               (make_model("ising", T=2.5), [0.3, 1.0], "bayes")])
def test_a_new_architecture_trains_denoises_and_pickles_through_the_harness(model, levels, head):
    channel = GaussianChannel()
    clean = model.sample(16, 6, seed=1)
    fam = SiteAffineFamily(0, steps=60, hidden=4).fit(clean, channel, levels, seed=2, model=model)
    fit = fam.describe()["fit"]
    assert fam.describe()["hidden"] == 4 and fit["output"] == head and fit["steps"] == 60
    assert all(k in fit for k in ("initial_loss", "final_loss", "collapsed"))
    assert fit["n_params"] == fam.n_params > 0 and fit["flops_per_site"] == (2.0 if head == "bayes" else 1.0)
    y = channel.corrupt(model.sample(4, 6, seed=3), levels[0], 4, model.variable_type)
    out = fam.denoise(y, levels[0])
    assert out.shape == y.shape and np.isfinite(out).all()
    assert np.array_equal(pickle.loads(pickle.dumps(fam)).denoise(y, levels[0]), out)
    again = SiteAffineFamily(0, steps=60, hidden=4).fit(clean, channel, levels, seed=2, model=model)
    assert np.array_equal(again.denoise(y, levels[0]), out)  # the seed fixes the fit (CPU, one torch thread)
    with pytest.raises(ValueError, match="'hidden' must be an integer >= 1"):
        SiteAffineFamily(0, hidden=0)


def test_the_new_architecture_learns_the_per_site_wiener_filter():
    """On the GFF the best radius-0 estimator is the per-site Wiener filter (family ``linear`` at r = 0).  Measured
    at lambda = 2 over training seeds 2 / 5 / 9: test MSE 1.13 / 1.01 / 1.00 x the filter's, whose own is 0.53 x the
    mean predictor's; the bound 1.2 x passes every seed and fails an untrained map."""
    from phasebench.denoisers import make_family

    model, channel = make_model("gff", m=0.5), GaussianChannel()
    clean, test = model.sample(16, 6, seed=1), model.sample(64, 6, seed=3)
    y = channel.corrupt(test, 2.0, 4, model.variable_type)
    fam = SiteAffineFamily(0, steps=60, hidden=4).fit(clean, channel, [0.5, 2.0], seed=2, model=model)
    untrained = SiteAffineFamily(0, steps=1, lr=1e-12, lr_final=1e-12, hidden=4).fit(clean, channel, [0.5, 2.0], model=model)
    wiener = make_family("linear", 0).fit(clean, channel, [0.5, 2.0], model=model)
    mse = {name: float(((f.denoise(y, 2.0) - test) ** 2).mean()) for name, f in
           [("fam", fam), ("untrained", untrained), ("wiener", wiener)]}
    assert mse["fam"] < 1.2 * mse["wiener"] < mse["untrained"]
