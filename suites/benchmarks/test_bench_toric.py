"""Benchmarks of the loop model: exact sampler, exact r-local oracle, MWPM decoding.

Run with ``pytest suites/benchmarks/test_bench_toric.py``; derived rates are in extra_info.
"""

import timeit

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.exact import toric_pfaffian
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


@pytest.mark.parametrize("r", [6, 7, 8, 9, 10, 11, 12])
def test_bench_pfaffian_oracle_per_edge(benchmark, r):
    """The Pfaffian window oracle on one bit-flip window at p = 0.1 (one core): ms per edge, and for r <= 9
    the transfer matrix's on the same window in the same run (best of 5) with ``tm_over_pfaffian``, the
    ratio of best times (> 1: the Pfaffian is cheaper).  Table: docs/decisions/toric-pfaffian-window.md."""
    n = 2 * r + 1
    channel = BitFlipChannel()
    y = channel.corrupt(MODEL.sample(1, 2 * n, seed=r), 0.1, seed=r)[0, :, :n, :n]
    q = channel.binary_likelihood(y, 0.1)
    qh, qv = np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1])
    toric_pfaffian.window_centre_marginals(qh, qv)  # builds the window's Fisher graph once
    benchmark(toric_pfaffian.window_centre_marginals, qh, qv)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(ms_per_edge=benchmark.stats.stats.mean * 1e3 / 2, best_ms_per_edge=best * 1e3 / 2,
                                fisher_nodes=toric_pfaffian.kasteleyn_layout(r).n_nodes)
    if r <= 9:
        window_centre_marginals(qh, qv)  # compile
        tm_best = min(timeit.repeat(lambda: window_centre_marginals(qh, qv), number=1, repeat=5))
        benchmark.extra_info.update(tm_best_ms_per_edge=tm_best * 1e3 / 2, tm_over_pfaffian=tm_best / best)


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
