"""``gff-generation``: the null check of generation (:class:`phasebench.suites.objectives.Generation`).

The Gaussian free field has no transition and a Markov length below one site at every level (docs/physics.md,
section 4), so radius-r generation must reproduce the ensemble once r is a few Markov lengths, with no global
step: the exact r-local members approach the exact global posterior's samples as r grows, and a global window
helps only the smallest radius.  Every observable has an exact value (docs/physics.md, section 8)."""

from __future__ import annotations

from ..objectives.base import TaskConfig
from ..objectives.generation import Generation
from .base import TASKS


@TASKS.register("gff-generation")
class GFFGenerationTask(Generation):
    description = ("Gaussian free field (m^2 = 0.25), stochastic localisation: samples of r-local, global and hybrid "
                   "schedules against the exact ensemble (no global step should be needed)")
    model_name = "gff"
    model_params = {"m": 0.5}
    channel_name = "gaussian"

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            return TaskConfig(L=(16,), levels=(), radii=(1, 3), n_train=2000, n_test=1000, seed=0, budget=5.0,
                              extra={"n_generated": 100, "steps": 200})  # a smoke check: half the default path
        return TaskConfig(L=(32,), levels=(), radii=(1, 2, 3, 5), n_train=8000, n_test=4000, seed=0, budget=120.0,
                          extra={"n_generated": 1000, "hybrid_radii": (1,),
                                 "windows": ((0.01, 0.1), (0.1, 1.0), (1.0, 10.0), (10.0, 100.0), (0.01, 10.0))})
