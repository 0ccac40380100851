"""Coverage of the worst-cell gap to the exact posterior (:func:`.objectives.parameter_transition.global_gap_to_exact`).

The gap of the global member to the exact posterior is a ratio of means, ``mean |f - q|^2 / mean mse(q)``,
per (g, level) cell; the leaderboard reports the worst cell.  The quick division has 12 x 7 = 84 cells
with 50 configurations each (``exact_n``).  Per configuration ``mse(q) ~ Gamma(10)`` (relative sd 0.3)
and ``|f - q|^2 = gap_k mse(q) E``, ``E ~ Exp(1)``, so cell k's gap is ``gap_k``.  The answer is the
largest true gap:

* ``worst-cell-tied-quick``: every cell at 5% (the selection's worst case: the maximum of 84 equally
  noisy estimates);
* ``worst-cell-spread-quick``: gaps spread evenly from 0 to 5% (one cell at the top).
"""

from __future__ import annotations

import numpy as np

from ..estimators import bootstrap_indices
from ..objectives.parameter_transition import global_gap_to_exact
from . import CoverageCase, register

N_VALUES, N_LEVELS, N_CONFIGS, N_BOOT, TOP_GAP = 12, 7, 50, 1000, 0.05


def simulate_record(rng: np.random.Generator, gaps: np.ndarray) -> dict:
    exact = rng.gamma(10.0, 0.1, size=(N_VALUES, N_LEVELS, N_CONFIGS))
    dist = gaps[..., None] * exact * rng.exponential(1.0, size=exact.shape)
    return {"global_dist_to_exact": dist, "exact": exact, "global": exact + dist,
            "values": list(range(N_VALUES)), "levels": list(range(N_LEVELS))}


def gap_interval(rec: dict, seed: int):
    g = global_gap_to_exact(rec, bootstrap_indices(N_CONFIGS, seed, N_BOOT))
    return g["lo"], g["hi"]


_GAPS = {"tied": np.full((N_VALUES, N_LEVELS), TOP_GAP),
         "spread": np.linspace(0.0, TOP_GAP, N_VALUES * N_LEVELS).reshape(N_VALUES, N_LEVELS)}

for _name, _gaps in _GAPS.items():
    register(CoverageCase(
        name=f"worst-cell-{_name}-quick", estimator="global_gap_to_exact", grid="quick", truth=TOP_GAP,
        simulate=lambda rng, gaps=_gaps: simulate_record(rng, gaps), interval=gap_interval))
