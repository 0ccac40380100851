"""``gff-markov``: calibration on the Gaussian free field, which has no transition: xi_eff(lambda) against
the exact r-local oracle's from the same fit on the same configurations (the paired ratio; the exact Markov
length on record), and no false peak (:class:`phasebench.suites.objectives.DecayLength`)."""

from __future__ import annotations

import numpy as np

from ..objectives.base import TaskConfig
from ..objectives.decay_length import DecayLength
from .base import TASKS


@TASKS.register("gff-markov")
class GFFMarkovTask(DecayLength):
    description = ("Gaussian free field (m^2 = 0.25) under the Gaussian channel: xi_eff vs the exact r-local oracle's "
                   "(paired, same fit), the exact Markov length on record")
    model_name = "gff"
    model_params = {"m": 0.5}
    channel_name = "gaussian"

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            # budget 20 reference s (measured: docs/decisions/gff-markov-quick-budget.md)
            # patch_mlp and attention opted in at r <= 2 (docs/decisions/quick-division-families.md)
            return TaskConfig(L=(32,), levels=(0.1, 0.3, 1.0, 3.0, 10.0), radii=(0, 1, 2, 3, 4),
                              n_train=2000, n_test=1000, seed=0, budget=20.0,
                              opt_in_families=("patch_mlp", "attention"),
                              family_radii={"patch_mlp": (0, 1, 2), "attention": (0, 1, 2)})
        # the GFF's exact references hold at any L and r: the full grid goes to L = 64 and r = 10
        return TaskConfig(L=(32, 64), levels=tuple(np.round(np.logspace(-1, 1, 9), 4)), radii=tuple(range(11)),
                          n_train=8000, n_test=4000, seed=0, budget=120.0)
