"""The base of the learned families whose networks are :class:`phasebench.denoisers.harness.conditioned_net.ConditionedNet`
(``patch_mlp``, ``attention``, ``unet``): their training settings, the readout refit and the lattice checks.

Settings: the ``cnn``'s measured training defaults (:mod:`phasebench.denoisers.cnn.settings`: the linear readout's
or the Bayes output's, overlaid by the bit-flip defaults under bit flip; docs/decisions/cnn-settings.md), restricted
to what every architecture shares (:data:`SHARED_KEYS`), overlaid by the architecture's own
(:attr:`ReadoutRefitFamily.training_overrides`), overlaid by every option the user gave.  They were measured on
the ``cnn``, not on these networks.  These networks take no parity-check inputs, so the error frame is off.

Finish: with the linear readout, the share ``polish_fraction`` of the budget goes to the exact least-squares
refit of the head and the skip-kernel generator (:func:`phasebench.denoisers.cnn.readout_refit.polish_readout`),
as for the ``cnn``: SGD alone does not reach the 1e-4 relative precision at which the GFF's r-local excesses
are resolved.
"""

from __future__ import annotations

from typing import ClassVar, Dict

from ..base import Hyperparameter
from .learned import TRAINING_HYPERPARAMETERS, LearnedFamily

#: the training settings every architecture takes from the cnn's defaults
SHARED_KEYS = ("lr", "lr_final", "adaptive_weights", "batch", "polish_fraction", "grad_clip")


def count(name: str, default, doc: str, low: int = 0) -> Hyperparameter:
    return Hyperparameter(name, default, "int", doc, low=low)


#: the options of the linear readout's least-squares refit (the ``cnn``'s too)
POLISH_HYPERPARAMETERS = (
    Hyperparameter("polish_fraction", None, "float", "share of the budget for the linear readout's least-squares "
                   "refit (None: 0.1 under bit flip, else 0.5; unused with the Bayes output)", low=0.0, high=1.0,
                   high_inclusive=False),
    count("polish_configs", None, "configurations per group of the readout refit (None: from the budget, or 256 "
          "when steps is given)"),
)
#: the options of the readout and its refit, common to the three architectures (then :data:`TRAINING_HYPERPARAMETERS`)
READOUT_HYPERPARAMETERS = (count("embed_dim", 32, "width of the level (and condition) embedding", low=1),
                           *POLISH_HYPERPARAMETERS, *TRAINING_HYPERPARAMETERS)


class ReadoutRefitFamily(LearnedFamily):
    """A learned family with a :class:`ConditionedNet` network (module doc).  Subclasses declare their
    hyperparameters (their own, then :data:`READOUT_HYPERPARAMETERS`), ``network_args``, ``build_network``, and
    :meth:`min_lattice`."""

    #: by default only where a grid opts it in (``TaskConfig.opt_in_families``) and in the full division; else by name
    default_run = False

    #: the architecture's training defaults over the cnn's (e.g. a lower learning rate)
    training_overrides: ClassVar[Dict[str, object]] = {}

    def resolve_settings(self, channel, bayes, model) -> dict:
        from ..cnn.settings import BAYES_DEFAULTS, BITFLIP_DEFAULTS, LINEAR_DEFAULTS

        defaults = {**(BAYES_DEFAULTS if bayes else LINEAR_DEFAULTS), **(BITFLIP_DEFAULTS if channel.discrete_observations else {})}
        s = {**{k: defaults[k] for k in SHARED_KEYS}, **self.training_overrides}
        for name in s:
            if getattr(self, name) is not None:
                s[name] = getattr(self, name)
        return {**s, "error_frame": False, "bayes": bayes}

    def finish_share(self, settings, bayes) -> float:
        return 0.0 if bayes else settings["polish_fraction"]

    def finish(self, net, batches, features, levels, settings, budget, bayes) -> dict:
        from ..cnn.readout_refit import polish_readout

        return polish_readout(self, net, batches, features, levels, settings, budget, bayes)

    def fit_details(self, settings) -> dict:
        return {"polish_fraction": settings["polish_fraction"]}

    def min_lattice(self) -> int:
        """The smallest lattice side the network takes (its circular paddings must not exceed the side)."""
        return max(1, self.radius or 0)

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if clean_train.shape[-1] < self.min_lattice():
            raise ValueError(f"family {self.name!r} needs L >= {self.min_lattice()} (circular padding), "
                             f"got L = {clean_train.shape[-1]}")
        super()._fit(clean_train, channel, levels, seed, budget, model)

    def _denoise(self, y, level, **condition):
        if y.shape[-1] != y.shape[-2] or y.shape[-1] < self.min_lattice():
            raise ValueError(f"y must have shape (n, C, L, L) with L >= {self.min_lattice()}, got {y.shape}")
        return super()._denoise(y, level, **condition)
