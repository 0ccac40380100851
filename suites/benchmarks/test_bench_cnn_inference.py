"""The ``cnn``'s inference with each layer's FiLM folded into its convolution (``infer``, what denoising calls)
against the training path (``forward``): the same network (the family's default width 32, depth 2, embedding 32,
random weights), the same 2^14-site batch (the inference chunk), one torch thread.

``extra_info``: ``forward_over_infer``, the ratio of best-of-7 times measured in the same run (> 1: folding is
faster), and the largest difference of the outputs.  Record: docs/decisions/cnn-inference-film-fold.md.

Run: ``pytest suites/benchmarks/test_bench_cnn_inference.py --benchmark-only``.
"""

import timeit

import pytest

CASES = {  # name: (L, radius, window features, periodic units, conditioned)
    "gff-L32-r2": (32, 2, 4, 0, False),
    "ising-L18-r4-conditioned": (18, 4, 4, 0, True),
    "ising-L18-r9-conditioned": (18, 9, 4, 0, True),
    "toric-L16-r3-periodic": (16, 3, 0, 16, False),
}


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
    feature = (0.5, 2.27) if conditioned else 0.5
    with torch.no_grad():
        difference = (net.infer(y, feature) - net(y, feature)).abs().max().item()
        benchmark.pedantic(net.infer, args=(y, feature), rounds=7, iterations=1, warmup_rounds=1)
        forward_best = min(timeit.repeat(lambda: net(y, feature), number=1, repeat=7))
    benchmark.extra_info.update(forward_over_infer=forward_best / benchmark.stats.stats.min,
                                max_abs_difference=difference, sites=int(y[:, 0].numel()))
    assert difference < 1e-4
