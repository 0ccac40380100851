"""Speed of the 2D Ising samplers (pytest-benchmark; numbers go to ``benchmark.extra_info``).

Run: ``python -m pytest suites/benchmarks/test_bench_ising_sampler.py``.

* Metropolis throughput at L = 256, T = 2.0 on all cores (one chain per thread,
  twice over), in spin updates per ns, and its ratio to the plain single-threaded
  Numba checkerboard reference below, measured in the same run.
* Cluster (Wolff, Swendsen-Wang) tau_int(|m|) at T_c for L = 32 and 64, and
  independent samples per second (one chain: 1 / (2 tau_int * seconds per sweep))
  against Metropolis.
* The torch Metropolis kernel (``backend="torch"``) on CUDA when there is a GPU (skipped
  otherwise) and on the CPU, against the Numba kernel in the same run; both advance the same
  chains by the same sweeps, so their final states must be equal bit for bit.

Timings on shared machines are noisy; compare numbers from one run only.
"""

from __future__ import annotations

import math
import time

import numba as nb
import numpy as np
import pytest

from phasebench.lattice_models.exact.ising_exact import T_CRITICAL
from phasebench.lattice_models.ising import initial_states, run_chains, thermalize
from phasebench.lattice_models.kernels import ising_metropolis
from phasebench.lattice_models.kernels.counter_rng import chain_keys
from phasebench.lattice_models.mcmc_stats import integrated_autocorrelation_time


@nb.njit(cache=True)
def reference_checkerboard_sweeps(spins, K, n_sweeps, seed):
    """Plain single-threaded checkerboard Metropolis: full int8 lattice, modulo
    neighbours, one ``np.random.random()`` per proposal, exp table.  The baseline."""
    np.random.seed(seed)
    L = spins.shape[0]
    prob = np.empty(5)
    for a in range(5):
        prob[a] = min(1.0, math.exp(-2.0 * K * (2 * a - 4)))  # index (s h + 4) / 2
    for _t in range(n_sweeps):
        for colour in range(2):
            for i in range(L):
                for j in range(L):
                    if (i + j) % 2 != colour:
                        continue
                    s = spins[i, j]
                    h = spins[(i + 1) % L, j] + spins[(i - 1) % L, j] + spins[i, (j + 1) % L] + spins[i, (j - 1) % L]
                    if np.random.random() < prob[(s * h + 4) // 2]:
                        spins[i, j] = -s


def _time(fn, repeats=3):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_metropolis_throughput_L256(benchmark):
    L, K, sweeps = 256, 1.0 / 2.0, 20
    n_chains = 2 * nb.get_num_threads()
    sub = ising_metropolis.to_split(np.ones((n_chains, L, L), dtype=np.int8))
    keys = chain_keys(0, n_chains)
    counters = np.zeros(n_chains, dtype=np.uint64)
    ising_metropolis.metropolis_sweeps(sub, keys, counters, K, 2)  # compile and warm up

    ref = np.ones((L, L), dtype=np.int8)
    reference_checkerboard_sweeps(ref, K, 1, 0)
    ref_sweeps = 4
    ref_seconds = _time(lambda: reference_checkerboard_sweeps(ref, K, ref_sweeps, 1), repeats=10)
    ref_rate = ref_sweeps * L * L / ref_seconds / 1e9

    # per-core rate: the same kernel on one thread (robust on a shared machine)
    threads = nb.get_num_threads()
    nb.set_num_threads(1)
    try:
        one_seconds = _time(lambda: ising_metropolis.metropolis_sweeps(sub, keys, counters, K, sweeps // 4), repeats=5)
    finally:
        nb.set_num_threads(threads)
    one_rate = (sweeps // 4) * n_chains * L * L / one_seconds / 1e9

    benchmark.pedantic(ising_metropolis.metropolis_sweeps, args=(sub, keys, counters, K, sweeps), rounds=10, iterations=1)
    rate = sweeps * n_chains * L * L / benchmark.stats.stats.min / 1e9
    s = ising_metropolis.from_split(sub).astype(np.int64)
    e = -(s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).sum(axis=(1, 2))
    benchmark.extra_info.update(
        threads=nb.get_num_threads(), chains=n_chains, L=L, T=2.0,
        updates_per_ns=rate, reference_updates_per_ns=ref_rate, speedup_vs_reference=rate / ref_rate,
        updates_per_ns_one_thread=one_rate, speedup_one_thread_vs_reference=one_rate / ref_rate,
        energy_per_site=float(e.mean() / L**2),
    )
    print(f"\nMetropolis L=256 T=2.0: {rate:.3f} updates/ns on {threads} threads ({one_rate:.3f} on one); "
          f"reference {ref_rate:.4f}/ns; ratio {rate / ref_rate:.1f} ({one_rate / ref_rate:.1f} on one thread)")
    assert abs(e.mean() / L**2 + 1.7456) < 0.02  # still samples T = 2.0 (Onsager: -1.7456)


SWEEPS = {"wolff": 2000, "swendsen-wang": 2000, "metropolis": 30000}
THERM = {"wolff": 200, "swendsen-wang": 200, "metropolis": 3000}


@pytest.mark.parametrize("L", [32, 64])
@pytest.mark.parametrize("algorithm", ["wolff", "swendsen-wang", "metropolis"])
def test_tau_int_at_tc(benchmark, algorithm, L):
    """tau_int(|m|) in sweeps and independent samples per second of one chain at T_c."""
    if algorithm == "metropolis" and L == 64:
        sweeps = 60000  # tau ~ L^2.17: keep >= 50 tau_int
    else:
        sweeps = SWEEPS[algorithm]
    K = 1.0 / T_CRITICAL
    n_chains = nb.get_num_threads()
    spins = initial_states(n_chains, L, 0)
    keys = chain_keys(0, n_chains, 9)
    counters = np.zeros(n_chains, dtype=np.uint64)
    cps = thermalize(algorithm, spins, keys, counters, K, THERM[algorithm])
    traces = {}

    def run():
        _, e, m = run_chains(algorithm, spins, keys, counters, K, sweeps, clusters_per_sweep=cps)
        traces["e"], traces["m"] = e, m

    benchmark.pedantic(run, rounds=1, iterations=1)
    seconds_per_sweep = benchmark.stats.stats.min / sweeps  # n_chains chains on n_chains threads
    tau_m = integrated_autocorrelation_time(np.abs(traces["m"]))
    tau_e = integrated_autocorrelation_time(traces["e"])
    benchmark.extra_info.update(
        algorithm=algorithm, L=L, T=T_CRITICAL, sweeps=sweeps, chains=n_chains, wolff_clusters_per_sweep=cps,
        tau_int_abs_m=tau_m, tau_int_energy=tau_e, seconds_per_sweep_per_chain=seconds_per_sweep,
        independent_samples_per_second_per_chain=1.0 / (2.0 * tau_m * seconds_per_sweep),
    )
    print(f"\n{algorithm} L={L} T_c: tau_int(|m|)={tau_m:.2f} tau_int(E)={tau_e:.2f} sweeps; "
          f"{seconds_per_sweep * 1e6:.1f} us/sweep; {1.0 / (2.0 * tau_m * seconds_per_sweep):.0f} independent samples/s/chain")
    assert sweeps >= 50 * tau_m  # the estimate is from a long enough run


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_metropolis_torch_throughput_L256(benchmark, device):
    """The torch Metropolis kernel (bitwise the Numba kernel's numbers) at L = 256, T = 2.0: spin updates per ns,
    and its ratio to the Numba kernel on all cores, measured in the same run.  The CUDA case is skipped without a
    GPU; the CPU case shows what the tensor formulation costs where Numba is the default."""
    torch = pytest.importorskip("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from phasebench.lattice_models.kernels.ising_metropolis_torch import run_metropolis_chains_torch

    L, K = 256, 1.0 / 2.0
    n_chains = 64 if device == "cuda" else 2 * nb.get_num_threads()
    sweeps = 50 if device == "cuda" else 4
    sub = ising_metropolis.to_split(np.ones((n_chains, L, L), dtype=np.int8))
    keys = chain_keys(0, n_chains)
    table = ising_metropolis.acceptance_thresholds(K)
    none = np.zeros((n_chains, 0) + sub.shape[1:], dtype=np.int8), np.zeros((n_chains, 0), dtype=np.int64)

    def torch_sweeps(counters):
        run_metropolis_chains_torch(sub, keys, counters, table, sweeps, 1, none[0], none[1], none[1], device=device)
        if device == "cuda":
            torch.cuda.synchronize()

    counters = np.zeros(n_chains, dtype=np.uint64)
    numba_sub, numba_counters = sub.copy(), counters.copy()
    rounds = 5  # each kernel: one warm-up call and ``rounds`` timed calls of ``sweeps`` sweeps, from the same state
    torch_sweeps(counters)
    ising_metropolis.metropolis_sweeps(numba_sub, keys, numba_counters, K, sweeps)
    numba_seconds = _time(lambda: ising_metropolis.metropolis_sweeps(numba_sub, keys, numba_counters, K, sweeps),
                          repeats=rounds)
    benchmark.pedantic(torch_sweeps, args=(counters,), rounds=rounds, iterations=1)
    rate = sweeps * n_chains * L * L / benchmark.stats.stats.min / 1e9
    numba_rate = sweeps * n_chains * L * L / numba_seconds / 1e9
    # both kernels ran the same sweeps from the same state and counters: their states must agree bit for bit
    same = bool(np.array_equal(sub, numba_sub))
    benchmark.extra_info.update(device=torch.cuda.get_device_name(0) if device == "cuda" else "cpu", chains=n_chains,
                                L=L, T=2.0, updates_per_ns=rate, numba_updates_per_ns=numba_rate,
                                ratio_vs_numba=rate / numba_rate, bitwise_equal_to_numba=same)
    print(f"\ntorch Metropolis on {device}, L=256 T=2.0: {rate:.3f} updates/ns; Numba on {nb.get_num_threads()} "
          f"threads {numba_rate:.3f}/ns; ratio {rate / numba_rate:.2f}; bitwise equal to Numba: {same}")
    assert same
