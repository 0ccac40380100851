"""Total-variation distance between the generated and the exact law of Ising on the 2 x 2 torus (T = 2),
exact global posterior, for the tolerance of tests/test_generation.py.

    nice -n 15 python docs/decisions/scripts/generation_ising2_law.py
"""

import itertools

import numpy as np
from scipy.stats import chisquare

from phasebench.lattice_models import make_model
from phasebench.lattice_models.channels import make_channel
from phasebench.suites.generation.members import fit_member
from phasebench.suites.generation.reverse import generate_samples
from phasebench.suites.generation.schedule import Schedule, denoiser_levels, level_path

N = 20000
states = np.array(list(itertools.product((-1, 1), repeat=4)), dtype=np.int8).reshape(-1, 2, 2)
e = -(states * np.roll(states, 1, 1) + states * np.roll(states, 1, 2)).sum(axis=(1, 2))
law = np.exp(-e / 2.0)
law /= law.sum()
index = {s.tobytes(): i for i, s in enumerate(states)}
model = make_model("ising", T=2.0)
for name in ("bitflip", "gaussian"):
    ch = make_channel(name)
    for steps in (10, 40):
        path = level_path(ch, steps, 4, "spin")
        member, _ = fit_member("exact", None, model, ch, 2, denoiser_levels(path), 0)
        samples, _ = generate_samples(Schedule(member), path, ch, "spin", N, 1, 2, seed=11)
        counts = np.bincount([index[s[0].tobytes()] for s in samples.astype(np.int8)], minlength=16)
        tv = 0.5 * np.abs(counts / N - law).sum()
        # the TV of N exact draws is itself ~ sum_i sqrt(law_i (1 - law_i) / (2 pi N)): the noise floor
        floor = np.sqrt(law * (1 - law) / (2 * np.pi * N)).sum()
        print(f"{name} steps={steps} n={N}: TV={tv:.4f} (noise floor ~{floor:.4f}), chi2 p={chisquare(counts, law * N).pvalue:.3g}",
              flush=True)
