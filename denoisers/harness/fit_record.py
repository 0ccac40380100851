"""The record of one learned fit (``fit_info_``, ``describe()["fit"]``): losses, steps, size, cost, collapse.

The initial loss is the Adam loop's first step's, the untrained network's; for the suite's networks (zero-initialised
readout) that is the trivial predictor's: the single-site posterior with the Bayes output, the mean otherwise.  A fit
whose final loss is at least :data:`COLLAPSE_FRACTION` of it *collapsed* to that trivial predictor instead of
learning (:func:`fit_collapsed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping

#: multiply-adds of a training step per forward multiply-add: forward and backward pass (the backward pass costs about
#: twice the forward one); training compute = this x forward multiply-adds per site x sites of the Adam loop
TRAINING_PASS_FACTOR = 3

#: a trained member whose final loss is at least this fraction of its untrained network's (``initial_loss``, the
#: trivial predictor's) collapsed instead of learning (measured: docs/decisions/collapse-flag.md)
COLLAPSE_FRACTION = 0.9


def fit_collapsed(fit: Mapping[str, Any]) -> bool:
    """Whether a fit record (a mapping with ``initial_loss`` and ``final_loss``) shows a collapse: final loss at
    least :data:`COLLAPSE_FRACTION` of a finite, positive initial loss.  Records without both losses (exact oracles,
    older results files) never do."""
    first, last = fit.get("initial_loss", math.nan), fit.get("final_loss", math.nan)
    return math.isfinite(first) and first > 0 and math.isfinite(last) and last >= COLLAPSE_FRACTION * first


@dataclass
class FitRecord:
    """What every learned fit records, and ``details``: what its family adds (device, timings, settings)."""

    steps: int
    initial_loss: float
    final_loss: float
    n_params: int
    flops_per_site: float
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def collapsed(self) -> bool:
        return fit_collapsed({"initial_loss": self.initial_loss, "final_loss": self.final_loss})

    def as_dict(self) -> Dict[str, Any]:
        return {**self.details, "steps": self.steps, "initial_loss": self.initial_loss, "final_loss": self.final_loss,
                "n_params": self.n_params, "flops_per_site": self.flops_per_site, "collapsed": self.collapsed}
