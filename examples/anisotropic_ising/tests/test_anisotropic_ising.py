"""Oracle tests of the anisotropic Ising plugin: exact T_c, brute-force enumeration, the isotropic limit.

Sampled means are compared with exact values within 4 of the model's own (autocorrelation-corrected)
standard errors; the seeds are fixed, so each test is deterministic.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anisotropic_ising import AnisotropicIsing, exact, swendsen_wang
from phasebench.lattice_models.exact import ising_exact
from phasebench.lattice_models.kernels import ising_cluster
from phasebench.lattice_models.kernels.counter_rng import chain_keys

Z_MAX = 4.0
ONSAGER_TC = 2.0 / math.log(1.0 + math.sqrt(2.0))


# -- the declared transition ------------------------------------------------------------------------
@pytest.mark.parametrize("J", [0.3, 1.0, 2.5])
def test_isotropic_limit_is_onsager(J):
    assert exact.critical_temperature(J, J) == pytest.approx(J * ONSAGER_TC, rel=1e-14)
    assert exact.critical_temperature(J, J * (1 + 1e-9)) == pytest.approx(J * ONSAGER_TC, rel=1e-8)


@pytest.mark.parametrize("jx, jy", [(1.0, 0.5), (1.0, 0.1), (0.7, 3.0), (2.0, 1.9)])
def test_critical_point_is_self_dual(jx, jy):
    """Kramers-Wannier maps (K_x, K_y) to itself exactly on the critical line, and nowhere else on the ray."""
    tc = exact.critical_temperature(jx, jy)
    kx, ky = jx / tc, jy / tc
    assert kramers_wannier_gap(kx, ky) < 1e-12
    for T in (0.9 * tc, 1.1 * tc):  # duality maps high T to low T: off T_c the couplings move
        assert kramers_wannier_gap(jx / T, jy / T) > 1e-2
    assert exact.critical_temperature(jy, jx) == pytest.approx(tc, rel=1e-14)  # x <-> y symmetry
    assert exact.critical_temperature(3 * jx, 3 * jy) == pytest.approx(3 * tc, rel=1e-13)  # T_c scales with J


def kramers_wannier_gap(kx, ky):
    dx, dy = exact.kramers_wannier_dual(kx, ky)
    return max(abs(dx - kx), abs(dy - ky))


def test_declared_transition_and_bad_couplings():
    (t,) = AnisotropicIsing(Jx=1.0, Jy=0.5).transitions()
    assert t.axis == "T" and t.channel is None and t.scored and not t.along_noise
    assert t.value == exact.critical_temperature(1.0, 0.5)
    assert (t.crossing_exponent, t.nu) == (0.25, 1.0)  # 2D Ising class: 2 beta / nu = 1/4
    with pytest.raises(ValueError, match="Jy"):
        AnisotropicIsing(Jx=1.0, Jy=-0.5)
    with pytest.raises(ValueError, match="Jx"):
        exact.critical_temperature(0.0, 1.0)


# -- exact enumeration ----------------------------------------------------------------------------
@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("J, T", [(1.0, 1.7), (0.5, 2.4)])
def test_brute_force_isotropic_limit(L, J, T):
    """At J_x = J_y = J the model is phasebench's Ising model at T / J, energies scaled by J."""
    ours = exact.brute_force(L, J, J, T)
    iso = ising_exact.brute_force(L, T / J)
    assert ours["energy"] == pytest.approx(J * iso["energy"], rel=1e-12)
    assert ours["m2"] == pytest.approx(iso["m2"], rel=1e-12)
    assert ours["abs_m"] == pytest.approx(iso["abs_m"], rel=1e-12)


def test_brute_force_swapping_couplings_is_a_transpose():
    a, b = exact.brute_force(3, 1.0, 0.3, 1.1), exact.brute_force(3, 0.3, 1.0, 1.1)
    assert a == pytest.approx(b, rel=1e-12)
    assert exact.brute_force(3, 1.0, 0.3, 1.1)["m2"] != pytest.approx(exact.brute_force(3, 1.0, 0.6, 1.1)["m2"])


# -- the sampler ------------------------------------------------------------------------------------
def test_kernel_equals_phasebench_swendsen_wang_at_equal_couplings():
    """The same counter layout as the isotropic kernel: equal couplings give the same bits."""
    L, n_chains, K = 6, 3, 1 / 2.3
    rng = np.random.default_rng(0)
    start = np.where(rng.random((n_chains, L, L)) < 0.5, 1, -1).astype(np.int8)
    keys = chain_keys(5, n_chains)
    ours, theirs = start.copy(), start.copy()
    c1, c2 = np.zeros(n_chains, np.uint64), np.zeros(n_chains, np.uint64)
    e1, m1 = np.zeros((n_chains, 7)), np.zeros((n_chains, 7))
    e2, m2 = np.zeros((n_chains, 7), np.int64), np.zeros((n_chains, 7), np.int64)
    none = np.zeros((n_chains, 0, L, L), np.int8)
    thr = swendsen_wang.bond_threshold(K)
    swendsen_wang.run_chains(ours, keys, c1, thr, thr, 1.0, 1.0, 7, 1, none, e1, m1)
    ising_cluster.run_cluster_chains(theirs, keys, c2, ising_cluster.bond_threshold(K), 0, 7, 1, none, e2, m2)
    assert np.array_equal(ours, theirs) and np.array_equal(c1, c2)
    assert np.array_equal(e1 * L * L, e2) and np.array_equal(m1 * L * L, m2)
    assert not np.array_equal(ours, start)


@pytest.mark.parametrize("L, jx, jy, T", [(4, 1.0, 0.5, 1.2), (4, 1.0, 0.5, 1.6410), (4, 1.0, 0.5, 2.3),
                                          (3, 0.4, 1.3, 1.5)])
def test_sampled_means_match_enumeration(L, jx, jy, T):
    model = AnisotropicIsing(Jx=jx, Jy=jy, T=T)
    obs = model.observables(model.sample(4000, L, seed=11))
    ref = exact.brute_force(L, jx, jy, T)
    for name in ("energy", "m2"):
        mean, err = obs[name]
        assert abs(mean - ref[name]) < Z_MAX * err, (name, mean, err, ref[name])


def test_isotropic_sampler_matches_kaufman_beyond_enumeration():
    """L = 8 at J_x = J_y = 1: the sampled energy against Kaufman's exact finite-torus value."""
    T, L = 2.4, 8
    model = AnisotropicIsing(Jx=1.0, Jy=1.0, T=T)
    mean, err = model.observables(model.sample(3000, L, seed=3))["energy"]
    assert abs(mean - ising_exact.kaufman_energy_per_site(T, L)) < Z_MAX * err


def test_m2_crossing_brackets_declared_tc():
    """<m^2> L^(1/4) at L = 8 and 16: the larger lattice is above below T_c, below above it, and level with
    it at the declared T_c (measured: 17 and 14 standard errors apart at 0.93 and 1.07 T_c, 0.7 at T_c;
    3% off T_c they are already 5 to 8 apart)."""
    tc = AnisotropicIsing(Jx=1.0, Jy=0.4).transitions()[0].value
    for side, T in ((+1, 0.93 * tc), (0, tc), (-1, 1.07 * tc)):
        model = AnisotropicIsing(Jx=1.0, Jy=0.4, T=T)
        scaled = {L: np.array(model.observables(model.sample(2000, L, seed=L))["m2"]) * L**0.25 for L in (8, 16)}
        z = (scaled[16][0] - scaled[8][0]) / math.hypot(scaled[8][1], scaled[16][1])
        assert (side * z > Z_MAX) if side else (abs(z) < Z_MAX), (T, scaled)


def test_same_seed_same_bytes_under_any_thread_count():
    model = AnisotropicIsing(Jx=1.0, Jy=0.5, T=1.6)
    a = model.sample(50, 6, seed=9)
    assert np.array_equal(a, model.sample(50, 6, seed=9))
    assert not np.array_equal(a, model.sample(50, 6, seed=10))
    code = ("import sys, numpy as np; from anisotropic_ising import AnisotropicIsing;"
            "sys.stdout.buffer.write(AnisotropicIsing(Jx=1.0, Jy=0.5, T=1.6).sample(50, 6, seed=9).tobytes())")
    path = os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])
    one_thread = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                                env={**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": path}).stdout
    assert one_thread == a.tobytes()


def test_bad_sampler_options_are_named():
    model = AnisotropicIsing()
    with pytest.raises(ValueError, match="algorithm"):
        model.sample(10, 4, seed=0, algorithm="wolff")
    with pytest.raises(ValueError, match="n_chains"):
        model.sample(10, 4, seed=0, n_chains=1)
