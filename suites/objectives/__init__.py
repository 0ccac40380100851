"""Generic objectives: what a task measures and scores, independent of the model.

* :class:`ParameterTransition`: place a transition along a model parameter (the crossing of
  ``Phi L^a``; ``ising-temperature``);
* :class:`NoiseTransition`: place a transition along the noise level (the peak of ``xi_eff``;
  ``toric-bitflip``, ``toric-gaussian``);
* :class:`DecayLength`: ``xi_eff`` along the level, calibrated against the exact Markov length
  (``gff-markov``), or an unscored scan.

:func:`objective_for_model` picks and configures one for any registered model (``phasebench run --model``).
"""

from .base import DIVISIONS, Task, TaskConfig, check_division
from .decay_length import DecayLength
from .generation import Generation
from .for_model import OBJECTIVES, objective_for_model, task_from_record
from .noise_transition import NoiseTransition
from .parameter_transition import ParameterTransition

__all__ = ["DIVISIONS", "Task", "TaskConfig", "check_division", "DecayLength", "Generation", "NoiseTransition", "ParameterTransition",
           "OBJECTIVES", "objective_for_model", "task_from_record"]
