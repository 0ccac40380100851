"""Default training and architecture settings of the ``cnn`` family (:mod:`phasebench.denoisers.cnn`), and their resolution.

A fit's settings are the output's defaults (linear readout or Bayes output), overlaid by the
bit-flip defaults under a channel with discrete observations (bit flip), overlaid by every option the user
gave explicitly.  Every default was measured: docs/decisions/cnn-settings.md holds the measurements, what
was tried against them, and the commands that reproduce them.
"""

from __future__ import annotations

#: training defaults per output: the linear readout is refitted by least squares after Adam; the
#: Bayes output is trained by Adam alone, with adaptive group weights and 4 window features.  Final learning
#: rate 1e-5 for both (measured: docs/decisions/cnn-settings.md §1); window features (§2)
LINEAR_DEFAULTS = {"lr": 3e-3, "lr_final": 1e-5, "adaptive_weights": False, "window_features": 0, "periodic_share": 0.0,
                   "batch": 8, "polish_fraction": 0.5, "checks": True, "error_frame": None, "grad_clip": None}
BAYES_DEFAULTS = {**LINEAR_DEFAULTS, "adaptive_weights": True, "window_features": 4}
#: defaults under the bit-flip channel: periodic units in half the width, 2 configurations per level per
#: step, a tenth of the budget for the readout refit (measured: docs/decisions/cnn-settings.md §4); learning
#: rate 1e-2 -> 1e-4 and no window features (§5); gradient clipping stays off (§9).  The full division's
#: toric-bitflip training overrides these (docs/decisions/toric-bitflip-full-cnn-training.md)
BITFLIP_DEFAULTS = {"periodic_share": 0.5, "batch": 2, "polish_fraction": 0.1, "lr": 1e-2, "lr_final": 1e-4,
                    "window_features": 0}


def resolve_settings(family, channel, bayes: bool, model=None) -> dict:
    """The settings of one fit of ``family`` (a ``CNNDenoiser``) under ``channel``, with or without the Bayes output.

    ``check_stencils``: the parity checks the first layer sees (the ``model``'s, with the Bayes output and
    ``checks`` on, at r >= 1).  ``error_frame`` (``None``: automatic) is on exactly where there are such checks.
    """
    discrete = channel.discrete_observations  # bit flip: the noisy inputs are bits
    s = {**(BAYES_DEFAULTS if bayes else LINEAR_DEFAULTS), **(BITFLIP_DEFAULTS if discrete else {})}
    s["periodic"] = int(s.pop("periodic_share") * family.width)
    if family.depth < 1:  # no 1x1 layer to take window features
        s["window_features"] = 0
    for name in list(s):  # every setting is a hyperparameter of the family: the ones the user gave win
        if getattr(family, name) is not None:
            s[name] = getattr(family, name)
    checks = getattr(model, "parity_checks", ()) if bayes and s["checks"] and family.radius else ()
    if s["error_frame"] and not bayes:
        raise ValueError("error_frame needs the Bayes output (+-1 data under the Gaussian or bit-flip channel)")
    if s["error_frame"] is None:
        s["error_frame"] = bool(checks)
    return {**s, "bayes": bayes, "check_stencils": checks}
