"""GFF model: validation, exact FFT sampler against the dense covariance, zero mode."""

import numpy as np
import pytest

from phasebench.lattice_models import make_model
from phasebench.lattice_models.exact import gff_theory as g


def test_mass_is_validated_with_range_in_message():
    with pytest.raises(ValueError, match=r"'m'.*\[0, inf\]"):
        make_model("gff", m=-0.1)
    with pytest.raises(ValueError, match="no parameter"):
        make_model("gff", mass=1.0)


def test_sample_shape_dtype_and_seed():
    m = make_model("gff", m=0.5)
    a = m.sample(4, 8, seed=3)
    assert a.shape == (4, 1, 8, 8) and a.dtype == np.float64
    np.testing.assert_array_equal(a, m.sample(4, 8, seed=3))
    assert not np.array_equal(a, m.sample(4, 8, seed=4))
    with pytest.raises(ValueError, match="L must be"):
        m.sample(2, 1, 0)
    with pytest.raises(ValueError, match="n must be"):
        m.sample(0, 8, 0)


@pytest.mark.parametrize("mass", [0.5, 0.0])
def test_empirical_covariance_matches_dense_exact(mass):
    """Every entry of the empirical covariance within 4.5 standard errors (Gaussian 4th moments)."""
    L, n = 4, 40000
    x = make_model("gff", m=mass).sample(n, L, seed=11).reshape(n, -1)
    emp = x.T @ x / n
    G = g.torus_green(L, mass * mass)
    i1, i2 = np.divmod(np.arange(L * L), L)
    exact = G[(i1[:, None] - i1[None]) % L, (i2[:, None] - i2[None]) % L]
    se = np.sqrt((exact**2 + np.outer(np.diag(exact), np.diag(exact))) / n)
    z = np.abs(emp - exact) / se
    assert z.max() < 4.5, z.max()
    if mass == 0.0:  # zero mode projected out: every sample sums to zero
        np.testing.assert_allclose(x.sum(axis=1), 0.0, atol=1e-9)


def test_observables_agree_with_exact():
    m = make_model("gff", m=0.5)
    obs = m.observables(m.sample(2000, 16, seed=5))
    exact = m.exact_observables(16)
    for k, (mean, se) in obs.items():
        assert abs(mean - exact[k]) < 4 * se, (k, mean, exact[k], se)


def test_transitions_are_empty_and_markov_length_finite():
    from phasebench.lattice_models import GaussianChannel

    m = make_model("gff", m=0.5)
    assert m.transitions() == []
    for lam in (1e-3, 1.0, 1e3):
        xi = m.markov_length(GaussianChannel(), lam)
        assert 0 < xi <= 1 / (2 * np.arccosh(1 + 0.25 / 2))
