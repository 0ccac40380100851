"""A task for any registered model (``phasebench run --model NAME [-p K=V ...] [--channel NAME]``).

The model's declared transitions choose the objective:

1. a transition along one of its parameters with the finite-size data of a crossing estimator
   (``crossing_exponent``, ``nu``): :class:`ParameterTransition`, on a grid around the declared value;
2. else a transition along the level of the chosen channel: :class:`NoiseTransition`, scored as the
   declaration says, on a level grid around it;
3. else :class:`DecayLength`: the xi_eff scan along the level, scored only against an exact Markov
   length where the model has one.

The reference of every excess is the model's exact global posterior where it has one, else each
family's own global member (the objectives' rule).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from phasebench.lattice_models import make_channel, make_model

from .decay_length import DecayLength
from .noise_transition import NoiseTransition
from .parameter_transition import ParameterTransition, exponent_text
from .targets import find_parameter_transition, noise_transition

OBJECTIVES = {cls.objective: cls for cls in (ParameterTransition, NoiseTransition, DecayLength)}
DEFAULT_CHANNEL = "gaussian"


def objective_for_model(model_name: str, model_params: Optional[Dict[str, Any]] = None,
                        channel_name: Optional[str] = None, channel_options: Optional[Dict[str, Any]] = None):
    """The configured task for a model (module doc); ValueError naming an unknown model, parameter or channel."""
    params = dict(model_params or {})
    model = make_model(model_name, **params)  # validates the name and the parameters
    channel_name = channel_name or DEFAULT_CHANNEL
    channel = make_channel(channel_name, **(channel_options or {}))  # validates the channel and its options
    common = dict(model_name=model_name, model_params=params, channel_name=channel_name,
                  channel_options=dict(channel_options or {}))
    found = find_parameter_transition(model)
    if found is not None and found.axis not in params:
        task = ParameterTransition(axis=found.axis, name=f"{model_name}-{found.axis}", **common,
                                   description=f"{model_name} {params} under the {channel_name} channel: place "
                                               f"{found.axis}_c = {found.value:.6g} from crossings of Phi {exponent_text(found.crossing_exponent)}")
        return task
    level = noise_transition(model, channel_name)
    if level is not None:
        return NoiseTransition(name=f"{model_name}-{level.axis}", **common,
                               description=f"{model_name} {params} under the {channel_name} channel: place "
                                           f"{level.axis}_c = {level.value:.6g} from the peak of xi_eff")
    task = DecayLength(name=f"{model_name}-xi_eff", **common,
                       description=f"{model_name} {params} under the {channel_name} channel: xi_eff scan along "
                                   f"{channel.level_name}")
    task.scored = model.markov_length(channel, task.config("quick").levels[0]) is not None
    return task


def task_from_record(name: str, record: Dict[str, Any]):
    """Rebuild the task of a results-file entry written by a ``--model`` run (None for other entries)."""
    info = record.get("task")
    if not isinstance(info, dict) or info.get("objective") not in OBJECTIVES:
        return None
    task = objective_for_model(info["model"], info.get("model_params"), info.get("channel_name"), info.get("channel_options"))
    task.name = name
    return task
