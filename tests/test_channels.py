"""Noise channels and schedules."""

import math

import numpy as np
import pytest

from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_channel
from phasebench.lattice_models import channels as ch


@pytest.mark.parametrize("schedule", ["linear", "ou", "vp-cosine"])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 10.0, 500.0])
def test_lambda_t_roundtrip(schedule, lam):
    t = ch.t_from_lambda(schedule, lam)
    assert math.isclose(ch.lambda_from_t(schedule, t), lam, rel_tol=1e-9)


@pytest.mark.parametrize("schedule,t", [("linear", 0.3), ("ou", 0.7), ("vp-cosine", 0.5)])
def test_t_lambda_roundtrip(schedule, t):
    assert math.isclose(ch.t_from_lambda(schedule, ch.lambda_from_t(schedule, t)), t, rel_tol=1e-9)


def test_schedule_formulas():
    assert ch.schedule_amplitudes("linear", 0.25) == (0.75, 0.25)
    a, s = ch.schedule_amplitudes("ou", 0.5)
    assert math.isclose(a * a + s * s, 1.0)
    a, s = ch.schedule_amplitudes("vp-cosine", 0.5)
    assert math.isclose(a * a + s * s, 1.0)
    assert math.isclose(ch.lambda_from_t("linear", 0.5), 1.0)
    with pytest.raises(ValueError, match="schedule"):
        ch.lambda_from_t("cosine", 0.1)


def test_bitflip_time_roundtrip():
    for p in (0.0, 0.01, 0.1092, 0.3):
        assert math.isclose(ch.p_from_t(ch.t_from_p(p)), p, abs_tol=1e-15)
    assert ch.p_from_t(0.0) == 0.0 and ch.t_from_p(0.5) == math.inf


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_gaussian_rejects_bad_lambda(bad):
    with pytest.raises(ValueError, match="lambda"):
        GaussianChannel().validate_level(bad)


@pytest.mark.parametrize("bad", [-0.01, 0.51, float("nan")])
def test_bitflip_rejects_bad_p(bad):
    with pytest.raises(ValueError, match=r"\[0, 0.5\]"):
        BitFlipChannel().validate_level(bad)


def test_noise_is_seeded_and_has_the_right_statistics():
    x = np.zeros((200, 1, 16, 16))
    c = GaussianChannel(a=2.0)
    y = c.corrupt(x, 4.0, seed=1)
    np.testing.assert_array_equal(y, c.corrupt(x, 4.0, seed=1))
    n = y.size  # s = a / sqrt(lambda) = 1: var(y) = 1 within 5 standard errors
    assert abs(y.var() - 1.0) < 5 * math.sqrt(2.0 / n)
    spins = np.ones((400, 1, 16, 16), dtype=np.int8)
    flipped = BitFlipChannel().corrupt(spins, 0.1, seed=2, variable_type="spin")
    frac = (flipped == -1).mean()
    assert abs(frac - 0.1) < 5 * math.sqrt(0.1 * 0.9 / spins.size)
    bits = BitFlipChannel().corrupt(np.zeros((10, 2, 4, 4), dtype=np.int8), 0.5, seed=0)
    assert set(np.unique(bits)) <= {0, 1}
    with pytest.raises(ValueError, match="binary"):
        BitFlipChannel().corrupt(np.full((1, 1, 2, 2), 0.3), 0.1, seed=0)


@pytest.mark.parametrize(
    "channel,level,kind",
    [(GaussianChannel(), 0.7, "spin"), (GaussianChannel(encode_binary_as_spin=True), 2.0, "binary"),
     (BitFlipChannel(), 0.15, "spin"), (BitFlipChannel(), 0.2, "binary")],
)
def test_linear_response_matches_monte_carlo(channel, level, kind):
    """Cov(y_u, x_v) = g C, Cov(y_u, y_v) = g^2 C (u != v), Var(y) = var_y: checked by simulation."""
    rng = np.random.default_rng(3)
    n = 200000
    u = rng.random(n) < 0.7  # correlated pair (x0, x1) with nonzero mean
    v = np.where(rng.random(n) < 0.8, u, ~u)
    x = np.stack([u, v], axis=1).astype(float)
    if kind == "spin":
        x = 2 * x - 1
    y = channel.corrupt(x.reshape(n, 1, 1, 2), level, seed=4, variable_type=kind).reshape(n, 2).astype(float)
    mean_x, var_x = x.mean(0), x.var(0)
    gain, mean_y, var_y = channel.linear_response(level, kind, mean_x, var_x)
    cxx = np.cov(x.T)
    se = 5 / math.sqrt(n) * 2  # all variables are bounded by |.| <= 3: a conservative 5-sigma scale
    assert np.allclose(y.mean(0), mean_y, atol=se)
    assert np.allclose(y.var(0), var_y, atol=se * 2)
    assert abs(np.cov(y[:, 0], x[:, 1])[0, 1] - gain * cxx[0, 1]) < se * 2
    assert abs(np.cov(y[:, 0], y[:, 1])[0, 1] - gain**2 * cxx[0, 1]) < se * 2


def test_make_channel_unknown_name():
    with pytest.raises(ValueError, match="unknown channel"):
        make_channel("depolarizing")
