"""Generation speed against the models' validated samplers (issue 22): samples per second of the reverse process
driven by the exact global denoiser and by a local member, at the default step counts, as ratios to the model's
own sampler measured in the same run.

The sampler's rate is that of independent samples: ``(n2 - n1) / (t(n2) - t(n1))`` for two sample sizes drawn with
the same seed, so a fixed cost (thermalisation, pilot runs, compilation) cancels.  The Ising sampler is the
cluster/Metropolis MCMC, whose stored samples are spaced by the production autocorrelation time (independent); the
GFF's (FFT) and the loops' (x = 1: random plaquette boundaries and homology bits) are exact.  One torch thread,
numba threads as configured; ``extra_info`` holds each rate and ``global_over_sampler``,
``local_over_sampler`` (> 1: generation is faster).

Run: ``pytest suites/benchmarks/test_bench_generation.py --benchmark-only``.
"""

import time

import numpy as np
import pytest

from phasebench.lattice_models import make_model
from phasebench.lattice_models.channels import make_channel
from phasebench.suites.generation.members import fit_member
from phasebench.suites.generation.reverse import generate_samples
from phasebench.suites.generation.run import default_channel_name, default_steps
from phasebench.suites.generation.schedule import Schedule, denoiser_levels, level_path

T_C = 2.0 / np.log(1.0 + np.sqrt(2.0))
CASES = {  # name: (model, parameters, L, local family, local radius, generated samples, sampler sizes n1 < n2)
    "gff-L32": ("gff", {"m": 0.5}, 32, "exact", 2, 64, (512, 2048)),
    "ising-L6-Tc": ("ising", {"T": T_C}, 6, "bp", 1, 32, (5120, 20480)),
    "loops-L8": ("toric_loops", {}, 8, "exact", 2, 4, (4096, 16384)),
}


def sampler_rate(model, L, sizes, seed=0):
    seconds = []
    for n in sizes:
        t0 = time.perf_counter()
        model.sample(n, L, seed)
        seconds.append(time.perf_counter() - t0)
    return (sizes[1] - sizes[0]) / max(seconds[1] - seconds[0], 1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_generation_against_the_sampler(benchmark, case):
    name, params, L, local_family, radius, n, sizes = CASES[case]
    model = make_model(name, **params)
    channel = make_channel(default_channel_name(model))
    path = level_path(channel, default_steps(channel), model.channels * L * L, model.variable_type)
    levels = denoiser_levels(path)
    exact_global, _ = fit_member("exact", None, model, channel, L, levels, seed=1)
    local, _ = fit_member(local_family, radius, model, channel, L, levels, seed=1)

    def generate(member, seed):
        return generate_samples(Schedule(member, None, None), path, channel, model.variable_type, n, model.channels,
                                L, seed)[0]

    sampler_rate(model, L, sizes[:1] * 2)  # compile and warm the sampler's kernels
    sampler = sampler_rate(model, L, sizes)
    samples = benchmark.pedantic(generate, args=(exact_global, 2), rounds=1, iterations=1, warmup_rounds=0)
    global_rate = n / benchmark.stats.stats.min
    t0 = time.perf_counter()
    generate(local, 3)
    local_rate = n / (time.perf_counter() - t0)
    benchmark.extra_info.update(model=name, params=params, L=L, process=path.kind, steps=path.steps,
                                local=f"{local_family} r={radius}", sampler=model.sampler_name,
                                sampler_samples_per_s=sampler, global_samples_per_s=global_rate,
                                local_samples_per_s=local_rate, global_over_sampler=global_rate / sampler,
                                local_over_sampler=local_rate / sampler)
    assert samples.shape == (n, model.channels, L, L)
