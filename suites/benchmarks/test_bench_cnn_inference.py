"""Inference with each layer's FiLM folded into its convolution (``infer``, what denoising calls) against the
training path (``forward``): the same network (the ``cnn``'s default width 32, depth 2, embedding 32; the
``patch_mlp``'s and ``unet``'s defaults; random weights), the same 2^14-site batch (the inference chunk), one
torch thread.

``extra_info``: ``forward_over_infer``, the ratio of the best times of ``PAIRS`` interleaved calls of the two paths
(> 1: folding is faster), and the largest difference of the outputs.  Record: docs/decisions/cnn-inference-film-fold.md.

Run: ``pytest suites/benchmarks/test_bench_cnn_inference.py --benchmark-only``.
"""

import timeit

import pytest

PAIRS = 15
CASES = {  # name: (L, radius, window features, periodic units, conditioned)
    "gff-L32-r2": (32, 2, 4, 0, False),
    "ising-L18-r4-conditioned": (18, 4, 4, 0, True),
    "ising-L18-r9-conditioned": (18, 9, 4, 0, True),
    "toric-L16-r3-periodic": (16, 3, 0, 16, False),
}


def _timed(benchmark, net, y, feature):
    import torch

    with torch.no_grad():
        difference = (net.infer(y, feature) - net(y, feature)).abs().max().item()
        benchmark.pedantic(net.infer, args=(y, feature), rounds=7, iterations=1, warmup_rounds=1)
        pairs = [(timeit.timeit(lambda: net(y, feature), number=1), timeit.timeit(lambda: net.infer(y, feature), number=1))
                 for _ in range(PAIRS)]  # interleaved, so that a drift of the machine's speed hits both paths
    forward_best, infer_best = (min(t) for t in zip(*pairs))
    benchmark.extra_info.update(forward_over_infer=forward_best / infer_best, max_abs_difference=difference,
                                sites=int(y[:, 0].numel()))
    assert difference < 1e-4


@pytest.mark.parametrize("case", sorted(CASES))
def test_bench_cnn_infer_against_forward(benchmark, case):
    import torch

    from phasebench.denoisers.harness.noisy_batches import set_torch_threads
    from phasebench.denoisers.cnn.network import build_network

    L, radius, window_features, periodic, conditioned = CASES[case]
    set_torch_threads()
    torch.manual_seed(radius)
    channels = 2 if case.startswith("toric") else 1
    net = build_network(channels, radius, width=32, depth=2, embed_dim=32, feature_dim=2 if conditioned else 1,
                        window_features=window_features, periodic=periodic)
    with torch.no_grad():
        for p in net.parameters():  # away from the zero initialisation of FiLM, head and skip
            p.add_(0.1 * torch.randn_like(p))
    y = torch.randn((1 << 14) // (L * L), channels, L, L)
    _timed(benchmark, net, y, (0.5, 2.27) if conditioned else 0.5)


NETS = {  # name: L, the network's arguments (the families' defaults; GFF, one channel)
    "patch_mlp-L32-r2": (32, "patch_mlp", dict(radius=2, width=64, depth=2)),
    "unet-L32": (32, "unet", dict(width=32, levels=3, skip_radius=0)),
}


@pytest.mark.parametrize("case", sorted(NETS))
def test_bench_readout_nets_infer_against_forward(benchmark, case):
    import importlib

    import torch

    from phasebench.denoisers.harness.noisy_batches import set_torch_threads

    L, family, args = NETS[case]
    set_torch_threads()
    torch.manual_seed(0)
    net = importlib.import_module(f"phasebench.denoisers.{family}").build_network(channels=1, embed_dim=32, **args)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    _timed(benchmark, net, torch.randn((1 << 14) // (L * L), 1, L, L), 0.5)
