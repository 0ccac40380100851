"""toric_loops at loop weight x < 1: the loop-gas heat-bath sampler against exact enumeration.

Oracles: the cycle space of the L x L torus enumerated by
:func:`phasebench.lattice_models.exact.toric_global.all_cycles` and weighted by ``x^{#edges}``
(L = 2, 3, 4), and the dual Ising model by :func:`phasebench.lattice_models.exact.ising_exact.brute_force`.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import chi2

from phasebench.lattice_models import make_model
from phasebench.lattice_models.exact.ising_exact import brute_force
from phasebench.lattice_models.exact.toric_global import all_cycles
from phasebench.lattice_models.mcmc_stats import mean_and_error
from phasebench.lattice_models.toric_loops import X_CRITICAL, homology_parities, vertex_parity


def config_keys(x):
    """Integer key of each configuration (n, 2, L, L) -> (n,)."""
    flat = np.asarray(x).reshape(len(x), -1).astype(np.int64)
    return flat @ (1 << np.arange(flat.shape[1], dtype=np.int64))


def exact_weights(L, x):
    """All cycles (sorted by key), their keys and probabilities ``x^n / Z``."""
    cycles = all_cycles(L)
    keys = config_keys(cycles)
    order = np.argsort(keys)
    cycles, keys = cycles[order], keys[order]
    n_occ = cycles.reshape(len(cycles), -1).sum(axis=1)
    w = float(x) ** n_occ
    return cycles, keys, w / w.sum()


def pooled_chi_square(counts, expected, min_expected=5.0):
    """Chi-square statistic and degrees of freedom, pooling all bins with expected < min_expected."""
    small = expected < min_expected
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0.0:
        obs, exp = obs[:-1], exp[:-1]
    return float(((obs - exp) ** 2 / exp).sum()), len(exp) - 1


def test_parity_on_every_sample_and_diagnostics():
    m = make_model("toric_loops", x=0.6)
    assert m.sampler_name == "loop-gas-heatbath"
    for L in (2, 3, 5, 6):
        x, diag = m.sample_with_diagnostics(300, L, seed=L, chains=16, thermalization=50, pilot_sweeps=100)
        assert x.dtype == np.int8 and x.shape == (300, 2, L, L) and np.isin(x, (0, 1)).all()
        assert not vertex_parity(x).any()
        m.validate_samples(x)
        assert diag["sector_weights"] == "exact in the MCMC limit (sampled by homology moves)"
        assert diag["spacing_sweeps"] >= 2 * diag["tau_int_sweeps"]
        assert diag["thermalization_sweeps"] == 50 and diag["chains"] == 16
    assert make_model("toric_loops").sampler_name == "plaquette-xor-exact"
    assert diag["warnings"] == []
    _, short = m.sample_with_diagnostics(8, 4, seed=0, chains=2, thermalization=0, pilot_sweeps=2)
    assert any("thermalization" in w for w in short["warnings"])


@pytest.mark.parametrize("L, x", [(2, 0.5), (3, 0.5), (2, 0.25), (3, 0.8)])
def test_distribution_matches_enumeration(L, x):
    cycles, keys, p = exact_weights(L, x)
    n = 50_000 if L == 2 else 100_000
    samples = make_model("toric_loops", x=x).sample(
        n, L, seed=100 + L, chains=500, thermalization=100, pilot_sweeps=100, spacing=10)
    k = config_keys(samples)
    pos = np.searchsorted(keys, k)
    assert (keys[np.minimum(pos, len(keys) - 1)] == k).all()  # every sample is a cycle
    counts = np.bincount(pos, minlength=len(keys)).astype(np.float64)
    stat, dof = pooled_chi_square(counts, n * p)
    assert dof >= 10
    assert stat < chi2.ppf(1 - 1e-3, dof), (stat, dof)
    # every homology sector is visited, with its exact weight (binomial 4 sigma)
    wx, wy = homology_parities(samples)
    ex, ey = homology_parities(cycles)
    for sector in range(4):
        q = p[(2 * ex + ey) == sector].sum()
        f = ((2 * wx + wy) == sector).mean()
        assert abs(f - q) < 4 * math.sqrt(q * (1 - q) / n) + 1e-12, (sector, f, q)


@pytest.mark.parametrize("x", [0.5, 0.3])
def test_mean_occupation_L4(x):
    L, chains, rounds = 4, 64, 300
    cycles, _, p = exact_weights(L, x)
    exact = float(p @ cycles.reshape(len(cycles), -1).mean(axis=1))
    samples, diag = make_model("toric_loops", x=x).sample_with_diagnostics(
        chains * rounds, L, seed=7, chains=chains, thermalization=200, pilot_sweeps=400)
    occ = samples.reshape(rounds, chains, -1).mean(axis=2, dtype=np.float64).T  # (chains, rounds)
    mean, err, tau = mean_and_error(occ)
    assert abs(mean - exact) < 4 * err, (mean, err, exact, tau, diag["spacing_sweeps"])


def test_dual_ising_correspondence_L4():
    """Mean occupation per edge = (1 - <s_i s_j>)/2 of the dual Ising model at e^{-2K*} = x.

    The periodic dual Ising model's domain walls are exactly the cycles of trivial homology
    (sector (0, 0)); the other sectors correspond to antiperiodic boundary conditions.  So we
    verify (a) exactly, by enumeration, that the sector-(0,0) occupation of the loop gas equals
    (1 - <s_i s_j>)/2 = (1 + e/2)/2 with e = <E>/N of the periodic brute-force Ising model at
    T = 1/K*, and (b) that the sampler's sector-(0,0) occupation (ratio estimator, chain
    jackknife error) agrees with it within 4 sigma.
    """
    L, x = 4, 0.5
    K_dual = -0.5 * math.log(x)
    ising = brute_force(L, 1.0 / K_dual)
    target = 0.5 * (1.0 + 0.5 * ising["energy"])  # <s_i s_j> = -e / 2 (two bonds per site)

    cycles, _, p = exact_weights(L, x)
    wx, wy = homology_parities(cycles)
    trivial = (wx == 0) & (wy == 0)
    occ_exact = cycles.reshape(len(cycles), -1).mean(axis=1)
    assert float(p[trivial] @ occ_exact[trivial] / p[trivial].sum()) == pytest.approx(target, rel=1e-12, abs=1e-14)

    chains, rounds = 64, 300
    samples = make_model("toric_loops", x=x).sample(
        chains * rounds, L, seed=11, chains=chains, thermalization=200, pilot_sweeps=400)
    sx, sy = homology_parities(samples)
    ind = ((sx == 0) & (sy == 0)).reshape(rounds, chains).astype(np.float64)
    occ = samples.reshape(rounds, chains, -1).mean(axis=2, dtype=np.float64)
    num, den = (ind * occ).sum(axis=0), ind.sum(axis=0)  # per chain
    estimate = num.sum() / den.sum()
    jack = (num.sum() - num) / (den.sum() - den)
    err = math.sqrt((chains - 1) / chains * ((jack - jack.mean()) ** 2).sum())
    assert abs(estimate - target) < 4 * err, (estimate, err, target)


_REPRO_SCRIPT = """
import json, sys
from phasebench.lattice_models import make_model
from phasebench.lattice_models.provenance import sha256_array
x, d = make_model("toric_loops", x=0.45).sample_with_diagnostics(90, 5, seed=3, chains=9, thermalization=30, pilot_sweeps=60)
print(json.dumps([sha256_array(x), d["tau_int_sweeps"], d["spacing_sweeps"]]))
"""


def test_bitwise_reproducible_across_thread_counts():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", _REPRO_SCRIPT], env=env, cwd=root,
                             capture_output=True, text=True, timeout=120, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1]
    m = make_model("toric_loops", x=0.45)
    opts = dict(chains=9, thermalization=30, pilot_sweeps=60)
    assert not np.array_equal(m.sample(90, 5, seed=3, **opts), m.sample(90, 5, seed=4, **opts))


def test_low_x_is_nearly_empty_and_high_x_disordered():
    """Monotone in x: occupation below x_c is small, above it larger (sanity, L = 8)."""
    occ = [make_model("toric_loops", x=x).sample(64, 8, seed=1, thermalization=100, pilot_sweeps=100).mean()
           for x in (0.1, X_CRITICAL, 0.9)]
    assert occ[0] < occ[1] < occ[2]


@pytest.mark.parametrize("options, match", [
    (dict(chains=0), "chains must be an integer >= 1"),
    (dict(chains=2.5), "chains must be an integer >= 1"),
    (dict(thermalization=-1), "thermalization must be an integer >= 0"),
    (dict(pilot_sweeps=1), "pilot_sweeps must be an integer >= 2"),
    (dict(spacing=0), "spacing must be an integer >= 1"),
    (dict(spacing="a"), "spacing must be an integer >= 1"),
    (dict(sweeps=10), "unknown toric_loops sampler option 'sweeps'"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        make_model("toric_loops", x=0.5).sample(4, 4, seed=0, **options)


def test_exact_sampler_still_takes_no_options():
    with pytest.raises(ValueError, match="no options"):
        make_model("toric_loops").sample(3, 4, seed=0, chains=3)
