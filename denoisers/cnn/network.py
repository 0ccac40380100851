"""The torch module of the ``cnn`` family (:mod:`phasebench.denoisers.cnn`): a network whose light cone is the radius-r window.

* trunk: ``r`` 3x3 convolutions with circular padding (torus; never zero padding), then
  ``depth`` 1x1 convolutions, width ``width``; for ``r = 0`` the trunk starts with a 1x1 layer
  instead.  After every trunk layer: a FiLM affine map ``h -> h (1 + gamma_l) + beta_l`` and SiLU;
* periodic units (``periodic = P``): P of every trunk layer's ``width`` channels are
  ``cos(W h + b)`` instead, with W a convolution of the layer's own kernel size (so the light cone
  is unchanged) and no FiLM.  For bit data ``b_k`` every Boolean function is a linear combination
  of parities ``prod_k (-1)^{b_k} = cos(pi sum_k b_k)`` (its Walsh expansion), so one periodic
  unit is one parity of any set of inputs in its window; a SiLU network must build a k-body parity
  from products through many layers, and gradient descent finds those slowly.  The toric-code
  posterior is such a function: the edge's own bit times a function of the vertex syndromes,
  which are 4-body parities;
* head: a 1x1 convolution to ``C`` outputs (zero-initialised);
* linear skip: a ``(2r+1) x (2r+1)`` circular convolution of the input whose kernel is generated
  from the level embedding, so the network represents the best linear radius-r filter at every
  level exactly (the r-local optimum of the GFF);
* window features (``window_features = F``): F more linear ``(2r+1) x (2r+1)`` circular
  convolutions of all inputs, kernels generated from the level embedding like the skip's,
  concatenated to the trunk before its first 1x1 layer, so the 1x1 layers can apply a
  nonlinearity to a sum over the whole window (such as the window magnetisation whose sign a
  global Ising member must read);
* parity checks (``check_stencils``, from a model whose clean configurations satisfy local parity
  constraints, such as the toric code's vertex checks; with the Bayes output only): the first trunk
  layer also sees each check's value on the single-site posteriors, ``prod_e tanh(h_e)`` over the
  check's edges (the syndrome, times (1 - 2p)^4 under bit flip; a soft syndrome under the Gaussian
  channel), the standard input of neural decoders.  Under bit flip the exact posterior is the
  edge's own observation times a function of the syndrome alone (docs/physics.md, section 3),
  which a SiLU trunk on raw bits must otherwise build from 4-body parities.  That first layer's
  kernel covers exactly the offsets ``k`` with ``k + (check offsets) in [-1, 1]^2`` (``[0, 1]^2``
  for the vertex checks), so its light cone is still radius 1 and the trunk's still ``r``; the r
  layers then see precisely the checks that lie inside the radius-r window;
* conditioning: an MLP embedding of the scalar level feature (and of a model parameter such as
  T, ``feature_dim = 2``) produces every ``gamma_l, beta_l`` and the skip and window kernels.
  The level is a scalar, not data, so it does not widen the light cone.

Light cone: the trunk's radius is the number of 3x3 layers, ``r``; 1x1 layers, FiLM, SiLU, cos
and the head are per-site; the skip and window-feature kernels have radius ``r``.  So every
output site depends on the noisy inputs within Chebyshev distance ``r`` (cyclically) and on
nothing else.  There is no normalisation or pooling over space.
"""

from __future__ import annotations

import math

import numpy as np

#: initial scale of the periodic units' weights relative to PyTorch's default (fan-in) initialisation:
#: it puts the initial phases over several multiples of pi, where parities live
PERIODIC_INIT_SCALE = 3.0


def check_kernel_range(stencils) -> tuple:
    """Offsets (lo, hi) per axis of the first layer's kernel over check values: ``k + offsets in [-1, 1]``.

    ``stencils`` are checks, each a sequence of (channel, di, dj) whose product is +1 on clean data.
    """
    offsets = np.array([(di, dj) for check in stencils for (_, di, dj) in check] + [(0, 0)], dtype=int)
    lo, hi = -1 - offsets.min(axis=0), 1 - offsets.max(axis=0)
    if np.any(lo > hi):
        raise ValueError(f"parity-check stencils span more than 3 sites along an axis: {stencils!r}")
    return tuple(int(v) for v in lo), tuple(int(v) for v in hi)


def build_network(channels: int, radius: int, width: int, depth: int, embed_dim: int, feature_dim: int = 1,
                  extra_inputs: int = 0, window_features: int = 0, periodic: int = 0, check_stencils=()):
    """The torch module (see module doc); ``forward(y_std, feature) -> u'_hat``.

    ``feature`` is the level feature, or a tuple (level feature, condition) when
    ``feature_dim = 2`` (a family conditioned on a model parameter such as T).  With
    ``check_stencils`` the last ``channels`` inputs must be the single-site posteriors tanh(h).
    """
    import torch
    from torch import nn
    import torch.nn.functional as F

    from ..harness.conditioned_net import film_conv, level_embedding

    if not 0 <= periodic < width:
        raise ValueError(f"periodic must be in [0, width={width}), got {periodic}")
    if window_features and depth < 1:
        raise ValueError("window_features need depth >= 1 (a 1x1 layer to take them)")
    stencils = tuple(tuple(tuple(int(v) for v in e) for e in check) for check in check_stencils) if radius else ()
    if stencils:
        if extra_inputs != channels:
            raise ValueError("parity checks need the single-site posteriors as the last inputs (the Bayes output)")
        if any(not 0 <= c < channels for check in stencils for (c, _, _) in check):
            raise ValueError(f"parity-check stencils name channels outside [0, {channels}): {stencils!r}")
        check_lo, check_hi = check_kernel_range(stencils)

    class LocalCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.radius = radius
            self.channels = channels
            self.periodic = periodic
            self.embed = nn.Sequential(nn.Linear(feature_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim), nn.SiLU())
            layers, waves = [], []

            def add_layer(c_in, k):  # k = 1, 3 or (kh, kw): the check layer, padded by check_input
                pad = dict(padding=1, padding_mode="circular") if k == 3 else {}
                layers.append(nn.Conv2d(c_in, width - periodic, k, **pad))
                if periodic:
                    wave = nn.Conv2d(c_in, periodic, k, **pad)
                    with torch.no_grad():
                        wave.weight.mul_(PERIODIC_INIT_SCALE)
                        wave.bias.uniform_(-math.pi, math.pi)
                    waves.append(wave)

            c_in = channels + extra_inputs  # the skip sees the first ``channels`` inputs only
            self.stencils = stencils
            for i in range(radius):
                if i == 0 and stencils:
                    add_layer(c_in + len(stencils), tuple(h - l + 1 for l, h in zip(check_lo, check_hi)))
                else:
                    add_layer(c_in, 3)
                c_in = width
            if radius == 0:
                add_layer(c_in, 1)
            self.window_at = len(layers)  # window features join the input of this (1x1) layer
            for i in range(depth):
                add_layer(width + (window_features if i == 0 else 0), 1)
            self.trunk = nn.ModuleList(layers)
            self.waves = nn.ModuleList(waves) if periodic else None
            self.film = nn.ModuleList(nn.Linear(embed_dim, 2 * conv.out_channels) for conv in layers)
            self.head = nn.Conv2d(width, channels, 1)
            k = 2 * radius + 1
            self.skip = nn.Linear(embed_dim, channels * channels * k * k)
            self.n_inputs = channels + extra_inputs
            self.window = nn.Linear(embed_dim, window_features * self.n_inputs * k * k) if window_features else None
            for m in list(self.film) + [self.head, self.skip] + ([self.window] if window_features else []):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
            self.register_buffer("feature_shift", torch.zeros(feature_dim))
            self.register_buffer("feature_scale", torch.ones(feature_dim))

        def embedding(self, feature):
            """Embedding(s) of one feature, shape (1, embed_dim), or of a list of features or a tensor of
            them (G, feature_dim) on the network's device, (G, embed_dim)."""
            return level_embedding(self, feature)

        def window_linear(self, y, e, generator, c_in: int):
            """A (2r+1)^2 circular convolution of the first c_in input channels, kernels from the embedding(s)."""
            k, x = 2 * self.radius + 1, self.padded(y[:, :c_in])
            weights = generator(e)
            if len(e) == 1:  # one kernel for the batch
                return F.conv2d(x, weights.view(-1, c_in, k, k))
            patches = F.unfold(x, kernel_size=k)  # (n, c_in k k, L L)
            return torch.bmm(weights.view(len(e), -1, c_in * k * k), patches).view(len(y), -1, *y.shape[2:])

        def check_input(self, y):
            """Inputs and check values, shifted and circularly padded for the check layer's kernel."""
            t = y[:, -self.channels:]  # single-site posteriors tanh(h)
            checks = []
            for check in self.stencils:  # value at (i, j): prod over (c, di, dj) of t[c, i + di, j + dj]
                terms = [torch.roll(t[:, c], shifts=(-di, -dj), dims=(-2, -1)) for (c, di, dj) in check]
                checks.append(torch.stack(terms).prod(0))
            h = torch.cat([y, torch.stack(checks, 1)], 1)
            h = torch.roll(h, shifts=(-check_lo[0], -check_lo[1]), dims=(-2, -1))  # kernel offsets start at 0
            return F.pad(h, (0, check_hi[1] - check_lo[1], 0, check_hi[0] - check_lo[0]), mode="circular")

        def _trunk(self, y, e, fold: bool = False):
            """Trunk output for embeddings e of shape (1, E) (one for the batch) or (n, E) (per sample); ``fold``
            (inference, one embedding): FiLM folded into each convolution (:func:`film_conv`)."""
            h = self.check_input(y) if self.stencils else y
            for i, (conv, film) in enumerate(zip(self.trunk, self.film)):
                if self.window is not None and i == self.window_at:
                    h = torch.cat([h, self.window_linear(y, e, self.window, self.n_inputs)], 1)
                a = F.silu(film_conv(conv, film, e, h, fold), inplace=fold)
                h = a if self.waves is None else torch.cat([a, torch.cos(self.waves[i](h))], 1)
            return h

        def trunk_features(self, y, feature):
            """(trunk output h (n, width, L, L), level embedding e (embed_dim,))."""
            e = self.embedding(feature)
            return self._trunk(y, e), e[0]

        def padded(self, y):
            r = self.radius
            return F.pad(y, (r, r, r, r), mode="circular") if r else y

        def forward(self, y, feature):
            h, e = self.trunk_features(y, feature)
            return self.head(h) + self.window_linear(y, e[None], self.skip, self.channels)

        def infer(self, y, feature):
            """``forward`` for inference without gradients (one feature for the batch), FiLM folded."""
            e = self.embedding(feature)
            return self.head(self._trunk(y, e, fold=True)) + self.window_linear(y, e, self.skip, self.channels)

        def forward_groups(self, y, features, b: int):
            """``forward`` for a batch of G groups of b consecutive samples, group g at ``features[g]`` (a sequence,
            or a tensor (G, feature_dim) on the device)."""
            e = self.embedding(features if torch.is_tensor(features) else list(features)).repeat_interleave(b, dim=0)
            return self.head(self._trunk(y, e)) + self.window_linear(y, e, self.skip, self.channels)

        def flops_per_site(self) -> float:
            """Multiply-adds per output site: convolutions, FiLM, cos, head and skip (the per-level MLP excluded)."""
            convs = list(self.trunk) + (list(self.waves) if self.waves is not None else [])
            total = sum(conv.weight.numel() for conv in convs)
            total += sum(film.out_features // 2 for film in self.film) + periodic * len(self.trunk)
            total += self.head.weight.numel() + channels * channels * (2 * radius + 1) ** 2
            if self.window is not None:  # one multiply-add per generated kernel entry
                total += self.window.out_features
            return float(total)

    return LocalCNN()
