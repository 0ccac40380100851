"""Speed of the exact transfer-matrix oracles: seconds per configuration.

Run: python -m pytest suites/benchmarks/test_bench_exact_oracles.py --benchmark-only
(L = 12 Ising takes tens of seconds per round; one round.)
"""

import numpy as np
import pytest

from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel
from phasebench.lattice_models.exact.ising_posterior import ising_posterior_mean
from phasebench.lattice_models.exact.toric_global import toric_posterior

K_C = 0.44068679350977151


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    y = GaussianChannel().corrupt(np.ones((1, 1, 3, 3)), 1.0, seed=0)
    ising_posterior_mean(y, K_C, "gaussian", 1.0)


@pytest.mark.parametrize("L, rounds", [(8, 5), (10, 3), (12, 1)])
def test_bench_ising_posterior(benchmark, L, rounds):
    rng = np.random.default_rng(L)
    s = rng.choice([-1, 1], size=(1, 1, L, L)).astype(np.int8)
    y = GaussianChannel().corrupt(s, 1.0, seed=L)
    benchmark.pedantic(ising_posterior_mean, args=(y, K_C, "gaussian", 1.0), rounds=rounds, iterations=1)
    benchmark.extra_info["L"] = L
    benchmark.extra_info["seconds_per_config"] = benchmark.stats.stats.mean


@pytest.mark.parametrize("L, rounds", [(6, 5), (8, 5), (10, 2)])
def test_bench_toric_global(benchmark, L, rounds):
    x = np.zeros((1, 2, L, L), dtype=np.int8)
    y = BitFlipChannel().corrupt(x, 0.1, seed=L)
    benchmark.pedantic(toric_posterior, args=(y, "bitflip", 0.1), rounds=rounds, iterations=1)
    benchmark.extra_info["L"] = L
    benchmark.extra_info["seconds_per_config"] = benchmark.stats.stats.mean
