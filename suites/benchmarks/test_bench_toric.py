"""Benchmarks of the loop model: exact sampler, exact r-local oracle, MWPM decoding.

Run with ``pytest suites/benchmarks/test_bench_toric.py``; derived rates are in extra_info.
"""

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.kernels.toric_window import window_centre_marginals

MODEL = make_model("toric_loops")


@pytest.mark.parametrize("L", [16, 64])
def test_bench_exact_sampler(benchmark, L):
    n = max(1, 2**21 // (L * L))
    benchmark(MODEL.sample, n, L, 0)
    benchmark.extra_info["configs_per_s"] = n / benchmark.stats.stats.mean
    benchmark.extra_info["edges_per_ns"] = n * 2 * L * L / benchmark.stats.stats.mean * 1e-9


@pytest.mark.parametrize("r", [1, 2, 3, 4, 5, 6])
def test_bench_local_oracle_per_edge(benchmark, r):
    """One window (two centre edges) on one core: ms per edge."""
    n = 2 * r + 1
    channel = GaussianChannel(encode_binary_as_spin=True)
    x = MODEL.sample(1, 2 * n, seed=r)
    y = channel.corrupt(x, 1.0, seed=r)[0, :, :n, :n]
    q = 1.0 / (1.0 + np.exp(2.0 * y))
    qh, qv = np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])
    window_centre_marginals(qh, qv)  # compile
    benchmark(window_centre_marginals, qh, qv)
    benchmark.extra_info["ms_per_edge"] = benchmark.stats.stats.mean * 1e3 / 2
    benchmark.extra_info["states"] = 2**n


@pytest.mark.parametrize("channel,level", [(BitFlipChannel(), 0.08), (GaussianChannel(encode_binary_as_spin=True), 1.5)],
                         ids=["bitflip", "gaussian"])
@pytest.mark.parametrize("L", [16, 32])
def test_bench_mwpm_decode(benchmark, L, channel, level):
    n = 100
    x = MODEL.sample(n, L, seed=1)
    family = make_family("mwpm").fit(x[:2], channel, [level], model=MODEL)
    y = channel.corrupt(x, level, seed=2)
    family.denoise(y[:1], level)
    benchmark(family.denoise, y, level)
    benchmark.extra_info["ms_per_config"] = benchmark.stats.stats.mean * 1e3 / n


def test_bench_local_oracle_field(benchmark):
    """All 2 L^2 edges of one L = 32 configuration at r = 4 (numba threads as configured)."""
    from phasebench.lattice_models.exact.toric_window import local_posterior_marginals

    channel = BitFlipChannel()
    y = channel.corrupt(MODEL.sample(1, 32, seed=0), 0.1, seed=1)
    local_posterior_marginals(y[:, :, :10, :10], channel, 0.1, 4)  # compile
    benchmark(local_posterior_marginals, y, channel, 0.1, 4)
    benchmark.extra_info["ms_per_edge"] = benchmark.stats.stats.mean * 1e3 / (2 * 32 * 32)
