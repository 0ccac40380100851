"""The cnn's periodic units on the toric-code posterior, a Boolean function built from 4-body parities."""

import math

from phasebench.denoisers.cnn import CNNDenoiser
from phasebench.lattice_models import BitFlipChannel, make_model
from phasebench.lattice_models.exact.toric_window import local_posterior_marginals

P, L, R, STEPS = 0.06, 8, 1, 2000


def gap_to_exact(periodic, train, y, q):
    """Per-configuration E|f - q|^2 over all edges: f's excess over the exact r-local posterior q (f is r-local)."""
    fam = CNNDenoiser(R, width=16, depth=2, embed_dim=8, steps=STEPS, batch=8, polish_configs=64, periodic=periodic)
    fam.fit(train, BitFlipChannel(), [P], seed=0)
    assert fam.fit_info_["periodic"] == periodic
    return ((fam.denoise(y, P) - q) ** 2).mean(axis=(1, 2, 3))


def test_periodic_units_learn_what_silu_units_do_not():
    """At r = 1 the exact posterior is the edge's own bit times a function of the 4 syndromes (4-body parities) in
    its window.  With the same seed and steps, the network with periodic units (cos of a convolution: one unit is
    one parity) must end up much closer to it than the SiLU network, which at this step count stays near the
    linear filter (measured at these settings: 0.79 and 0.54 of the exact MSE).  The margin, a factor 0.8, is checked
    at 4 standard errors of the paired per-configuration difference."""
    model = make_model("toric_loops")
    train, test = model.sample(400, L, seed=0), model.sample(48, L, seed=1)
    y = BitFlipChannel().corrupt(test, P, seed=2)
    q = local_posterior_marginals(y, BitFlipChannel(), P, R)
    mse_q = ((q - test) ** 2).mean()
    silu, periodic = gap_to_exact(0, train, y, q), gap_to_exact(8, train, y, q)
    d = 0.8 * silu - periodic
    assert d.mean() > 4 * d.std(ddof=1) / math.sqrt(len(d)), (silu.mean() / mse_q, periodic.mean() / mse_q)
