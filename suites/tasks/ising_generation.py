"""``ising-generation``: where local generation fails, and how much global help it needs
(:class:`phasebench.suites.objectives.Generation`).

Ordered Ising data (T = 2 < T_c) under bit flips: the flip reversal decides the sign of the magnetisation once
the whole system's signal ``N J^2 <m^2>`` reaches about 1 (J the Nishimori coupling; the speciation level), a
global decision that an r-local denoiser cannot make, so radius-r generation gives a law of m with one peak at
0 and domain walls instead of two peaks at +-<|m|> (docs/physics.md, sections 2 and 8).  The quick division
shows the failure of the local families; the full one adds the exact global posterior's self-check at T = 2,
T_c and 2.6, and the hybrid windows of the global member at T = 2."""

from __future__ import annotations

from phasebench.lattice_models.exact.ising_exact import T_CRITICAL

from ..objectives.base import TaskConfig
from ..objectives.generation import Generation
from .base import TASKS


@TASKS.register("ising-generation")
class IsingGenerationTask(Generation):
    description = ("2D Ising under bit flips at the grid's temperatures (quick: T = 2.0; full: 2.0, T_c, 2.6): samples of "
                   "r-local, global and hybrid schedules against the validated sampler (below T_c local generation "
                   "should lose the two peaks of m)")
    model_name = "ising"
    model_params = {"T": 2.0}
    channel_name = "bitflip"
    axis = "T"  # ``phasebench run --values`` scans T

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            return TaskConfig(L=(6,), levels=(), radii=(1, 2), n_train=500, n_test=500, seed=0, budget=5.0,
                              extra={"n_generated": 200, "self_check": False})
        return TaskConfig(L=(6, 8), levels=(), radii=(1, 2), n_train=4000, n_test=4000, seed=0, budget=120.0,
                          model_params_grid=({"T": 2.0}, {"T": round(T_CRITICAL, 6)}, {"T": 2.6}),
                          extra={"n_generated": 400, "hybrid_radii": (1, 2), "hybrid_at": [{"L": 6, "T": 2.0}],
                                 "windows": ((0.45, 0.5), (0.35, 0.45), (0.25, 0.35), (0.15, 0.25), (0.05, 0.15),
                                             (0.001, 0.05), (0.25, 0.5), (0.15, 0.45))})
