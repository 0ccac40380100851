"""The example family's window mean against brute force, and its fit on Gaussian free field data."""

import numpy as np

from phasebench.lattice_models import GaussianChannel, make_model
from window_mean import WindowMean, window_mean


def test_window_mean_is_the_periodic_box_average():
    y = np.random.default_rng(0).normal(size=(2, 2, 7, 7))
    r, L = 2, 7
    brute = np.zeros_like(y)
    for i in range(L):
        for j in range(L):
            rows, cols = [(i + d) % L for d in range(-r, r + 1)], [(j + d) % L for d in range(-r, r + 1)]
            brute[..., i, j] = y[..., rows, :][..., cols].mean(axis=(-2, -1))
    assert np.allclose(window_mean(y, r), brute)
    assert np.allclose(window_mean(y, None), y.mean(axis=(2, 3), keepdims=True))
    assert np.allclose(window_mean(y, 3), y.mean(axis=(2, 3), keepdims=True))  # a window that covers the torus


def test_fit_beats_the_site_alone_on_gff_data():
    """The window adds information: the r = 2 member's test MSE is below the r = 0 member's (whose window mean
    is the site itself), both below the prior's, at a noise level where neighbours matter (lambda = 0.3)."""
    model, channel = make_model("gff", m=0.5), GaussianChannel()
    train, test = model.sample(200, 16, seed=1), model.sample(100, 16, seed=2)
    y = channel.corrupt(test, 0.3, 3, model.variable_type)
    mse = {r: float(((WindowMean(r).fit(train, channel, [0.3], model=model).denoise(y, 0.3) - test) ** 2).mean())
           for r in (0, 2)}
    assert mse[2] < mse[0] < float(((test - test.mean()) ** 2).mean())
