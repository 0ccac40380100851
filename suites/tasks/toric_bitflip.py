"""``toric-bitflip``: place the toric code's declared decoding threshold under bit flips (the Nishimori point
p_c = 0.10922) from the peak of xi_eff(p) of r-local denoisers (:class:`phasebench.suites.objectives.NoiseTransition`)."""

from __future__ import annotations

from ..objectives.base import TaskConfig
from ..objectives.noise_transition import NoiseTransition
from .base import TASKS

#: the full division's ``cnn`` training, over the bit-flip defaults: a fixed 24000 Adam steps for every radius from a
#: peak rate of 3e-3, gradient norm clipped at 1 (measured: docs/decisions/toric-bitflip-full-cnn-training.md)
FULL_CNN_TRAINING = {"steps": 24000, "lr": 3e-3, "grad_clip": 1}


@TASKS.register("toric-bitflip")
class ToricBitflipTask(NoiseTransition):
    description = "toric-code loops (x = 1) under bit-flip noise: p_c from the peak of xi_eff(p); target 0.10922"
    model_name = "toric_loops"
    model_params = {"x": 1.0}
    channel_name = "bitflip"

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            return TaskConfig(L=(16,), levels=(0.04, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.15, 0.18),
                              radii=(1, 2, 3, 4, 5, 6), n_train=400, n_test=300, budget=20.0,
                              extra={"centres_per_config": 16, "learned_radii": (1, 2, 3), "global_L": (4, 6), "global_n": 400},
                              opt_in_families=("unet", "patch_mlp", "attention"),
                              family_radii={"patch_mlp": (1, 2), "attention": (1, 2)})
        return TaskConfig(L=(16,), levels=(0.02, 0.04, 0.06, 0.07, 0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.115, 0.12, 0.125,
                                            0.13, 0.14, 0.16, 0.18, 0.2),
                          # 360 reference s per member (measured: docs/decisions/toric-bitflip-budget.md)
                          radii=(1, 2, 3, 4, 5, 6), n_train=2000, n_test=500, budget=360.0,
                          family_options={"cnn": dict(FULL_CNN_TRAINING)},
                          # the exact family alone also at L = 22, r <= 10, on 10000 configurations at 9 levels around
                          # p_c: the sharper yardstick (docs/decisions/toric-exact-yardstick.md)
                          extra={"centres_per_config": 48, "learned_radii": (1, 2, 3, 4, 5, 6),
                                 "exact_L": (22,), "exact_radii": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                                 "exact_levels": (0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.115, 0.12, 0.13),
                                 "exact_n_test": 10000,
                                 "global_L": (6, 8, 10), "global_n": {6: 4000, 8: 1500, 10: 250},
                                 "global_levels": (0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14)})
