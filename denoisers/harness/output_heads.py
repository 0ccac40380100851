"""The output heads of learned denoisers: the Bayes output for +-1 variables, the linear readout otherwise.

A head maps the network's output to the posterior-mean estimate, in training (standardised units) and in
``denoise`` (data space).  Which head a fit uses (:func:`uses_bayes_output`, ``output="auto"``):

* spin (+-1) variables, and binary (0/1) variables that the channel encodes as spins ``u = 1 - 2 x`` (bit
  flip always; Gaussian with ``encode_binary_as_spin``): :class:`BayesOutput`, below;
* real variables, and binary variables that the Gaussian channel keeps as 0/1: :class:`LinearReadout`,
  the posterior mean in standardised units, decoded and clipped to the variable's range ([0, 1] for bits).

The Bayes output (docs/physics.md, section 2): for +-1 data ``u`` observed through a memoryless channel the
posterior of a site is ``E[u_i | y] = tanh(h_i + H_i)``: the site's own likelihood field ``h_i``,
known in closed form, plus the field ``H_i`` of the prior given the other observations (the
cavity field).  The likelihood field is ``a y_i / s^2`` for ``y = a u + s z`` (Gaussian) and
``atanh(1 - 2p) y_i`` for a +-1 observation flipped with probability p
(``P(y | u) = exp(J u y) / (2 cosh J)`` with ``tanh J = 1 - 2p``).
A network that predicts ``H_i`` and outputs the tanh starts, untrained, at the single-site
posterior and represents the exact posterior's saturation for free (used by ``cnn``).
"""

from __future__ import annotations

import numpy as np

from .noisy_batches import Standardiser


def bayes_output_applies(channel, std: Standardiser) -> bool:
    """The Bayes output applies to +-1 encoded data (spins, spin-encoded bits) under a channel that takes them
    (a memoryless channel on +-1 data has a site field: ``NoiseChannel.spin_field_gain``)."""
    return channel.supports(std.kind) and std.output_range() == (-1.0, 1.0)


class BayesLocalField:
    """The Bayes output for +-1 data under the Gaussian or bit-flip channel (docs/physics.md, section 2).

    The posterior of a +-1 site is ``E[u_i | y] = tanh(g y_i + H_i)`` (g: the channel's
    ``spin_field_gain``): the first term is the site's own likelihood field, known in closed form; the network
    predicts the rest, the field ``H_i`` of the prior given the other observations (the cavity field).  For
    training it maps the network output to standardised units per group, and weights every
    group by ``sd_u^2 / channel.single_site_mmse(level)`` so each level contributes a relative error.
    """

    def __init__(self, std: Standardiser, levels, dtype, device):
        import torch

        def col(v):
            return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype, device=device).view(1, -1, 1, 1)

        gains, sd, mean, weights = [], [], [], []
        for lv in levels:
            mean_y, sd_y = std.noisy_moments(lv)  # y = y' sd_y + mean_y in encoded units
            gains.append(col(std.channel.spin_field_gain(lv)))
            sd.append(col(sd_y))
            mean.append(col(mean_y))
            weights.append(col(std.sd**2 / std.channel.single_site_mmse(lv)))
        self.gain, self.sd_y, self.mean_y, self.weights = torch.cat(gains), torch.cat(sd), torch.cat(mean), weights
        self.mu, self.sd = col(std.mu), col(std.sd)

    def encoded(self, y_std, b: int, groups):
        """Standardised observations ``y_std`` of ``groups`` (indices), b consecutive samples each, back in encoded
        units (+-1 under bit flip)."""
        return y_std * self.sd_y[groups].repeat_interleave(b, 0) + self.mean_y[groups].repeat_interleave(b, 0)

    def field(self, y_encoded, b: int, groups):
        """The likelihood field ``g y`` of encoded observations (:meth:`encoded`)."""
        return y_encoded * self.gain[groups].repeat_interleave(b, 0)

    def standardised_output(self, local, field):
        """``(tanh(local + field) - mu_u) / sd_u``."""
        import torch

        return (torch.tanh(local + field) - self.mu) / self.sd


def uses_bayes_output(output: str, channel, std: Standardiser) -> bool:
    """Whether a fit with ``output`` ("auto", "linear" or "bayes") uses :class:`BayesOutput`; ValueError for
    "bayes" where it does not apply (:func:`bayes_output_applies`)."""
    applies = bayes_output_applies(channel, std)
    if output == "bayes" and not applies:
        raise ValueError("output='bayes' needs +-1 (encoded) data under the Gaussian or bit-flip channel")
    return output == "bayes" or (output == "auto" and applies)


class LinearReadout:
    """The network's output is the posterior mean of the standardised encoded variable, ``u'``; decoded, and
    clipped to the variable's range where it has one (real variables; bits the channel keeps as 0/1)."""

    name = "linear"

    def __init__(self, std: Standardiser):
        self.std = std

    def extra_inputs(self, channels: int) -> int:
        return 0

    def predictor(self, net, feature_table, batches, groups, dtype, device):
        """``predict_groups(y_std, b, ks) -> u'_hat`` for the Adam loop."""
        def predict_groups(y, b, ks):
            return net.forward_groups(y, feature_table[ks], b)

        return predict_groups

    def inputs(self, y_std: np.ndarray, y_encoded: np.ndarray, level: float) -> np.ndarray:
        return y_std

    def estimate(self, out: np.ndarray, y_encoded: np.ndarray, level: float) -> np.ndarray:
        """The posterior-mean estimate in data space from the network's output ``out``."""
        std, shape = self.std, (1, -1, 1, 1)
        u = out * std.sd.reshape(shape) + std.mu.reshape(shape)
        bounds = std.output_range()
        if bounds is not None:
            u = np.clip(u, *bounds)
        return std.decode(u)


class BayesOutput:
    """``E[u_i | y] = tanh(g y_i + H_i)`` for +-1 encoded variables; the network predicts the field ``H_i``
    (:class:`BayesLocalField`) and also sees the single-site posteriors ``tanh(g y)`` (a per-site function of
    its input, so the light cone is unchanged).  With ``frame``, the network's output is the field in the frame
    of the observation's sign, ``H_i = sign(y_i) G_i`` (:mod:`phasebench.denoisers.cnn` explains when that helps).
    """

    name = "bayes"

    def __init__(self, std: Standardiser, frame: bool = False):
        self.std, self.frame = std, bool(frame)

    def extra_inputs(self, channels: int) -> int:
        return channels

    def predictor(self, net, feature_table, batches, groups, dtype, device):
        """``predict_groups(y_std, b, ks) -> u'_hat`` for the Adam loop; sets the groups' loss weights
        (``sd_u^2 / channel.single_site_mmse``) on ``batches``."""
        import torch

        local = BayesLocalField(self.std, groups, dtype, device)
        batches.weights = local.weights
        frame = self.frame

        def predict_groups(y, b, ks):
            y_encoded = local.encoded(y, b, ks)
            field = local.field(y_encoded, b, ks)
            H = net.forward_groups(torch.cat([y, torch.tanh(field)], 1), feature_table[ks], b)
            return local.standardised_output(field, H * torch.sign(y_encoded) if frame else H)

        return predict_groups

    def inputs(self, y_std: np.ndarray, y_encoded: np.ndarray, level: float) -> np.ndarray:
        local = self.std.channel.spin_field_gain(level) * y_encoded
        return np.concatenate([y_std, np.tanh(local)], axis=1)

    def estimate(self, out: np.ndarray, y_encoded: np.ndarray, level: float) -> np.ndarray:
        if self.frame:  # ... in the frame of the observation: its sign times H
            out = out * np.sign(y_encoded)
        return self.std.decode(np.tanh(self.std.channel.spin_field_gain(level) * y_encoded + out))
