"""``unet``: a global learned denoiser, a U-Net on the torus conditioned on the noise level; the learned global
reference on lattices larger than the exact oracles reach.

Network (:func:`build_network`, on :class:`phasebench.denoisers.harness.conditioned_net.ConditionedNet`), all layers
``width`` channels, every convolution 3x3 with circular padding (the torus; never zero padding), every layer
followed by FiLM from the level embedding and SiLU:

* stem at full resolution; then ``D`` encoder steps, each a convolution, kept for the decoder, then a 2x2 average
  pooling (the down-sampling);
* bottleneck: a convolution of the coarsest features concatenated with their mean over the lattice (per
  configuration: one sample's own sites, never the batch), so every site sees the whole torus whatever L;
* ``D`` decoder steps, each a nearest-neighbour up-sampling by 2, concatenated with the encoder's features of that
  resolution, and a convolution;
* readout: a 1x1 head and a level-generated linear skip of radius ``skip_radius`` (default 0: a per-site linear
  term; the global linear part is the trunk's to learn, refitted with the head by least squares under the linear
  readout); with the Bayes output the cavity field (:mod:`phasebench.denoisers.harness.output_heads`).

Torus: the 2x2 pooling blocks tile the torus when the side is even, and nearest-neighbour up-sampling repeats each
coarse site on its block, so both commute with translations by 2 sites and wrap like the lattice.  ``D`` is the
number of times the side halves evenly, at most ``levels`` (L = 32, levels = 3: 32, 16, 8, 4; L = 10: 10, 5; an
odd L: none, and the bottleneck works at full resolution).  The modules of all ``levels`` exist whatever L (the
parameter count does not depend on L).

Light cone (the radius semantics): the whole torus, through the bottleneck's lattice mean (at L = 32 with 3
levels the convolutions alone reach about 30 sites each way, more than the torus's half-width 16, too).  No normalisation anywhere; the
only statistic over sites is the per-configuration lattice mean, identical in training and inference; nothing
is pooled over the batch.

Cost (multiply-adds per full-resolution site, :meth:`flops_per_site`): a 3x3 layer from ``a`` to ``b`` channels
at depth d costs ``9 a b / 4^d`` (a quarter of the sites per level), FiLM ``b / 4^d``; the stem
``9 n_inputs width``; encoder ``9 width^2``, bottleneck ``9 (2 width) width``, decoder ``9 (2 width) width`` per
step; head ``width C`` and skip ``C^2 (2 s + 1)^2``; counted as if every level runs (an upper bound when L does
not halve ``levels`` times).  Pooling, up-sampling and the mean are not counted.
"""

from __future__ import annotations

from .base import DENOISERS
from .harness.readout_family import READOUT_HYPERPARAMETERS, ReadoutRefitFamily, count


def halvings(L: int, levels: int) -> int:
    """How many times the side L halves evenly, at most ``levels`` (the U-Net's depth on an L x L torus)."""
    d = 0
    while d < levels and L % 2 == 0 and L >= 4:
        L //= 2
        d += 1
    return d


def build_network(channels: int, width: int, levels: int, skip_radius: int, embed_dim: int, feature_dim: int = 1,
                  extra_inputs: int = 0):
    """The network (module doc)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    from .harness.conditioned_net import ConditionedNet, film_conv, film_layer

    def conv(c_in):
        return nn.Conv2d(c_in, width, 3, padding=1, padding_mode="circular")

    class TorusUNet(ConditionedNet):
        def __init__(self):
            super().__init__(channels, skip_radius, embed_dim, feature_dim, extra_inputs)
            self.levels = levels
            self.stem = conv(self.n_inputs)
            self.down = nn.ModuleList(conv(width) for _ in range(levels))
            self.bottom = conv(2 * width)
            self.up = nn.ModuleList(conv(2 * width) for _ in range(levels))
            self.film = nn.ModuleList(film_layer(embed_dim, width) for _ in range(2 * levels + 2))
            self.add_readout(width, embed_dim)

        folds_film = True

        def layer(self, layer, i, h, e, fold):
            return F.silu(film_conv(layer, self.film[i], e, h, fold))

        def trunk(self, y, e, fold: bool = False):
            depth = halvings(y.shape[-1], self.levels)
            h = self.layer(self.stem, 0, y, e, fold)
            kept = []
            for d in range(depth):
                h = self.layer(self.down[d], 1 + d, h, e, fold)
                kept.append(h)
                h = F.avg_pool2d(h, 2)
            mean = h.mean(dim=(2, 3), keepdim=True).expand_as(h)  # per configuration
            h = self.layer(self.bottom, 1 + self.levels, torch.cat([h, mean], 1), e, fold)
            for d in reversed(range(depth)):
                h = torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), kept[d]], 1)
                h = self.layer(self.up[d], 2 + self.levels + d, h, e, fold)
            return h

        def trunk_flops(self) -> float:
            per_conv = 9 * width * width + width  # a width -> width 3x3 layer and its FiLM, per site of its level
            total = 9 * self.n_inputs * width + width
            for d in range(self.levels):  # encoder and decoder at depth d: 1 and 2 widths in
                total += (per_conv + (per_conv + 9 * width * width)) / 4**d
            return float(total + (per_conv + 9 * width * width) / 4**self.levels)

    return TorusUNet()


@DENOISERS.register("unet")
class UNetDenoiser(ReadoutRefitFamily):
    description = ("FiLM-conditioned U-Net on the torus (circular 3x3 convolutions, 2x2 average pooling, nearest "
                   "up-sampling, per-configuration lattice mean at the bottleneck); global; Bayes output for +-1 data")
    radius_semantics = "global: the light cone is the whole torus (no finite-radius members)"
    supports_global = True
    local_members = False
    hyperparameters = (
        count("width", 32, "channels of every layer", low=1),
        count("levels", 3, "down-sampling steps at most (fewer where L does not halve evenly)"),
        count("skip_radius", 0, "radius of the level-generated linear skip"),
    ) + READOUT_HYPERPARAMETERS

    def __init__(self, radius=None, **hyper):
        super().__init__(radius, **hyper)
        if self.radius is not None:
            raise ValueError(f"family 'unet' is global: radius must be None, got {radius!r}")

    def min_lattice(self) -> int:
        return max(1, self.skip_radius)

    def network_args(self, channels, feature_dim, extra_inputs, settings) -> dict:
        return dict(channels=channels, width=self.width, levels=self.levels, skip_radius=self.skip_radius,
                    embed_dim=self.embed_dim, feature_dim=feature_dim, extra_inputs=extra_inputs)

    build_network = staticmethod(build_network)
