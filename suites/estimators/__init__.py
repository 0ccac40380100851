"""The estimators of phasebench, one module per topic.

* :mod:`.bootstrap`: per-configuration errors, the package's one bootstrap configuration
  (:class:`BootstrapConfig`: resample count and seeds derived from the task's seed), means, paired
  ratios and replicate intervals;
* :mod:`.crossing`: finite-size crossings of a scaled quantity (exponent and target as parameters),
  crossings of bootstrapped curves, the level where a curve reaches a fraction of its end value;
* :mod:`.decay_length`: the decay length of the r-local error fitted over the radii, and the paired ratio
  of a family's to the exact oracle's;
* :mod:`.xi_eff`: xi_eff from increments, its peak along the noise level and the finite-r extrapolation
  of the peak (with its systematic term);
* :mod:`.systematic`: systematic (model) intervals beside the statistical ones, and their combination;
* :mod:`.peaks`: interior peaks of a curve with CIs, and the refined maximum of a sampled curve;
* :mod:`.gain_share`: the share of the exact r-local oracle's gain per ring that a family realises.
"""

from .bootstrap import (
    CI_LEVEL,
    N_RESAMPLES,
    BootstrapConfig,
    Estimate,
    bootstrap_indices,
    bootstrap_means,
    derive_seed,
    mean_with_ci,
    per_config_mse,
    ratio_with_ci,
    replicate_interval,
)
from .crossing import (
    CROSSING_WINDOW,
    crossing_by_local_fit,
    crossing_with_ci,
    finite_size_crossing,
    first_downward_crossing,
    first_upward_crossing_log,
    level_at_fraction_with_ci,
)
from .gain_share import gain_captured
from .peaks import find_interior_peaks, parabolic_max
from .decay_length import analytic_decay_length, decay_length_with_ci, fit_decay_length, paired_decay_length_ratio
from .xi_eff import threshold_from_increments

__all__ = [
    "CI_LEVEL", "N_RESAMPLES", "BootstrapConfig", "Estimate", "bootstrap_indices", "bootstrap_means", "derive_seed",
    "mean_with_ci", "per_config_mse", "ratio_with_ci", "replicate_interval",
    "CROSSING_WINDOW", "crossing_by_local_fit", "crossing_with_ci", "finite_size_crossing", "first_downward_crossing",
    "first_upward_crossing_log", "level_at_fraction_with_ci",
    "gain_captured", "find_interior_peaks", "parabolic_max",
    "analytic_decay_length", "decay_length_with_ci", "fit_decay_length", "paired_decay_length_ratio",
    "threshold_from_increments",
]
