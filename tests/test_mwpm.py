"""mwpm: minimum-weight perfect matching decoder for bit-flip-corrupted loop configurations."""

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, make_family
from phasebench.denoisers.mwpm import torus_check_matrix
from phasebench.lattice_models import BitFlipChannel, GaussianChannel, NoiseChannel, make_model
from phasebench.lattice_models.exact import toric_bruteforce as bf
from phasebench.lattice_models.toric_loops import vertex_parity

MODEL = make_model("toric_loops")
BITFLIP = BitFlipChannel()


def fitted(L=5):
    return make_family("mwpm").fit(MODEL.sample(4, L, seed=0), BITFLIP, [0.05], model=MODEL)


def test_registered_metadata():
    assert "mwpm" in DENOISERS
    d = DENOISERS.get("mwpm").describe_family()
    assert d["trainable"] is False and d["models"] == ["toric_loops"]
    assert make_family("mwpm").radius is None


def test_check_matrix_is_the_vertex_incidence():
    for L in (3, 4, 6):
        assert np.array_equal(torus_check_matrix(L).toarray(), bf.vertex_incidence(L))


@pytest.mark.parametrize("L", [4, 5])
def test_corrects_every_single_flip(L):
    fam = fitted(L)
    x = MODEL.sample(1, L, seed=L)
    y = np.repeat(x, 2 * L * L, axis=0)
    y.reshape(2 * L * L, -1)[np.arange(2 * L * L), np.arange(2 * L * L)] ^= 1
    out = fam.denoise(y, 0.05)
    assert out.dtype == np.float64
    assert np.array_equal(out, np.broadcast_to(x, y.shape).astype(float))


def test_output_is_always_a_cycle_configuration():
    fam = fitted(8)
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(50, 2, 8, 8)).astype(np.int8)  # arbitrary, mostly invalid
    out = fam.denoise(y, 0.3).astype(np.int8)
    assert vertex_parity(y).any() and not vertex_parity(out).any()
    for p in (0.0, 0.5):  # degenerate weights fall back to unit weights
        assert not vertex_parity(fam.denoise(y, p).astype(np.int8)).any()


def test_valid_input_is_unchanged():
    fam = fitted(6)
    x = MODEL.sample(20, 6, seed=2)
    assert np.array_equal(fam.denoise(x, 0.1), x.astype(float))


class OtherChannel(NoiseChannel):
    name = "other"

    def validate_level(self, level):
        return float(level)


def test_gaussian_channel_soft_weights():
    L = 6
    gauss = GaussianChannel(encode_binary_as_spin=True)
    fam = make_family("mwpm").fit(MODEL.sample(2, L, seed=0), gauss, [1.0], model=MODEL)
    x = MODEL.sample(30, L, seed=3)
    y = gauss.corrupt(x, 0.8, seed=4)
    out = fam.denoise(y, 0.8).astype(np.int8)
    assert not vertex_parity(out).any()
    # noiseless signal except two weak wrong-sign edges h[i, j], v[i, j+1]: a corner whose
    # two shortest repairs tie under unit weights; the soft weights pick the weak edges
    weak = 1.0 - 2.0 * x
    i, j = np.arange(30) % L, (np.arange(30) // L) % L
    weak[np.arange(30), 0, i, j] *= -0.1
    weak[np.arange(30), 1, i, (j + 1) % L] *= -0.1
    assert np.array_equal(fam.denoise(weak, 1.0), x.astype(float))


def test_bad_inputs():
    with pytest.raises(ValueError, match="radius must be None"):
        make_family("mwpm", radius=2)
    with pytest.raises(ValueError, match="needs a channel on binary variables"):
        make_family("mwpm").fit(MODEL.sample(2, 4, seed=0), OtherChannel(), [1.0], model=MODEL)
    with pytest.raises(ValueError, match="does not support model"):
        make_family("mwpm").fit(np.zeros((2, 1, 4, 4)), BITFLIP, [0.1], model=make_model("gff"))
    fam = fitted(4)
    with pytest.raises(ValueError, match="binary"):
        fam.denoise(np.full((1, 2, 4, 4), 0.5), 0.1)
    with pytest.raises(ValueError, match="p must be in"):
        fam.denoise(MODEL.sample(1, 4, seed=0), 0.9)
