"""Speed benchmarks for the GFF slice: sampler, channels, and each family's denoise.

Run with ``pytest suites --benchmark-only --benchmark-json=out.json`` and render
with ``phasebench leaderboard out.json``.  Speeds are reported as ratios
against a baseline measured in the same run (extra_info); absolute times
belong to the machine named in the JSON.
"""

import numpy as np
import pytest

from phasebench.denoisers import DENOISERS, make_family
from phasebench.lattice_models import BitFlipChannel, GaussianChannel, make_model
from phasebench.lattice_models.exact import gff_theory

L = 64
N = 64


@pytest.fixture(scope="module")
def gff():
    return make_model("gff", m=0.5)


@pytest.fixture(scope="module")
def clean(gff):
    return gff.sample(N, L, seed=0)


def test_gff_sampler(benchmark, gff):
    out = benchmark(gff.sample, N, L, 1)
    benchmark.extra_info["sites_per_second"] = N * L * L / benchmark.stats.stats.median
    assert out.shape == (N, 1, L, L)


def test_gaussian_channel(benchmark, clean):
    benchmark(GaussianChannel().corrupt, clean, 1.0, 0)
    benchmark.extra_info["sites_per_second"] = clean.size / benchmark.stats.stats.median


def test_bitflip_channel(benchmark):
    spins = np.ones((N, 1, L, L), dtype=np.int8)
    benchmark(BitFlipChannel().corrupt, spins, 0.1, 0, "spin")
    benchmark.extra_info["sites_per_second"] = spins.size / benchmark.stats.stats.median


FAMILIES = [n for n in DENOISERS.names() if DENOISERS.get(n).supports(make_model("gff")) and DENOISERS.get(n).local_members]
#: configurations denoised per timed call (8 x 64 x 64 sites; docs/decisions/score-cases-time.md)
N_DENOISE = 8
#: training budget in reference seconds: the speed of ``denoise`` does not depend on the weights (scores live in
#: the score cases, suites/benchmarks/test_scores.py)
FIT_BUDGET = 0.5


@pytest.mark.parametrize("radius", [1, 3])
@pytest.mark.parametrize("name", FAMILIES)
def test_denoise(benchmark, gff, clean, name, radius):
    import timeit

    ch = GaussianChannel()
    fam = make_family(name, radius).fit(clean, ch, [1.0], seed=0, budget=FIT_BUDGET, model=gff)
    y = ch.corrupt(clean[:N_DENOISE], 1.0, seed=2)
    out = benchmark.pedantic(fam.denoise, args=(y, 1.0), rounds=3, iterations=1, warmup_rounds=1)
    a, s = ch.amplitudes(1.0)
    fft_time = min(timeit.repeat(lambda: gff_theory.wiener_denoise(y, 0.25, a, s), number=1, repeat=5))
    benchmark.extra_info.update(
        ns_per_site=benchmark.stats.stats.median / y.size * 1e9,
        ratio_vs_fft_wiener=benchmark.stats.stats.median / fft_time,
        n_params=fam.n_params,
    )
    assert out.shape == y.shape
