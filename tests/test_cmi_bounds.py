"""The recovery bound 2 TV^2 <= I(A:C|B) (Hu et al.), the I-MMSE endpoint, and the MINE baseline's pieces."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from phasebench.lattice_models import GaussianChannel
from phasebench.lattice_models.exact.toric_global import all_cycles
from phasebench.suites.cmi import mine, recovery_bound as rb, toric_exact as te

MASS_SQ = 0.25


def test_gaussian_tv_matches_the_equal_variance_closed_form():
    d = np.array([-1.5, -0.2, 0.0, 0.3, 2.0])
    assert rb.gaussian_tv(d, 1.3, 1.3) == pytest.approx(2 * norm.cdf(np.abs(d) / (2 * math.sqrt(1.3))) - 1, abs=1e-6)
    with pytest.raises(ValueError, match="variances"):
        rb.gaussian_tv(d, 0.0, 1.0)


@pytest.mark.parametrize("lam", [0.1, 1.0, 10.0])
def test_gff_bound_holds_and_the_excess_is_the_immse_endpoint(lam):
    a, s = GaussianChannel().amplitudes(lam)
    for r in (1, 2, 3):
        b = rb.gff_bound(16, MASS_SQ, a, s, r)
        assert b["excess"] == pytest.approx(b["immse_endpoint"], rel=1e-8)
        assert 0 < b["two_tv_squared"] <= b["cmi"]
        # small conditional shifts: TV = E|d| / (sigma sqrt(2 pi)), I = E d^2 / (2 sigma^2), so 2 TV^2 / I -> 4 / pi^2
        assert b["two_tv_squared"] / b["cmi"] == pytest.approx(4 / math.pi ** 2, abs=0.01)


@pytest.mark.parametrize("p", [0.05, 0.2])
def test_toric_tv_is_the_distance_to_the_petz_recovery_of_the_joint_law(p):
    """L = 2, r = 0: sum_y P(y) |P(y_A | y_BC) - P(y_A | y_B)| = TV(p_ABC, p_{A|B} p_BC) of the enumerated law."""
    L, m = 2, 8
    codes = np.arange(1 << m)
    y = ((codes[:, None] >> np.arange(m)) & 1).astype(np.int8).reshape(-1, 2, L, L)
    cycles = all_cycles(L).reshape(-1, m)
    flips = (y.reshape(len(y), 1, -1) ^ cycles[None]).sum(axis=2)
    pmf = (p ** flips * (1 - p) ** (m - flips)).mean(axis=1)
    kl, tv = te.per_config_cmi(y, p, [0], with_tv=True)
    a, b = 0, 4  # flat indices of h(0,0) (A) and v(0,0) (B)
    bits = y.reshape(len(y), m)
    p_b = np.bincount(bits[:, b], weights=pmf)
    p_ab = np.bincount(2 * bits[:, a] + bits[:, b], weights=pmf)
    rest = bits.copy()
    rest[:, a] = 0
    p_bc = np.unique(rest @ (1 << np.arange(m)), return_inverse=True)[1]
    p_bc = np.bincount(p_bc, weights=pmf)[p_bc]
    recovered = p_ab[2 * bits[:, a] + bits[:, b]] / p_b[bits[:, b]] * p_bc
    joint_tv = 0.5 * np.abs(pmf - recovered).sum()
    assert pmf @ tv[:, 0] == pytest.approx(joint_tv, rel=1e-10)
    assert 2 * joint_tv ** 2 <= pmf @ kl[:, 0]


def test_mine_window_columns_pick_the_window_around_a():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 9, 9))
    a, rest = mine.site_pairs(y, 2, seed=1)
    cols = mine.window_columns(9, 1)
    assert len(cols) == 8 and rest.shape == (6, 80)
    # the 8 neighbours of A sum to the 3x3 box sum minus A, for every (configuration, site) draw
    box = sum(np.roll(y, (-di, -dj), axis=(1, 2)) for di in (-1, 0, 1) for dj in (-1, 0, 1))
    found = [np.isclose(box, a_k + rest_k[cols].sum()).any() for a_k, rest_k in zip(a, rest)]
    assert all(found)


def test_dv_bound_recovers_the_mutual_information_of_a_correlated_pair():
    rng = np.random.default_rng(3)
    rho = 0.8
    u = rng.standard_normal(6000)
    v = rho * u + math.sqrt(1 - rho ** 2) * rng.standard_normal(6000)
    est = mine.dv_mutual_information(u, v, split=0.7, seed=0, steps=150)
    assert est == pytest.approx(-0.5 * math.log(1 - rho ** 2), abs=0.12)  # 0.51 nats; held-out noise about 0.03
