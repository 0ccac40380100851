"""The ``cnn`` family's parity-check inputs (the syndrome) and its Bayes output under bit flip.

Oracles: the toric model's own vertex parity (the check values the network computes), the
single-site posterior under bit flip (the untrained network), a bit-by-bit light-cone audit
on toric data (the check layer must not widen the radius-r window), and the exact r-local
window oracle, which a trained r = 1 member must approach.
"""

import numpy as np
import pytest

from phasebench.denoisers.cnn import CNNDenoiser
from phasebench.denoisers.cnn.network import build_network, check_kernel_range
from phasebench.lattice_models import make_model
from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.toric_loops import VERTEX_CHECK, vertex_parity

TINY = dict(width=8, depth=1, embed_dim=8, steps=4, batch=2, dtype="float64")


def test_check_values_are_the_vertex_syndrome():
    import torch

    assert check_kernel_range((VERTEX_CHECK,)) == ((0, 0), (1, 1))
    net = build_network(2, 2, 8, 1, 8, extra_inputs=2, check_stencils=(VERTEX_CHECK,))
    bits = np.random.default_rng(0).integers(0, 2, (3, 2, 6, 6))
    spins = torch.as_tensor(1 - 2 * bits, dtype=torch.float32)
    h = net.check_input(torch.cat([spins, spins], 1))  # kernel offsets (0, 0)..(1, 1): padded by one on the far side
    assert h.shape == (3, 5, 7, 7)
    np.testing.assert_array_equal((1 - h[:, 4, :-1, :-1].numpy()) / 2, vertex_parity(bits))
    np.testing.assert_array_equal(h[:, 4, -1, :-1].numpy(), h[:, 4, 0, :-1].numpy())  # circular, not zero, padding


def test_check_stencils_are_validated():
    with pytest.raises(ValueError, match="span more than 3"):
        check_kernel_range((((0, 0, -1), (0, 0, 2)),))
    with pytest.raises(ValueError, match="channels outside"):
        build_network(1, 1, 8, 1, 8, extra_inputs=1, check_stencils=(((1, 0, 0),),))
    with pytest.raises(ValueError, match="Bayes output"):
        build_network(2, 1, 8, 1, 8, extra_inputs=0, check_stencils=(VERTEX_CHECK,))


def test_bitflip_gain_and_single_site_mmse():
    """tanh(atanh(1 - 2p) y) = (1 - 2p) y is E[u | y] for uniform u; its MSE is 4 p (1 - p) (Monte Carlo, 4 se)."""
    ch, p = BitFlipChannel(), 0.13
    rng = np.random.default_rng(3)
    u = rng.choice([-1.0, 1.0], size=200_000)
    y = np.where(rng.random(u.size) < p, -u, u)
    post = np.tanh(ch.spin_field_gain(p) * y)
    np.testing.assert_allclose(post, (1 - 2 * p) * y, atol=1e-12)
    err = (u - post) ** 2
    assert abs(err.mean() - ch.single_site_mmse(p)) < 4 * err.std() / np.sqrt(u.size)
    assert ch.spin_field_gain(0.0) == ch.spin_field_gain(1e-30) == ch.MAX_FIELD_GAIN  # capped: tanh(12 y) = y to 1e-10


def toric_fit(radius, **hyper):
    model = make_model("toric_loops")
    clean = model.sample(8, 8, seed=1)
    fam = CNNDenoiser(radius, **{**TINY, **hyper}).fit(clean, BitFlipChannel(), [0.05, 0.15], seed=0, model=model)
    return model, fam


def test_bitflip_uses_the_bayes_output_and_the_models_checks():
    _, fam = toric_fit(2)
    assert fam.fit_info_["output"] == "bayes" and fam.fit_info_["parity_checks"] == 1
    _, plain = toric_fit(2, checks=False)
    assert plain.fit_info_["parity_checks"] == 0
    _, r0 = toric_fit(0)  # no check lies inside a radius-0 window
    assert r0.fit_info_["parity_checks"] == 0
    with pytest.raises(ValueError, match="checks"):
        CNNDenoiser(1, checks="yes")
    # bit-flip defaults (measured, see denoisers.cnn.settings.BITFLIP_DEFAULTS): no window features, learning rate 1e-2 -> 1e-4
    default = CNNDenoiser(2, width=8, depth=1, embed_dim=8, steps=2).fit(
        make_model("toric_loops").sample(4, 8, seed=1), BitFlipChannel(), [0.1], seed=0, model=make_model("toric_loops"))
    assert (default.fit_info_["window_features"], default.fit_info_["lr"], default.fit_info_["lr_final"]) == (0, 1e-2, 1e-4)


def test_untrained_bitflip_output_is_the_single_site_posterior():
    model = make_model("toric_loops")
    clean = model.sample(8, 6, seed=2)
    fam = CNNDenoiser(2, **{**TINY, "steps": 1, "lr": 1e-12, "lr_final": 1e-12}).fit(
        clean, BitFlipChannel(), [0.1], seed=0, model=model)
    y = BitFlipChannel().corrupt(clean, 0.1, seed=3)
    np.testing.assert_allclose(fam.denoise(y, 0.1), np.where(y == 1, 0.9, 0.1), atol=1e-9)


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_light_cone_with_checks_is_the_radius_window(radius):
    """Flip every edge bit in turn: the output at one edge pair changes only for bits within Chebyshev distance r."""
    from phasebench.lattice_models.geometry import chebyshev_distance

    model, fam = toric_fit(radius, steps=6, window_features=0)
    L = 9
    y = BitFlipChannel().corrupt(model.sample(1, L, seed=4), 0.1, seed=5)
    batch = np.repeat(y, 2 * L * L + 1, axis=0)
    for c in range(2):
        for s in range(L * L):
            batch[1 + c * L * L + s, c, s // L, s % L] ^= 1
    out = fam.denoise(batch, 0.1)
    i0, j0 = 4, 6
    change = np.abs(out[1:, :, i0, j0] - out[0, :, i0, j0]).max(axis=1).reshape(2, L, L)
    dist = chebyshev_distance(L, (i0, j0))
    assert change[:, dist > radius].max() < 1e-12
    # every vertex check inside the window is seen: flipping an edge whose both vertices are interior changes the output
    interior = np.zeros((L, L), dtype=bool)
    di = (np.arange(L) - i0 + L // 2) % L - L // 2
    dj = (np.arange(L) - j0 + L // 2) % L - L // 2
    interior[np.ix_((di >= -radius + 1) & (di <= radius), (dj >= -radius + 1) & (dj <= radius))] = True
    # horizontal edge (i, j) joins vertices (i, j), (i, j + 1); vertical (i, j) joins (i, j), (i + 1, j)
    both_h = interior & np.roll(interior, -1, axis=1)
    both_v = interior & np.roll(interior, -1, axis=0)
    assert change[0][both_h].min() > 1e-9 and change[1][both_v].min() > 1e-9


def test_r1_member_approaches_the_exact_window_oracle():
    """Trained for a short budget at r = 1, the excess over the exact r-local posterior E|f - q|^2 is a small fraction
    of the exact MSE: measured 0.27% (1212 Adam steps), against 0.94% for the same fit with ``error_frame=False`` and
    3.1% with ``checks=False`` as well (1201 steps)."""
    from phasebench.lattice_models.exact.toric_window import local_posterior_marginals

    model, ch, p = make_model("toric_loops"), BitFlipChannel(), 0.08
    clean = model.sample(200, 12, seed=6)
    fam = CNNDenoiser(1).fit(clean, ch, [0.04, 0.08, 0.12], seed=0, budget=6.0, model=model)
    x = model.sample(60, 12, seed=7)
    y = ch.corrupt(x, p, seed=8)
    q = local_posterior_marginals(y, ch, p, 1)
    excess = ((fam.denoise(y, p) - q) ** 2).mean() / ((q - x) ** 2).mean()
    assert fam.fit_info_["error_frame"]
    assert excess < 0.006, excess


def test_error_frame_is_validated_and_recorded():
    """On by default exactly where the first layer sees parity checks; explicit True needs the Bayes output."""
    model, ch = make_model("toric_loops"), BitFlipChannel()
    clean = model.sample(8, 6, seed=1)
    with pytest.raises(ValueError, match="true or false"):
        CNNDenoiser(1, error_frame="yes")
    with pytest.raises(ValueError, match="Bayes output"):  # the frame of a +-1 observation; not for the linear readout
        CNNDenoiser(1, output="linear", error_frame=True, **TINY).fit(clean, ch, [0.1], seed=0, model=model)
    spins = make_model("ising", T=2.5).sample(8, 6, seed=1)

    def frame(fam, *args, **kw):
        return fam.fit(*args, seed=0, **kw).fit_info_["error_frame"]

    assert frame(CNNDenoiser(1, **TINY), clean, ch, [0.1], model=model)
    assert frame(CNNDenoiser(1, **TINY), clean, GaussianChannel(encode_binary_as_spin=True), [0.5], model=model)
    assert not frame(CNNDenoiser(1, checks=False, **TINY), clean, ch, [0.1], model=model)
    assert not frame(CNNDenoiser(0, **TINY), clean, ch, [0.1], model=model)  # no checks at r = 0
    assert not frame(CNNDenoiser(1, output="linear", **TINY), clean, ch, [0.1], model=model)
    assert not frame(CNNDenoiser(1, **TINY), spins, GaussianChannel(), [0.5])  # Ising: no parity checks
    assert frame(CNNDenoiser(1, error_frame=True, **TINY), spins, GaussianChannel(), [0.5])


def test_error_frame_output_flips_with_the_observation_on_a_closed_loop():
    """Under a prior uniform over the cycle space the posterior is covariant under adding a closed loop c to y:
    E[x | y + c] = E[x | y] + c (mod 2), since the syndrome does not change.  With the error frame and the trunk's
    raw-bit inputs and the linear skip switched off (the check values alone), a trained member has that symmetry exactly."""
    import pickle

    import torch

    model, ch, p = make_model("toric_loops"), BitFlipChannel(), 0.1
    fam = CNNDenoiser(2, **{**TINY, "steps": 30, "lr": 1e-2}).fit(model.sample(16, 8, seed=2), ch, [p], seed=0, model=model)
    net = fam.net_
    with torch.no_grad():  # zero the first layer's weights on the raw inputs (all but the check channel), and the skip
        net.trunk[0].weight[:, :-1] = 0.0
        net.skip.weight.zero_()
        net.skip.bias.zero_()
        if net.waves is not None:
            net.waves[0].weight[:, :-1] = 0.0
    y = ch.corrupt(model.sample(5, 8, seed=3), p, seed=4)
    loop = model.sample(5, 8, seed=5)  # closed loops: every vertex even
    f, f_shifted = fam.denoise(y, p), fam.denoise((y + loop) % 2, p)
    np.testing.assert_allclose(f_shifted, np.where(loop == 1, 1 - f, f), atol=1e-12)
    assert np.abs(f - np.where(y == 1, 1 - p, p)).max() > 1e-3  # trained: not the single-site posterior
    clone = pickle.loads(pickle.dumps(fam))
    np.testing.assert_array_equal(clone.denoise(y, p), f)
