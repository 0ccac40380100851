"""The ``cnn`` family (and its alias ``cnn-bayes``): importing registers them."""

from .family import CNNDenoiser
from .bayes_alias import BayesCNNDenoiser

__all__ = ["CNNDenoiser", "BayesCNNDenoiser"]
