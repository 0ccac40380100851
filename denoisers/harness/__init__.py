"""The learned-family harness: generic machinery of trained denoiser families, apart from any one architecture.

* :mod:`.learned`: :class:`LearnedFamily`, the base class an architecture subclasses (it supplies its network
  and its hyperparameters), and :data:`TRAINING_HYPERPARAMETERS`, the training options every learned family takes;
* :mod:`.noisy_batches`: data, encoded and standardised spaces, and fresh noisy training batches per level;
* :mod:`.adam`: the Adam loop on the level-weighted x0-prediction MSE, with its CUDA-graph path;
* :mod:`.budget`: budgets in reference seconds (work, not wall-clock time);
* :mod:`.output_heads`: the Bayes output for +-1 variables, the linear readout otherwise;
* :mod:`.fit_record`: the fit record (losses, steps, size, cost) and the collapse predicate;
* :mod:`.conditioned_net` (torch, imported lazily) and :mod:`.readout_family`: the network parts and the family base
  that ``patch_mlp``, ``attention`` and ``unet`` share (level embedding, linear skip, 1x1 head, readout refit).
"""

from .fit_record import COLLAPSE_FRACTION, FitRecord, fit_collapsed
from .learned import TRAINING_HYPERPARAMETERS, LearnedFamily

__all__ = ["COLLAPSE_FRACTION", "FitRecord", "LearnedFamily", "TRAINING_HYPERPARAMETERS", "fit_collapsed"]
