"""The ``cnn`` family (and its alias ``cnn-bayes``), the first architecture on the learned-family harness
(:mod:`phasebench.denoisers.harness`): the family (:mod:`.family`), its network (:mod:`.network`), its default
settings (:mod:`.settings`) and its linear readout's least-squares refit (:mod:`.readout_refit`).
Importing registers both names."""

from .family import BayesCNNDenoiser, CNNDenoiser

__all__ = ["CNNDenoiser", "BayesCNNDenoiser"]
