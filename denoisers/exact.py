"""The ``exact`` family: the model's own exact oracle.

For radius ``None`` it is the exact global posterior mean; for a finite radius
the exact best radius-r estimator (for the GFF, the r-local linear optimum;
for the toric loops, the exact window posterior).  It is available only where
the model provides the oracle for the channel (``supports_exact_posterior``).
"""

from __future__ import annotations

from .base import DENOISERS, DenoiserFamily


@DENOISERS.register("exact")
class ExactOracle(DenoiserFamily):
    description = "the model's exact posterior mean (global) or exact best r-local estimator"
    radius_semantics = "exact best estimator from the radius-r window (None: global posterior mean)"
    trainable = False
    nested_projections = True  # conditional expectations given nested windows (tower property)
    hyperparameters = ()

    @classmethod
    def supports_member(cls, model, channel, radius, L) -> bool:
        """Where the model has the exact oracle of that radius for the channel at size L."""
        return model is not None and model.supports_exact_posterior(channel, radius, L)

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if model is None:
            raise ValueError("the exact family needs the lattice model: fit(..., model=...)")
        if not model.supports_exact_posterior(channel, self.radius, self.L_):
            r = "global" if self.radius is None else f"radius {self.radius}"
            raise ValueError(f"model {model.name!r} has no exact {r} oracle for the {channel.name} channel at L={self.L_}")
        self.model_ = model

    def _denoise(self, y, level):
        return self.model_.exact_posterior_mean(y, self.channel_, level, self.radius)
