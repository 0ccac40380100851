"""The attention block's window attention three ways, one torch thread: the old F.unfold gather, views of the
padded keys and values with autograd's backward, and WindowAttention (views, hand-written backward).
Best of 5 per case, in ms; run: python docs/decisions/scripts/window_attention_bench.py"""
import time

import torch
import torch.nn.functional as F

from phasebench.denoisers.harness.conditioned_net import circular_pad
from phasebench.denoisers.harness.window_attention import WindowAttention


def unfold_attend(q, k, v, bias, r):
    n, h, c, L, W = q.shape
    K = (2 * r + 1) ** 2
    gather = lambda x: F.unfold(circular_pad(x.reshape(n, h * c, L, W), r), 2 * r + 1).view(n, h, c, K, L, W)
    w = torch.softmax((q[:, :, :, None] * gather(k)).sum(2) + bias[None, :, :, None, None], dim=2)
    return (w[:, :, None] * gather(v)).sum(3)


def padded(x, r):
    n, h, c, L, W = x.shape
    return circular_pad(x.reshape(n, h * c, L, W), r).view(n, h, c, L + 2 * r, W + 2 * r)


def views_autograd(q, k, v, bias, r):
    L, W = q.shape[-2:]
    kp, vp = padded(k, r), padded(v, r)
    sl = [(slice(r + a, r + a + L), slice(r + b, r + b + W)) for a in range(-r, r + 1) for b in range(-r, r + 1)]
    w = torch.softmax(torch.stack([(q * kp[..., a, b]).sum(2) for a, b in sl], 2) + bias[None, :, :, None, None], 2)
    return sum(w[:, :, i, None] * vp[..., a, b] for i, (a, b) in enumerate(sl))


def views_custom(q, k, v, bias, r):
    return WindowAttention.apply(q, padded(k, r), padded(v, r), bias, r)


def best(f, reps=5):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


if __name__ == "__main__":
    torch.set_num_threads(1)
    torch.manual_seed(0)
    n, heads, c, L = 64, 4, 8, 32
    print(f"n={n} L={L} dim={heads * c} heads={heads}, torch {torch.__version__}, 1 thread; best of 5, ms")
    print("r | unfold fwd | views fwd | custom fwd | unfold fwd+bwd | views fwd+bwd | custom fwd+bwd")
    for r in (1, 2, 3, 4):
        q, k, v = (torch.randn(n, heads, c, L, L, requires_grad=True) for _ in range(3))
        bias = torch.randn(heads, (2 * r + 1) ** 2, requires_grad=True)
        row = []
        for mode in ("fwd", "bwd"):
            for f in (unfold_attend, views_autograd, views_custom):
                if mode == "fwd":
                    with torch.no_grad():
                        row.append(best(lambda: f(q, k, v, bias, r)))
                else:
                    row.append(best(lambda: f(q, k, v, bias, r).square().sum().backward()))
        print(f"{r} | " + " | ".join(f"{t:.0f}" for t in row), flush=True)
