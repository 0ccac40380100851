"""Lattice models, samplers, noise channels and exact theory.

Importing the package registers the built-in models; third-party models
register through the ``phasebench.lattice_models`` entry-point group.
"""

from .base import MODELS, LatticeModel, Param, Transition, make_model, parse_param_assignments
from .channels import CHANNELS, BitFlipChannel, GaussianChannel, NoiseChannel, make_channel
from .registry import Registry, UnknownNameError

# Built-in models: one module each; importing registers them.
from . import gff, ising, toric_loops  # noqa: E402,F401

__all__ = [
    "MODELS", "CHANNELS", "LatticeModel", "Param", "Transition", "NoiseChannel",
    "GaussianChannel", "BitFlipChannel", "Registry", "UnknownNameError",
    "make_model", "make_channel", "parse_param_assignments",
]
