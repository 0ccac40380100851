"""``patch_mlp``: an r-local denoiser that is an MLP on the (2r+1)^2 window of all input channels, weights
shared across sites, conditioned on the noise level.

Network (:func:`build_network`, on :class:`phasebench.denoisers.harness.conditioned_net.ConditionedNet`):

* first layer: a linear map of the site's whole window, ``n_inputs (2r+1)^2 -> width``, computed for every site at
  once as a ``(2r+1) x (2r+1)`` convolution of the circularly padded input (the torus; never zero padding);
* ``depth`` hidden layers ``width -> width``, per site (1x1 convolutions);
* after every layer a FiLM map ``h (1 + gamma(e)) + beta(e)`` from the level embedding ``e`` (log lambda, or
  atanh(1 - 2p) under bit flip; and T for a conditioned fit) and SiLU;
* readout: a 1x1 head plus the level-generated linear radius-r skip (the r-local optimum of a Gaussian model is
  linear: the skip, refitted by least squares, reaches it); with the Bayes output (+-1 data) the network's
  output is the cavity field ``H_i`` of ``E[u_i | y] = tanh(g y_i + H_i)``
  (:mod:`phasebench.denoisers.harness.output_heads`).

Against the ``cnn`` (r 3x3 layers): the same light cone, but the whole window enters one dense layer, so a
feature of the window (a k-body product, the window magnetisation) needs no composition through r layers.

Light cone (the radius semantics): the first layer reads Chebyshev distance r around the site (cyclically);
the hidden layers, FiLM, SiLU and the head are per-site; the skip reads distance r.  Every output site
depends on the inputs within distance r and on nothing else: radius r.  No normalisation or pooling over the
lattice or the batch.

Cost: multiply-adds per site ``n_inputs (2r+1)^2 width + depth width^2 + (depth + 1) width`` (FiLM: one per
unit) ``+ width C`` (head) ``+ C^2 (2r+1)^2`` (skip), the per-level embedding excluded.
"""

from __future__ import annotations

from .base import DENOISERS
from .harness.readout_family import READOUT_HYPERPARAMETERS, ReadoutRefitFamily, count


def build_network(channels: int, radius: int, width: int, depth: int, embed_dim: int, feature_dim: int = 1,
                  extra_inputs: int = 0, window_radius=None):
    """The network (module doc); ``window_radius`` (default ``radius``) is the first layer's window, kept apart
    from the declared radius only so that tests can build a leaky network."""
    from torch import nn
    import torch.nn.functional as F

    from .harness.conditioned_net import ConditionedNet, circular_pad, film_conv, film_layer

    window = radius if window_radius is None else window_radius

    class PatchMLP(ConditionedNet):
        def __init__(self):
            super().__init__(channels, radius, embed_dim, feature_dim, extra_inputs)
            self.window_radius, self.width = window, width
            self.window = nn.Conv2d(self.n_inputs, width, 2 * window + 1)
            self.hidden = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(depth))
            self.film = nn.ModuleList(film_layer(embed_dim, width) for _ in range(depth + 1))
            self.add_readout(width, embed_dim)

        folds_film = True

        def trunk(self, y, e, fold: bool = False):
            h = F.silu(film_conv(self.window, self.film[0], e, circular_pad(y, self.window_radius), fold))
            for layer, film in zip(self.hidden, self.film[1:]):
                h = F.silu(film_conv(layer, film, e, h, fold))
            return h

        def trunk_flops(self) -> float:
            return float(self.window.weight.numel() + sum(m.weight.numel() for m in self.hidden)
                         + width * len(self.film))

    return PatchMLP()


@DENOISERS.register("patch_mlp")
class PatchMLPDenoiser(ReadoutRefitFamily):
    description = ("FiLM-conditioned MLP on the (2r+1)^2 window of all channels, shared across sites, + level-generated "
                   "linear radius-r skip; Bayes output tanh(g y + H) for +-1 data")
    radius_semantics = "Chebyshev radius r of the window the MLP's first layer and the linear skip read (cyclically)"
    supports_global = False
    hyperparameters = (
        count("width", 64, "units of every MLP layer", low=1),
        count("depth", 2, "hidden layers after the window layer"),
    ) + READOUT_HYPERPARAMETERS

    def network_args(self, channels, feature_dim, extra_inputs, settings) -> dict:
        return dict(channels=channels, radius=self.radius, width=self.width, depth=self.depth,
                    embed_dim=self.embed_dim, feature_dim=feature_dim, extra_inputs=extra_inputs)

    build_network = staticmethod(build_network)
