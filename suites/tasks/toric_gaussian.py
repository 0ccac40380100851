"""``toric-gaussian`` (unscored measurement): the toric pipeline with the Gaussian channel on +-1 edges.

The posterior is a Gaussian random-bond Ising model on its Nishimori line (docs/physics.md,
section 3); its critical SNR is *unverified*: the model declares lambda_c = 1.04 (a recollected
J_0/sigma ~ 1.02, squared) with ``scored=False``.  The task reports its own estimate of lambda_c, with
a CI, from the peak of the exact r-local oracle's xi_eff(lambda) and from the logical-failure
crossings of the exact global decoder, and whether each family's CI contains the declared value
(``agrees_with_declared``).  Nothing here is scored.
"""

from __future__ import annotations

from ..objectives.base import TaskConfig
from ..objectives.noise_transition import NoiseTransition
from .base import TASKS


@TASKS.register("toric-gaussian")
class ToricGaussianTask(NoiseTransition):
    description = ("toric-code loops under the Gaussian channel on +-1 edges: measured lambda_c "
                   "(unscored; the declared recollected value is unverified)")
    model_name = "toric_loops"
    model_params = {"x": 1.0}
    channel_name = "gaussian"
    channel_options = {"encode_binary_as_spin": True}

    def config(self, division: str) -> TaskConfig:
        if division == "quick":
            return TaskConfig(L=(16,), levels=(0.4, 0.7, 0.85, 1.0, 1.15, 1.3, 1.6, 2.2), radii=(1, 2, 3, 4, 5, 6),
                              n_train=400, n_test=120, budget=20.0,
                              extra={"centres_per_config": 12, "learned_radii": (), "global_L": (4, 6), "global_n": 300})
        return TaskConfig(L=(16,), levels=(0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.8, 2.4, 3.2),
                          radii=(1, 2, 3, 4, 5, 6), n_train=2000, n_test=400, budget=120.0,
                          extra={"centres_per_config": 32, "learned_radii": (1, 2, 3, 4, 5, 6),
                                 "global_L": (6, 8, 10), "global_n": {6: 2000, 8: 800, 10: 150},
                                 "global_levels": (0.7, 0.85, 1.0, 1.15, 1.3, 1.5)},
                          # the bit-flip task's step settings (measured: docs/decisions/toric-gaussian-cnn-options.md)
                          family_options={"cnn": {"batch": 2, "lr": 1e-2, "lr_final": 1e-4}})
