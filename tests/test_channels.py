"""Noise channels and schedules; channels are polymorphic (no class checks on them outside channels.py)."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from scipy.special import expit

from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_channel
from phasebench.lattice_models import channels as ch

ROOT = Path(__file__).resolve().parent.parent
CHANNELS_FILE = ROOT / "lattice_models" / "channels.py"


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


def test_as_channel():
    bit = BitFlipChannel()
    assert ch.as_channel(bit) is bit and ch.as_channel("gaussian").to_dict() == GaussianChannel().to_dict()
    with pytest.raises(ValueError, match="channel object"):
        ch.as_channel(3.0)


# -- what oracles and families ask of a channel ------------------------------------------------

SPIN_CASES = [  # channel, level, variable type, clean values (the variable's two states)
    (GaussianChannel(a=0.7), 0.8, "spin", (-1, 1)),
    (GaussianChannel(a=1.3), 2.0, "binary", (0, 1)),
    (GaussianChannel(a=1.3, encode_binary_as_spin=True), 2.0, "binary", (0, 1)),
    (BitFlipChannel(), 0.13, "spin", (-1, 1)),
    (BitFlipChannel(), 0.13, "binary", (0, 1)),
]


@pytest.mark.parametrize("channel,level,kind,states", SPIN_CASES)
def test_site_field_and_log_ratio_are_the_likelihood(channel, level, kind, states):
    """``P(y | u) ∝ exp(h u)`` with u = +1 for x = 1 (spins) or x = 0 (bits): 2 h is the log-likelihood ratio of
    the two states computed from :meth:`log_likelihood`; for bits the log ratio of x = 1 over x = 0 is -2 h and
    the normalised likelihood its expit."""
    plus, minus = (1, -1) if kind == "spin" else (0, 1)
    x = np.array([states[0], states[1]] * 50).reshape(100, 1, 1, 1)
    y = channel.corrupt(x, level, seed=5, variable_type=kind).reshape(-1)
    two_states = channel.channel_input(np.array([[plus], [minus]]), kind)
    h = channel.spin_field(y, level, kind)
    ll = np.array([channel.log_likelihood(two_states, np.array([v]), level) for v in y])
    np.testing.assert_allclose(2 * h, ll[:, 0] - ll[:, 1], rtol=1e-12, atol=1e-12)
    if kind == "binary":
        llr = channel.binary_log_likelihood_ratio(y, level)
        np.testing.assert_allclose(llr, -2 * h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(channel.binary_likelihood(y, level), expit(llr), rtol=1e-12)


def test_spin_fields_and_gains():
    """``a y / s^2`` (Gaussian) and ``atanh(1 - 2p) y`` (bit flip), +-inf at p = 0; the learned denoisers' gain is
    the same factor, capped for bit flip."""
    y = np.array([-1.0, 1.0])
    a, s = GaussianChannel(a=2.0).amplitudes(3.0)
    np.testing.assert_allclose(GaussianChannel(a=2.0).spin_field(y, 3.0, "spin"), a * y / s**2)
    assert GaussianChannel(a=2.0).spin_field_gain(3.0) == pytest.approx(a / s**2)
    np.testing.assert_allclose(BitFlipChannel().spin_field(y, 0.1, "spin"), y * np.arctanh(0.8))
    assert BitFlipChannel().spin_field_gain(0.1) == pytest.approx(np.arctanh(0.8), rel=1e-14)
    assert list(BitFlipChannel().spin_field(np.array([0, 1]), 0.0, "binary")) == [np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"\+-1"):
        BitFlipChannel().spin_field(np.array([0.0]), 0.1, "spin")
    with pytest.raises(ValueError, match="0/1"):
        BitFlipChannel().binary_likelihood(np.array([0.5]), 0.1)


def test_variable_types_and_encodings():
    """Which data each channel takes, and the spin encoding of the learned denoisers."""
    plain, encoding, bit = GaussianChannel(), GaussianChannel(encode_binary_as_spin=True), BitFlipChannel()
    table = {kind: (plain.spin_encodes(kind), encoding.spin_encodes(kind), bit.spin_encodes(kind))
             for kind in ("spin", "binary")}
    assert table == {"spin": (False, False, False), "binary": (False, True, True)}
    assert [plain.supports(k) for k in ("real", "spin", "binary")] == [True, True, True]
    assert [encoding.supports(k) for k in ("real", "spin", "binary")] == [False, False, True]
    assert [bit.supports(k) for k in ("real", "spin", "binary")] == [False, True, True]
    with pytest.raises(ValueError, match="encode_binary_as_spin=False"):
        encoding.check_variable_type("spin")
    with pytest.raises(ValueError, match="got real data"):
        bit.check_variable_type("real")
    np.testing.assert_array_equal(bit.encode_observation(np.array([0, 1]), "binary"), [1.0, -1.0])
    np.testing.assert_array_equal(bit.encode_observation(np.array([-1, 1]), "spin"), [-1.0, 1.0])
    assert plain.additive_gaussian and not bit.additive_gaussian and bit.discrete_observations
    with pytest.raises(NotImplementedError, match="not additive Gaussian"):
        bit.amplitudes(0.1)


@pytest.mark.parametrize("channel,level,kind", [(GaussianChannel(a=0.7), 0.8, "spin"), (GaussianChannel(), 1.5, "real"),
                                                (GaussianChannel(encode_binary_as_spin=True), 2.0, "binary"),
                                                (BitFlipChannel(), 0.2, "binary"), (BitFlipChannel(), 0.3, "spin")])
def test_encoded_moments_match_monte_carlo(channel, level, kind):
    """Mean and variance of the encoded observation, and E[y u] = g E[u^2], against simulation (5 standard errors)."""
    rng = np.random.default_rng(7)
    n = 100_000
    if kind == "real":
        x = rng.normal(0.4, 1.2, n)
    else:
        x = (rng.random(n) < 0.7).astype(np.int8)
        x = 2 * x - 1 if kind == "spin" else x
    u = 1.0 - 2.0 * x if channel.spin_encodes(kind) else x.astype(float)
    y = channel.encode_observation(channel.corrupt(x.reshape(n, 1, 1, 1), level, seed=8, variable_type=kind), kind)
    y = y.reshape(n)
    mean, var = channel.encoded_noisy_moments(level, u.mean(), u.std(), (u * u).mean())
    assert abs(y.mean() - mean) < 5 * y.std() / math.sqrt(n)
    assert abs(y.var() - var) < 5 * np.sqrt(((y - y.mean()) ** 2).var() / n)
    yu = y * u
    assert abs(yu.mean() - channel.encoded_gain(level) * (u * u).mean()) < 5 * yu.std() / math.sqrt(n)


@pytest.mark.parametrize("channel,levels", [(GaussianChannel(a=0.7), [0.5, 4.0]), (BitFlipChannel(), [0.05, 0.3])])
def test_torch_corruption_is_the_channel_at_each_blocks_level(channel, levels):
    """Block i of the rows is corrupted at levels[i]: flip rate p, or y - a u with variance s^2 (5 standard errors)."""
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    u = torch.ones((2 * 20_000, 1, 1, 1), dtype=torch.float64)
    y = channel.corrupt_torch(u, levels, gen).reshape(2, -1).numpy()
    for block, level in zip(y, levels):
        if channel.discrete_observations:
            rate, n = (block == -1).mean(), block.size
            assert abs(rate - level) < 5 * math.sqrt(level * (1 - level) / n)
        else:
            a, s = channel.amplitudes(level)
            noise = block - a
            assert abs(noise.var() - s * s) < 5 * s * s * math.sqrt(2 / noise.size)


def test_level_feature_and_single_site_mmse():
    assert GaussianChannel().level_feature(2.0) == pytest.approx(math.log(2.0))
    assert GaussianChannel().level_feature(1e-9) == -12.0
    assert BitFlipChannel().level_feature(0.1) == pytest.approx(math.atanh(0.8))
    assert BitFlipChannel().level_feature(0.0) == 12.0
    assert BitFlipChannel().single_site_mmse(0.1) == pytest.approx(4 * 0.1 * 0.9)


# -- no class checks on channels outside channels.py ---------------------------------------------

def channel_class_names() -> set:
    tree = ast.parse(CHANNELS_FILE.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def channel_class_checks(source: str, classes: set) -> list:
    """Line numbers of ``isinstance`` / ``issubclass`` calls whose class argument names one of ``classes``
    (a bare name, an attribute such as ``channels.GaussianChannel``, or inside a tuple)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
            continue
        targets = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
        names = {t.id if isinstance(t, ast.Name) else t.attr for t in targets if isinstance(t, (ast.Name, ast.Attribute))}
        if names & classes:
            lines.append(node.lineno)
    return sorted(lines)


def test_the_class_check_finder_finds_class_checks():
    classes = channel_class_names()
    assert {"NoiseChannel", "GaussianChannel", "BitFlipChannel"} <= classes
    source = """
if isinstance(channel, GaussianChannel):
    pass
ok = isinstance(channel, str) or isinstance(x, (int, channels.BitFlipChannel))
sub = issubclass(type(channel), NoiseChannel)
"""
    assert channel_class_checks(source, classes) == [2, 4, 5]
    assert channel_class_checks("isinstance(channel, str)\nchannel.supports('spin')", classes) == []


def test_no_channel_class_checks_outside_channels_py():
    classes = channel_class_names()
    found = {}
    for folder in ("lattice_models", "denoisers", "suites", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == CHANNELS_FILE:
                continue
            lines = channel_class_checks(path.read_text(), classes)
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    assert not found, f"class checks on channels (make them NoiseChannel methods): {found}"
