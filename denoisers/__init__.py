"""Denoiser families, training and the locality audit.

Importing the package registers the built-in families; third-party families
register through the ``phasebench.denoisers`` entry-point group.
"""

from .base import DENOISERS, DenoiserFamily, Hyperparameter, make_family, validate_radius
from .harness import LearnedFamily

__all__ = ["DENOISERS", "DenoiserFamily", "Hyperparameter", "LearnedFamily", "make_family", "validate_radius"]

# Built-in families: one module (or subpackage) each; importing registers them.
from . import attention, bp, cnn, exact, linear, mwpm, patch_mlp, unet  # noqa: E402,F401
