"""Attention restricted to a Chebyshev window on the torus, with a hand-written backward pass.

For queries ``q`` and keys ``k``, values ``v`` (per head, ``c`` features per site) and a bias ``b_d`` per head
and relative offset ``d`` in the window ``|d|_inf <= r``, the output at site x is

    ``s_d(x) = q(x) . k(x + d) + b_d``,   ``w_d(x) = softmax_d s_d(x)``,   ``o(x) = sum_d w_d(x) v(x + d)``,

sites taken modulo L.  The keys and values arrive padded once on the torus (circularly, by r), so every offset's
shifted lattice is a view of the padded tensor, not a copy.  The backward pass, with ``g = dLoss/do``:

    ``dw_d(x) = g(x) . v(x + d)``,   ``ds_d = w_d (dw_d - sum_e w_e dw_e)``,   ``dq(x) = sum_d ds_d(x) k(x + d)``,
    ``dk(x + d) += ds_d(x) q(x)``,   ``dv(x + d) += w_d(x) g(x)``,   ``db_d = sum_x ds_d(x)``,

accumulated in place into padded gradient buffers (the padding's own backward folds them back onto the torus).
Autograd through the forward's views would instead allocate a padded buffer per offset and per input; this
backward makes a forward and backward pass 2-5x faster than that on CPU at 32 features, r = 1..4
(docs/decisions/architectures.md, section 4).
Saved for the backward: q, the padded k and v, and the weights (``heads (2r+1)^2`` numbers per site).
"""

from __future__ import annotations

import torch


def _windows(r: int, L: int, W: int):
    """Index pairs of each offset's view of an (L + 2r, W + 2r) padded lattice, offsets row-major."""
    return [(slice(r + dy, r + dy + L), slice(r + dx, r + dx + W))
            for dy in range(-r, r + 1) for dx in range(-r, r + 1)]


class WindowAttention(torch.autograd.Function):
    """``WindowAttention.apply(q, k_padded, v_padded, bias, r)``: ``q`` (n, heads, c, L, W), already scaled;
    ``k_padded``, ``v_padded`` (n, heads, c, L + 2r, W + 2r); ``bias`` (heads, (2r+1)^2), offsets row-major.
    Returns the output (n, heads, c, L, W) (module doc)."""

    @staticmethod
    def forward(ctx, q, kp, vp, bias, r: int):
        views = _windows(r, *q.shape[-2:])
        scores = torch.stack([(q * kp[..., a, b]).sum(2) for a, b in views], dim=2)
        weights = torch.softmax(scores + bias[None, :, :, None, None], dim=2)
        out = torch.zeros_like(q)
        for i, (a, b) in enumerate(views):
            out.addcmul_(weights[:, :, i, None], vp[..., a, b])
        ctx.save_for_backward(q, kp, vp, weights)
        ctx.r = r
        return out

    @staticmethod
    def backward(ctx, g):
        q, kp, vp, weights = ctx.saved_tensors
        views = _windows(ctx.r, *q.shape[-2:])
        dw = torch.stack([(g * vp[..., a, b]).sum(2) for a, b in views], dim=2)
        ds = weights * (dw - (weights * dw).sum(2, keepdim=True))
        dq, dkp, dvp = torch.zeros_like(q), torch.zeros_like(kp), torch.zeros_like(vp)
        for i, (a, b) in enumerate(views):
            dsi = ds[:, :, i, None]
            dq.addcmul_(dsi, kp[..., a, b])
            dkp[..., a, b].addcmul_(dsi, q)
            dvp[..., a, b].addcmul_(weights[:, :, i, None], g)
        return dq, dkp, dvp, ds.sum((0, 3, 4)), None
