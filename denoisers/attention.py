"""``attention``: an r-local denoiser that is a small transformer whose attention, in every layer, is restricted
to a Chebyshev window on the torus; the windows' radii sum to the declared radius r.

Network (:func:`build_network`, on :class:`phasebench.denoisers.harness.conditioned_net.ConditionedNet`):

* tokens: one per site, a per-site linear embedding of its inputs (a 1x1 convolution) to ``dim`` features;
* ``n`` blocks (:func:`window_radii`: ``n = min(layers, r)``, at least 1; radii ``r_1 + ... + r_n = r``, as equal
  as possible, each >= 1 for r >= 1; r = 0 is one block that attends to the site itself), each

      ``h <- h + P attend_{r_l}(F_1(norm(h)))``,  ``h <- h + MLP(F_2(norm(h)))``

  with ``norm`` the normalisation of each site's own feature vector (zero mean, unit variance over its ``dim``
  features: per site, never over the lattice or the batch), ``F_1``, ``F_2`` FiLM maps from the level embedding
  (adaLN), ``MLP`` per-site (``dim -> mlp_ratio dim -> dim``, SiLU), and ``attend_{r_l}`` multi-head attention of
  the site's query over the keys and values of the ``(2 r_l + 1)^2`` sites of its window, wrapped on the torus,
  with a learned bias per head and relative offset (the lattice's position information, translation invariant);
* output: a final ``F(norm(h))``, a 1x1 head and the level-generated linear radius-r skip; with the Bayes output
  the cavity field (:mod:`phasebench.denoisers.harness.output_heads`).

Implementation: plain torch (:class:`phasebench.denoisers.harness.window_attention.WindowAttention`).  The keys
and values are padded once on the torus (circular, by r_l); each of the window's ``(2r_l+1)^2`` offsets is a view
of the padded tensors, the softmax runs over the offsets, and a hand-written backward pass accumulates the
gradients in place.  Gathering the whole window instead (``F.unfold``, a ``dim (2r_l+1)^2``-per-site tensor) was
memory-bound on CPU: against it inference is about 6x faster and a forward and backward pass about 3x at dim = 32,
r_l = 1..4 (docs/decisions/architectures.md, section 4).
Why not a neighbourhood-attention library (NATTEN): it is not installed in this environment and no GPU was lent to
compare kernels; its windows clamp at the borders instead of wrapping, so it would need circular padding and a
crop; and at the suite's sizes ((2r_l+1)^2 <= 49 keys per query, 32 features) the loop is a few tensor operations.
Masks over all L^2 keys would cost L^2 instead of (2r_l+1)^2 per query.

Light cone (the radius semantics, skip paths included): block l's attention reads Chebyshev distance r_l around
the site; its residual path, the norms, FiLM, the MLP, the token embedding and the head are per-site; so after
the n blocks a site depends on the inputs within distance ``r_1 + ... + r_n = r``.  The linear skip reads distance
r.  Nothing else reaches a site: radius r.  The residual paths add no reach (each is the block's own input at
the same site).

Cost (multiply-adds per site, :meth:`flops_per_site`): per block ``4 dim^2`` (q, k, v and the output map)
``+ 2 dim (2r_l+1)^2`` (scores and weighted sum) ``+ 2 mlp_ratio dim^2`` (MLP) ``+ 2 dim`` (FiLM); the token
embedding ``n_inputs dim``, the final FiLM ``dim``, head ``dim C``, skip ``C^2 (2r+1)^2``.  Norms, softmax and
SiLU (elementwise) and the per-level embedding are not counted.
"""

from __future__ import annotations

from typing import Tuple

from .base import DENOISERS
from .harness.readout_family import READOUT_HYPERPARAMETERS, ReadoutRefitFamily, count


def window_radii(radius: int, layers: int) -> Tuple[int, ...]:
    """The attention-window radii of the blocks: ``min(layers, radius)`` blocks (at least one), radii summing to
    ``radius``, the larger ones first (``window_radii(5, 2) == (3, 2)``; ``window_radii(0, 2) == (0,)``)."""
    n = max(1, min(layers, radius))
    return tuple(radius // n + (1 if i < radius % n else 0) for i in range(n))


def build_network(channels: int, radius: int, window_radii: Tuple[int, ...], dim: int, heads: int, mlp_ratio: int,
                  embed_dim: int, feature_dim: int = 1, extra_inputs: int = 0):
    """The network (module doc); ``window_radii`` are the blocks' attention windows (they sum to ``radius`` in
    the family; tests build leaky networks with a wider one)."""
    import torch
    from torch import nn

    from .harness.conditioned_net import ConditionedNet, circular_pad, film_layer, modulate
    from .harness.window_attention import WindowAttention

    if dim % heads:
        raise ValueError(f"dim={dim} must be a multiple of heads={heads}")
    head_dim = dim // heads

    def site_norm(h):
        """Each site's feature vector to zero mean and unit variance (over its features only)."""
        h = h - h.mean(1, keepdim=True)
        return h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + 1e-5)

    class Block(nn.Module):
        def __init__(self, r: int):
            super().__init__()
            self.r, self.keys = r, (2 * r + 1) ** 2
            self.qkv = nn.Conv2d(dim, 3 * dim, 1)
            self.out = nn.Conv2d(dim, dim, 1)
            self.offset_bias = nn.Parameter(torch.zeros(heads, self.keys))
            self.mlp = nn.Sequential(nn.Conv2d(dim, mlp_ratio * dim, 1), nn.SiLU(), nn.Conv2d(mlp_ratio * dim, dim, 1))
            self.film_attend, self.film_mlp = film_layer(embed_dim, dim), film_layer(embed_dim, dim)

        def attend(self, x):
            n, _, L, W = x.shape
            r = self.r
            pad = (n, heads, head_dim, L + 2 * r, W + 2 * r)
            q, k, v = self.qkv(x).chunk(3, dim=1)
            q = q.reshape(n, heads, head_dim, L, W) * head_dim**-0.5
            out = WindowAttention.apply(q, circular_pad(k, r).view(pad), circular_pad(v, r).view(pad),
                                        self.offset_bias, r)
            return self.out(out.reshape(n, dim, L, W))

        def forward(self, h, e):
            h = h + self.attend(modulate(site_norm(h), self.film_attend, e))
            return h + self.mlp(modulate(site_norm(h), self.film_mlp, e))

        def flops(self) -> float:
            return float(4 * dim * dim + 2 * dim * self.keys + 2 * mlp_ratio * dim * dim + 2 * dim)

    class WindowTransformer(ConditionedNet):
        def __init__(self):
            super().__init__(channels, radius, embed_dim, feature_dim, extra_inputs)
            self.window_radii = tuple(window_radii)
            self.tokens = nn.Conv2d(self.n_inputs, dim, 1)
            self.blocks = nn.ModuleList(Block(r) for r in self.window_radii)
            self.film_out = film_layer(embed_dim, dim)
            self.add_readout(dim, embed_dim)

        def trunk(self, y, e):
            h = self.tokens(y)
            for block in self.blocks:
                h = block(h, e)
            return modulate(site_norm(h), self.film_out, e)

        def trunk_flops(self) -> float:
            return float(self.n_inputs * dim + sum(b.flops() for b in self.blocks) + dim)

    return WindowTransformer()


@DENOISERS.register("attention")
class AttentionDenoiser(ReadoutRefitFamily):
    description = ("FiLM-conditioned (adaLN) transformer with attention restricted to Chebyshev windows on the torus "
                   "whose radii sum to r, + level-generated linear radius-r skip; Bayes output for +-1 data")
    radius_semantics = ("Chebyshev radius r = the sum of the blocks' attention-window radii (the light cone over all "
                        "layers, residual paths included); the linear skip reads radius r")
    supports_global = False
    #: a lower peak rate than the cnn's 3e-3 (1e-2 under bit flip), a common transformer choice, not measured here
    #: (docs/decisions/architectures.md)
    training_overrides = {"lr": 1e-3}
    #: its window gathers are not in the counted multiply-adds: 2.3-3.5x the cnn's wall time per budget second
    #: (docs/decisions/architectures.md, section 5)
    wall_per_budget_second = 3.0
    hyperparameters = (
        count("dim", 32, "features per site (token width)", low=1),
        count("heads", 4, "attention heads (dim must be a multiple)", low=1),
        count("layers", 2, "transformer blocks at most (min(layers, r) blocks, window radii summing to r)", low=1),
        count("mlp_ratio", 2, "hidden width of each block's per-site MLP, in units of dim", low=1),
    ) + READOUT_HYPERPARAMETERS

    @classmethod
    def check_hyperparameters(cls, values) -> None:
        if values["dim"] % values["heads"]:
            raise ValueError(f"dim={values['dim']} must be a multiple of heads={values['heads']}")

    def network_args(self, channels, feature_dim, extra_inputs, settings) -> dict:
        return dict(channels=channels, radius=self.radius, window_radii=window_radii(self.radius, self.layers),
                    dim=self.dim, heads=self.heads, mlp_ratio=self.mlp_ratio, embed_dim=self.embed_dim,
                    feature_dim=feature_dim, extra_inputs=extra_inputs)

    build_network = staticmethod(build_network)
