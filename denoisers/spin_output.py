"""The Bayes output of learned denoisers for +-1 data under the Gaussian channel.

Physics reference, section 2: for +-1 data ``u`` and ``y = a u + s z`` the posterior of a site
is ``E[u_i | y] = tanh(a y_i / s^2 + H_i)``: the site's own likelihood field, known in closed
form, plus the field ``H_i`` of the prior given the other observations (the cavity field).
A network that predicts ``H_i`` and outputs the tanh starts, untrained, at the single-site
posterior and represents the exact posterior's saturation for free (used by ``cnn``).
"""

from __future__ import annotations

import math

import numpy as np

from lattice_models.channels import GaussianChannel

from .training import Standardiser


def bayes_output_applies(channel, std: Standardiser) -> bool:
    """The Bayes output applies to +-1 encoded data (spins, spin-encoded bits) under the Gaussian channel."""
    return isinstance(channel, GaussianChannel) and std.output_range() == (-1.0, 1.0)


def single_site_mmse(level: float) -> float:
    """MMSE of a uniform +-1 variable from y = a u + s z alone: ``1 - E[tanh(lambda + sqrt(lambda) z)]``.

    (Nishimori identity E[u tanh(eta)] = E[tanh(eta)^2]; eta = a y / s^2 = lambda u + sqrt(lambda) z.)
    """
    z, w = np.polynomial.hermite_e.hermegauss(120)
    return float(max(1.0 - (w @ np.tanh(level + math.sqrt(level) * z)) / w.sum(), 1e-12))


class BayesLocalField:
    """The Bayes output for +-1 data under the Gaussian channel (physics reference, section 2).

    The posterior of a +-1 site is ``E[u_i | y] = tanh(a y_i / s^2 + H_i)``: the first term
    is the site's own likelihood field, known in closed form; the network predicts the rest,
    the field ``H_i`` of the prior given the other observations (the cavity field).  For
    training it maps the network output to standardised units per group, and weights every
    group by ``sd_u^2 / single_site_mmse(level)`` so each level contributes a relative error.
    """

    def __init__(self, std: Standardiser, levels, dtype, device):
        import torch

        def col(v):
            return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype, device=device).view(1, -1, 1, 1)

        scale, shift, weights = [], [], []
        for lv in levels:
            a, s = std.channel.amplitudes(lv)
            mean_y, sd_y = std.noisy_moments(lv)  # y = y' sd_y + mean_y in encoded units
            scale.append(col(a * sd_y / (s * s)))
            shift.append(col(a * mean_y / (s * s)))
            weights.append(col(std.sd**2 / single_site_mmse(lv)))
        self.scale, self.shift, self.weights = torch.cat(scale), torch.cat(shift), weights
        self.mu, self.sd = col(std.mu), col(std.sd)

    def field(self, y_std, b: int, groups):
        """The likelihood field ``a y / s^2`` of standardised observations of ``groups`` (indices), b consecutive
        samples each."""
        return y_std * self.scale[groups].repeat_interleave(b, 0) + self.shift[groups].repeat_interleave(b, 0)

    def standardised_output(self, local, field):
        """``(tanh(local + field) - mu_u) / sd_u``."""
        import torch

        return (torch.tanh(local + field) - self.mu) / self.sd
