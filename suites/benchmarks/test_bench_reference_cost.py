"""How fast this machine trains, relative to the reference machine that defines budget seconds.

A training budget is in reference seconds (denoisers/harness/budget.py): the work that takes
that long on the reference machine.  Each case fits a member of a learned family with a 4-reference-second
budget and records, in ``extra_info``, the measured Adam time against the modelled one:
``speed_vs_reference`` = modelled / measured (> 1: this machine is faster).  On the reference
machine itself the ratio is about 1 for the ``cnn`` (the cost model's spread there: 0.7 to 1.25 per step).
The cost model counts the network's multiply-adds; a family whose steps do more than those (the windowed
attention's gathers) is slower per reference second: the ``cnn``'s ratio over its own in the same run is its
``wall_per_budget_second`` (:class:`phasebench.denoisers.harness.learned.LearnedFamily`), which the dry run's
cost model uses.

Run: ``pytest suites/benchmarks/test_bench_reference_cost.py --benchmark-only``.
"""

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.lattice_models.channels import BitFlipChannel, GaussianChannel

BUDGET = 4.0
CASES = {
    # name: (radius, data shape, data kind, channel, levels, conditions per configuration or None)
    "gff-L32-r2": (2, (64, 1, 32, 32), "real", GaussianChannel(), [0.1, 0.3, 1.0, 3.0, 10.0], None),
    "toric-L16-r3": (3, (64, 2, 16, 16), "binary", BitFlipChannel(), [0.04, 0.07, 0.09, 0.11, 0.13, 0.18], None),
    "ising-L10-r2-conditioned": (2, (120, 1, 10, 10), "spin", GaussianChannel(), list(np.logspace(-2.5, -0.5, 7)),
                                 np.repeat(np.linspace(1.9, 2.7, 12), 10)),
}


@pytest.mark.parametrize("family", ["cnn", "patch_mlp", "attention", "unet"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_training_speed_vs_reference(benchmark, case, family):
    radius, shape, kind, channel, levels, cond = CASES[case]
    rng = np.random.default_rng(0)
    if kind == "binary":
        clean = rng.integers(0, 2, shape).astype(np.int8)
    elif kind == "spin":
        clean = rng.choice(np.array([-1, 1], dtype=np.int8), shape)
    else:
        clean = rng.standard_normal(shape)
    fams = []

    def fit():
        member = make_family(family, None if family == "unet" else radius, polish_fraction=0.0)
        fams.append(member.fit(clean, channel, levels, seed=0, budget=BUDGET, conditions=cond))

    benchmark.pedantic(fit, rounds=2, iterations=1)
    info = fams[-1].fit_info_
    modelled = info["steps"] * info["reference_step_seconds"]
    benchmark.extra_info.update(case=case, family=family, budget_reference_s=BUDGET, steps=info["steps"],
                                modelled_train_s=modelled, measured_train_s=info["train_seconds"],
                                speed_vs_reference=modelled / info["train_seconds"])
    assert info["steps"] > 1
