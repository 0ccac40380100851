"""Exact 2D Ising theory: Kaufman's finite torus vs brute force, closed forms, Onsager."""

import math

import pytest

from phasebench.lattice_models.exact import ising_exact as ex

TEMPERATURES = [0.5, 1.0, 2.0, ex.T_CRITICAL, 2.5, 3.0, 10.0]


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("T", TEMPERATURES)
def test_kaufman_matches_brute_force(L, T):
    bf = ex.brute_force(L, T)
    assert ex.kaufman_log_partition(T, L) == pytest.approx(bf["log_z"], rel=1e-13, abs=1e-13)
    assert ex.kaufman_energy_per_site(T, L) == pytest.approx(bf["energy"], rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("T", TEMPERATURES)
def test_two_by_two_closed_forms(T):
    K = 1.0 / T
    bf = ex.brute_force(2, T)
    assert bf["log_z"] == pytest.approx(math.log(4 * math.cosh(8 * K) + 12), rel=1e-14)
    assert bf["m2"] == pytest.approx(0.5 * (math.exp(8 * K) + 1) / (math.cosh(8 * K) + 3), rel=1e-13)
    # energy from the closed form: -(1/4) d/dK ln(4 cosh 8K + 12)
    assert bf["energy"] == pytest.approx(-8 * math.sinh(8 * K) / (4 * math.cosh(8 * K) + 12), rel=1e-13)


def test_kaufman_rectangular_torus_matches_brute_force_by_symmetry():
    # an m x n torus and its n x m transpose have the same Z
    for T in (1.5, 3.0):
        assert ex.kaufman_log_partition(T, 3, 5) == pytest.approx(ex.kaufman_log_partition(T, 5, 3), rel=1e-13)


def test_kaufman_sign_of_gamma0_matters_above_tc():
    # above T_c, gamma_0 = 2(K - K*) < 0: an unsigned gamma_0 would flip the sign of one
    # sinh product; brute force on 4x4 distinguishes the two at T = 3
    import mpmath

    with mpmath.workdps(30):
        K = mpmath.mpf(1) / 3
        Ks = mpmath.atanh(mpmath.exp(-2 * K))
        assert 2 * (K - Ks) < 0
    assert ex.kaufman_log_partition(3.0, 4) == pytest.approx(ex.brute_force(4, 3.0)["log_z"], rel=1e-13)


def test_onsager_values():
    assert ex.T_CRITICAL == pytest.approx(2.269185314213022, rel=1e-15)
    assert math.tanh(1 / ex.T_CRITICAL) == pytest.approx(math.sqrt(2) - 1, rel=1e-14)
    assert ex.onsager_spontaneous_magnetisation(ex.T_CRITICAL) == 0.0
    assert ex.onsager_spontaneous_magnetisation(3.0) == 0.0
    assert ex.onsager_spontaneous_magnetisation(2.0) == pytest.approx(0.911319377877496, rel=1e-12)
    assert 0 < ex.onsager_spontaneous_magnetisation(ex.T_CRITICAL - 1e-6) < 0.2
    assert ex.onsager_energy_per_site(ex.T_CRITICAL) == pytest.approx(-math.sqrt(2), abs=1e-12)


def test_kaufman_approaches_onsager_energy():
    # off criticality the finite-size correction is exponentially small
    assert ex.kaufman_energy_per_site(2.0, 64) == pytest.approx(ex.onsager_energy_per_site(2.0), abs=1e-10)
    assert ex.kaufman_energy_per_site(3.0, 64) == pytest.approx(ex.onsager_energy_per_site(3.0), abs=1e-10)
    # at T_c: u_L = -sqrt 2 - 0.622 / L + O(1/L^2) (docs/physics.md, section 2)
    for L in (64, 128):
        assert L * (ex.kaufman_energy_per_site(ex.T_CRITICAL, L) + math.sqrt(2)) == pytest.approx(-0.622, abs=0.005)


@pytest.mark.parametrize("T", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_temperature(T):
    with pytest.raises(ValueError, match="T"):
        ex.brute_force(2, T)
    with pytest.raises(ValueError, match="T"):
        ex.kaufman_energy_per_site(T, 4)


def test_bad_sizes():
    with pytest.raises(ValueError, match="L"):
        ex.brute_force(5, 2.0)
    with pytest.raises(ValueError, match="m"):
        ex.kaufman_log_partition(2.0, 1)
