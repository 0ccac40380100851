"""The perturbation audit: every finite-radius family passes; leaky families are caught."""

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, DenoiserFamily, make_family
from phasebench.denoisers.locality import audit_locality
from phasebench.lattice_models import GaussianChannel, make_model

L = 12


@pytest.fixture(scope="module")
def data():
    m = make_model("gff", m=0.5)
    x = m.sample(64, L, seed=0)
    y = GaussianChannel().corrupt(m.sample(1, L, seed=1), 1.0, seed=2)
    return m, x, y


def _families_for_gff():
    m = make_model("gff", m=0.5)
    return [n for n in DENOISERS.names() if DENOISERS.get(n).supports(m) and DENOISERS.get(n).local_members]


@pytest.mark.parametrize("name", _families_for_gff())
@pytest.mark.parametrize("r", [0, 1, 3])
def test_every_registered_family_passes_the_audit(data, name, r):
    m, x, y = data
    fam = make_family(name, r).fit(x, GaussianChannel(), [1.0], seed=0, budget=2.0, model=m)
    rep = audit_locality(fam, y, 1.0, n_sites=3, seed=r)
    assert rep.passed, rep.message
    assert rep.max_outside_change <= 1e-9 * (1 + np.abs(fam.denoise(y, 1.0)).max())
    assert rep.uses_full_radius


class LeakyMean(DenoiserFamily):
    """Claims radius 1 but adds the lattice mean: global information leaks in."""

    name = "leaky-mean"

    def _fit(self, clean_train, channel, levels, seed, budget, model):
        pass

    def _denoise(self, y, level):
        return 0.5 * y + 0.01 * y.mean(axis=(2, 3), keepdims=True)


class Deaf(DenoiserFamily):
    name = "deaf"

    def _fit(self, *a):
        pass

    def _denoise(self, y, level):
        return np.zeros_like(y, dtype=float)


class TooWide(DenoiserFamily):
    """Claims radius 1, uses radius 2."""

    name = "too-wide"

    def _fit(self, *a):
        pass

    def _denoise(self, y, level):
        return np.roll(y, 2, axis=-1).astype(float)


def test_leaky_family_is_caught(data):
    m, x, y = data
    rep = audit_locality(LeakyMean(1).fit(x, GaussianChannel(), [1.0]), y, 1.0)
    assert not rep.passed and "outside the window" in rep.message


def test_family_using_a_wider_window_is_caught(data):
    m, x, y = data
    assert not audit_locality(TooWide(1).fit(x, GaussianChannel(), [1.0]), y, 1.0).passed


def test_family_ignoring_its_input_is_caught(data):
    m, x, y = data
    rep = audit_locality(Deaf(1).fit(x, GaussianChannel(), [1.0]), y, 1.0)
    assert not rep.passed and "did not react" in rep.message


def test_global_family_has_nothing_to_audit(data):
    m, x, y = data
    rep = audit_locality(make_family("exact", None).fit(x, GaussianChannel(), [1.0], model=m), y, 1.0)
    assert rep.passed and "global" in rep.message


def test_discrete_inputs_are_flipped(data):
    spins = np.where(np.random.default_rng(0).random((32, 1, L, L)) < 0.5, -1, 1).astype(np.int8)
    from phasebench.lattice_models import BitFlipChannel

    fam = make_family("linear", 2).fit(spins, BitFlipChannel(), [0.1])
    y = BitFlipChannel().corrupt(spins[:1], 0.1, seed=0)
    rep = audit_locality(fam, y, 0.1)
    assert rep.passed, rep.message


class Saturating(DenoiserFamily):
    """A radius-1 estimate that saturates: clip(100 * (window sum + 3), -1, 1) ignores most small
    perturbations (as a clipped posterior mean deep in an ordered phase does), not a negated window."""

    name = "saturating"

    def _fit(self, *a):
        pass

    def _denoise(self, y, level):
        total = sum(np.roll(y, (d1, d2), axis=(-2, -1)) for d1 in (-1, 0, 1) for d2 in (-1, 0, 1))
        return np.clip(100.0 * (total + 3.0), -1.0, 1.0)


def test_saturated_but_local_family_passes(data):
    m, x, y = data
    fam = Saturating(1).fit(x, GaussianChannel(), [1.0])
    yy = np.abs(y) + 1.0  # every window sum is large and positive: the output is pinned at +1
    rep = audit_locality(fam, yy, 1.0, n_sites=3)
    assert rep.passed, rep.message
