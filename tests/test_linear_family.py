"""The linear family (empirical r-local Wiener filter) against exact GFF theory."""

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.exact import gff_theory as g

L, M2 = 16, 0.25


@pytest.fixture(scope="module")
def gff_train():
    return make_model("gff", m=0.5).sample(3000, L, seed=1)


@pytest.mark.parametrize("r", [0, 1, 2])
def test_local_filter_converges_to_exact_weights(gff_train, r):
    """Weights estimated from 3000 x 16^2 sites: the MSE penalty w' A w is far below the excess."""
    ch = GaussianChannel()
    fam = make_family("linear", r).fit(gff_train, ch, [1.0])
    w_fit = fam._filter(1.0)[0][0, 0]
    w_exact, mse_exact = g.local_optimum(L, M2, 1.0, 1.0, r)
    dw = (w_fit - w_exact).ravel()
    off = g.window_offsets(r)
    G = g.torus_green(L, M2)
    A = G[(off[:, None, 0] - off[None, :, 0]) % L, (off[:, None, 1] - off[None, :, 1]) % L] + np.eye(len(off))
    penalty = dw @ A @ dw  # exact extra MSE of the fitted filter over the r-local optimum
    excess = mse_exact - g.mmse_torus(L, M2, 1.0, 1.0)
    assert penalty < 0.02 * excess, (penalty, excess)


def test_global_member_matches_wiener(gff_train):
    ch = GaussianChannel()
    y = ch.corrupt(make_model("gff", m=0.5).sample(20, L, seed=2), 0.5, seed=3)
    est = make_family("linear", None).fit(gff_train, ch, [0.5]).denoise(y, 0.5)
    a, s = ch.amplitudes(0.5)
    ref = g.wiener_denoise(y, M2, a, s)
    assert np.abs(est - ref).max() < 0.02 * np.abs(ref).max()


def test_filter_works_at_unfitted_levels(gff_train):
    fam = make_family("linear", 1).fit(gff_train, GaussianChannel(), [1.0])
    w, mean_y = fam._filter(3.0)
    np.testing.assert_allclose(w[0, 0], g.local_optimum(L, M2, 1.0, 3.0 ** -0.5, 1)[0], atol=0.01)


def test_two_channel_binary_data_with_bitflip():
    """Two perfectly correlated bit channels: at r=0 the filter must use the twin channel."""
    rng = np.random.default_rng(0)
    bits = (rng.random((400, 1, 8, 8)) < 0.3).astype(np.int8)
    x = np.concatenate([bits, bits], axis=1)
    ch = BitFlipChannel()
    fam = make_family("linear", 0).fit(x, ch, [0.2])
    y = ch.corrupt(x, 0.2, seed=1)
    est = fam.denoise(y, 0.2)
    assert est.shape == x.shape
    mse = ((est - x) ** 2).mean()
    single = make_family("linear", 0).fit(x[:, :1], ch, [0.2]).denoise(y[:, :1], 0.2)
    assert mse < ((single - x[:, :1]) ** 2).mean()
