"""Torch parts shared by the networks of ``patch_mlp``, ``attention`` and ``unet``: the level conditioning, the
level-generated linear window skip and the 1x1 head, around a trunk that each architecture supplies.

:class:`ConditionedNet` implements the network contract of :class:`phasebench.denoisers.harness.learned.LearnedFamily`
(buffers ``feature_shift`` / ``feature_scale``, ``forward``, ``infer``, ``forward_groups``, ``channels``, ``flops_per_site``)
and the interface of the ``cnn``'s readout refit (:func:`phasebench.denoisers.cnn.readout_refit.refit_readout`:
``radius``, ``padded``, ``skip``, ``head``, ``trunk_features``, ``embedding``).  The output is

    ``head(trunk(y, e)) + K(e) * y``

with ``e`` the embedding of the level feature (and of a model parameter such as T), ``K(e)`` a
``(2 s + 1) x (2 s + 1)`` circular convolution of the data inputs whose kernel is a linear function of ``e``
(``s = radius``), and ``head`` a 1x1 convolution.  Head and skip start at zero, so the untrained network is the
trivial predictor (the mean, or the single-site posterior with the Bayes output).  For a Gaussian model (the GFF) the
r-local optimum is linear, so the skip alone, refitted by least squares, reaches it; the trunk carries everything
nonlinear (docs/physics.md, section 4).

Light cone: the skip reads Chebyshev distance ``radius``; the head is per-site; the embedding is of scalars,
not data.  So a network's light cone is the larger of ``radius`` and its trunk's.  Nothing here normalises or
pools over the lattice or the batch.

Imported lazily (by the architectures' ``build_network``), so that importing the package does not import torch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def circular_pad(x, r: int):
    """``x`` (n, c, L, L) padded by ``r`` sites on every side with the opposite edges (the torus)."""
    return F.pad(x, (r, r, r, r), mode="circular") if r else x


def film_layer(embed_dim: int, units: int):
    """A zero-initialised FiLM generator: ``e -> (gamma, beta)`` for ``units`` channels (identity at start)."""
    film = nn.Linear(embed_dim, 2 * units)
    nn.init.zeros_(film.weight)
    nn.init.zeros_(film.bias)
    return film


def modulate(h, film, e):
    """FiLM: ``h (1 + gamma(e)) + beta(e)`` per channel; ``e`` is (1, E) (one level for the batch) or (n, E)."""
    gamma, beta = film(e).view(len(e), 2, -1).unbind(1)
    return h * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]


def film_conv(conv, film, e, h, fold: bool = False):
    """``modulate(conv(h), film, e)``.  ``fold`` (inference, one embedding ``e`` of shape (1, E)): the FiLM is
    folded into the convolution, weights W (1 + gamma) and bias b (1 + gamma) + beta per output channel, which
    saves two passes over the activations; equal up to float rounding
    (docs/decisions/cnn-inference-film-fold.md).  The module's own forward runs with the folded weights, so its
    padding (circular) and strides are kept."""
    if not fold:
        return modulate(conv(h), film, e)
    gamma, beta = film(e).view(len(e), 2, -1).unbind(1)
    scale = 1.0 + gamma[0]
    return conv._conv_forward(h, conv.weight * scale[:, None, None, None], conv.bias * scale + beta[0])


def level_embedding(net, feature):
    """``net.embed`` of the standardised conditioning feature(s) (buffers ``feature_shift``, ``feature_scale``):
    of one feature, shape (1, embed_dim), or of a list of features or a tensor of them (G, feature_dim) on the
    network's device, (G, embed_dim)."""
    shift = net.feature_shift
    if torch.is_tensor(feature):  # already a table on the device: no host-to-device copy (capturable)
        f = feature.view(len(feature), -1)
    else:
        values = np.asarray(feature, dtype=np.float64)
        values = values.reshape(len(feature), -1) if isinstance(feature, list) else values.reshape(1, -1)
        f = torch.as_tensor(values, dtype=shift.dtype, device=shift.device)
    return net.embed((f - shift) / net.feature_scale)


class ConditionedNet(nn.Module):
    """Level embedding, linear radius-``radius`` skip and 1x1 head around :meth:`trunk` (module doc).

    Subclasses set ``self.width`` (the trunk's output channels) before calling :meth:`add_readout`, implement
    :meth:`trunk` and :meth:`trunk_flops`.  ``n_inputs = channels + extra_inputs`` (the Bayes output's extra
    inputs are the single-site posteriors; the skip reads the first ``channels`` inputs only).
    """

    def __init__(self, channels: int, radius: int, embed_dim: int, feature_dim: int, extra_inputs: int):
        super().__init__()
        self.channels, self.radius, self.n_inputs = channels, radius, channels + extra_inputs
        self.embed = nn.Sequential(nn.Linear(feature_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim), nn.SiLU())
        self.register_buffer("feature_shift", torch.zeros(feature_dim))
        self.register_buffer("feature_scale", torch.ones(feature_dim))

    def add_readout(self, width: int, embed_dim: int) -> None:
        """The head (``width`` trunk channels -> ``channels``) and the skip-kernel generator, both zero."""
        k = 2 * self.radius + 1
        self.head = nn.Conv2d(width, self.channels, 1)
        self.skip = nn.Linear(embed_dim, self.channels * self.channels * k * k)
        for m in (self.head, self.skip):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    # -- what an architecture supplies ---------------------------------------------------------
    def trunk(self, y, e):
        """Trunk features (n, width, L, L) of the inputs ``y`` (n, n_inputs, L, L) at embeddings ``e`` (a trunk
        with ``folds_film`` also takes ``fold``)."""
        raise NotImplementedError

    def trunk_flops(self) -> float:
        """Multiply-adds per output site of the trunk."""
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------------
    def embedding(self, feature):
        return level_embedding(self, feature)

    def padded(self, y):
        return circular_pad(y, self.radius)

    def skip_linear(self, y, e):
        """The level-generated radius-``radius`` linear filter of the data inputs (the first ``channels``)."""
        C, k = self.channels, 2 * self.radius + 1
        x = self.padded(y[:, :C])
        weights = self.skip(e)
        if len(e) == 1:
            return F.conv2d(x, weights.view(C, C, k, k))
        patches = F.unfold(x, kernel_size=k)
        return torch.bmm(weights.view(len(e), C, C * k * k), patches).view(len(y), C, *y.shape[2:])

    def trunk_features(self, y, feature):
        """(trunk output (n, width, L, L), level embedding (embed_dim,)): what the readout refit regresses on."""
        e = self.embedding(feature)
        return self.trunk(y, e), e[0]

    def forward(self, y, feature):
        e = self.embedding(feature)
        return self.head(self.trunk(y, e)) + self.skip_linear(y, e)

    #: the architecture's :meth:`trunk` takes ``fold`` (:func:`film_conv`) for inference at one level
    folds_film = False

    def infer(self, y, feature):
        """``forward`` for inference without gradients at one level (``feature`` for the whole batch); with the
        FiLM folded into the convolutions where the trunk supports it, equal to float rounding."""
        if not self.folds_film:
            return self.forward(y, feature)
        e = self.embedding(feature)
        return self.head(self.trunk(y, e, fold=len(e) == 1)) + self.skip_linear(y, e)

    def forward_groups(self, y, features, b: int):
        """``forward`` for G groups of b consecutive samples, group g at ``features[g]``."""
        e = self.embedding(features if torch.is_tensor(features) else list(features)).repeat_interleave(b, dim=0)
        return self.head(self.trunk(y, e)) + self.skip_linear(y, e)

    def flops_per_site(self) -> float:
        """Multiply-adds per output site: the trunk's, the head's and the skip's (the per-level embedding MLP is
        excluded: it runs once per level, not per site)."""
        k = 2 * self.radius + 1
        return float(self.trunk_flops() + self.head.weight.numel() + self.channels * self.channels * k * k)
