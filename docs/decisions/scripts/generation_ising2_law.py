"""Total-variation error of the generated law of Ising on the 2 x 2 torus (T = 2), exact global posterior
(the enumeration denoiser of tests/test_generation.py), 40000 samples: the tolerance of that file's chi-square test.

    nice -n 15 python docs/decisions/scripts/generation_ising2_law.py     (from the repository root)
"""

import sys

import numpy as np
from scipy.stats import chisquare

sys.path.insert(0, "tests")
from test_generation import STATE_ENERGY, STATES, T_TINY, _Ising2Posterior  # noqa: E402

from phasebench.lattice_models.channels import make_channel  # noqa: E402
from phasebench.suites.generation.reverse import generate_samples  # noqa: E402
from phasebench.suites.generation.schedule import Schedule, level_path  # noqa: E402

N = 40000
law = np.exp(-STATE_ENERGY / T_TINY)
law /= law.sum()
index = {s.tobytes(): i for i, s in enumerate(STATES)}
floor = np.sqrt(law * (1 - law) / (2 * np.pi * N)).sum()  # E TV of N exact draws, approximately
for name in ("bitflip", "gaussian"):
    ch = make_channel(name)
    for steps in (10, 40, 160):
        samples, _ = generate_samples(Schedule(_Ising2Posterior(ch)), level_path(ch, steps, 4, "spin"), ch, "spin", N,
                                      1, 2, seed=11)
        counts = np.bincount([index[s[0].astype(np.int8).tobytes()] for s in samples], minlength=16)
        print(f"{name} steps={steps}: TV={0.5 * np.abs(counts / N - law).sum():.4f} (noise floor {floor:.4f}), "
              f"chi2 p={chisquare(counts, law * N).pvalue:.2g}, generated/exact per state {np.round(counts / N / law, 2)}",
              flush=True)
