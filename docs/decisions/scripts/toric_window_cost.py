"""CPU seconds per window of the toric r-local oracle (``method="auto"``) per radius: the cost model's table
(``lattice_models/exact/toric_window.py``, ``WINDOW_CPU_SECONDS``).

    NUMBA_NUM_THREADS=1 python docs/decisions/scripts/toric_window_cost.py [R_MAX]

8 configurations x 12 window centres at L = max(22, 2 R_MAX + 2), p = 0.1, after one warm-up call; best of 3 in
``time.process_time``.  Run it on idle cores.
"""

import sys
import time

import numpy as np

from phasebench.lattice_models import make_channel, make_model
from phasebench.lattice_models.exact.toric_window import local_posterior_marginals


def main(r_max: int = 10) -> None:
    model, channel = make_model("toric_loops", x=1.0), make_channel("bitflip")
    x = model.sample(8, max(22, 2 * r_max + 2), seed=0)
    y = channel.corrupt(x, 0.1, seed=1)
    for r in range(1, r_max + 1):
        local_posterior_marginals(y[:1], channel, 0.1, r, edges=1, seed=0)  # compile, warm caches
        best = np.inf
        for rep in range(3):
            t0 = time.process_time()
            local_posterior_marginals(y, channel, 0.1, r, edges=12, seed=rep)
            best = min(best, time.process_time() - t0)
        print(f"r = {r}: {best / (8 * 12) * 1e3:.4f} ms per window", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
