"""The targets of the objectives: the transitions a model declares (:meth:`LatticeModel.transitions`)."""

from __future__ import annotations

from typing import Optional

from phasebench.lattice_models import Transition


def parameter_transition(model, axis: Optional[str] = None) -> Transition:
    """The model's declared transition along one of its parameters (``axis``, or the first such) that
    carries the finite-size data of a crossing estimator (``crossing_exponent`` and ``nu``).

    ValueError if there is none: a parameter-axis objective has nothing to place."""
    found = find_parameter_transition(model, axis)
    if found is None:
        where = f"along {axis!r}" if axis else "along a parameter"
        raise ValueError(f"model {model.name!r} declares no transition {where} with a crossing exponent and nu "
                         f"(its parameters: {', '.join(model.values)})")
    return found


def find_parameter_transition(model, axis: Optional[str] = None) -> Optional[Transition]:
    for t in model.transitions():
        usable = not t.along_noise and t.axis in model.values and t.crossing_exponent is not None and t.nu is not None
        if usable and (axis is None or t.axis == axis):
            return t
    return None


def noise_transition(model, channel_name: str) -> Optional[Transition]:
    """The model's declared transition along the level of the named channel, or None."""
    for t in model.transitions():
        if t.along_noise and t.channel == channel_name:
            return t
    return None
