"""Coverage of W1 bootstrap intervals on synthetic data with a known answer (docs/decisions/generation.md,
"The W1 interval").

    python docs/decisions/scripts/w1_interval_coverage.py [SEED] [REPS]      # default 1 200

a ~ N(delta, 1) (400 points, the generated side), b ~ N(0, 1) (4000, the reference side), so W1 = delta. For
delta in 0.05, 0.1, 0.2, 0.5 it prints the share of REPS replications whose interval contains delta, and contains
the point estimate, for three intervals from the same 400 bootstrap replicates (both samples resampled): the
plain percentile interval, the percentile interval shifted down by the replicates' mean bias (the one
``wasserstein_test`` reports), and the basic (reflected) interval.
"""

import sys
import time

import numpy as np
from scipy.stats import wasserstein_distance

from phasebench.suites.estimators.bootstrap import replicate_interval


def intervals(a, b, rng, n_boot=400):
    value = wasserstein_distance(a, b)
    boots = np.array([wasserstein_distance(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
                      for _ in range(n_boot)])
    lo, hi = replicate_interval(boots)
    bias = boots.mean() - value
    return value, [(lo, hi), (max(lo - bias, 0.0), hi - bias), (max(2 * value - hi, 0.0), 2 * value - lo)]


def main(seed: int, reps: int) -> None:
    rng = np.random.default_rng(seed)
    for delta in (0.05, 0.1, 0.2, 0.5):
        cover, inside, t0 = np.zeros(3), np.zeros(3), time.time()
        for _ in range(reps):
            value, ints = intervals(rng.standard_normal(400) + delta, rng.standard_normal(4000), rng)
            for k, (lo, hi) in enumerate(ints):
                cover[k] += lo <= delta <= hi
                inside[k] += lo <= value <= hi
        print(f"W1 = {delta}: coverage percentile / shifted / basic {np.round(cover / reps, 3)}; "
              f"point estimate inside {np.round(inside / reps, 3)}; {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1, int(sys.argv[2]) if len(sys.argv) > 2 else 200)
