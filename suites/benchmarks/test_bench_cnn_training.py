"""Adam steps of the toric ``cnn`` member on a GPU against the CPU, measured in the same run.

The full ``toric-bitflip`` division's fit: L = 16, 18 bit-flip levels, the Bayes output with the parity
checks and periodic units, ``batch`` configurations per level per step (2 is the division's default).  Each
case fits ``CNNDenoiser(r, steps=n, batch=b, device=d)`` and reads the Adam phase's own time from
``fit_info_["train_seconds"]`` (median of the timed rounds, after a warm-up round).  ``extra_info``: seconds
per step, configurations per second, and, for a GPU case, the ratio of its step time to the CPU's at
batch 2 measured in the same run (the CPU at 32 configurations costs about 16 times its step at 2).  The
``cuda-graph`` cases capture the step as a CUDA graph (``PHASEBENCH_CUDA_GRAPHS=1``,
:mod:`phasebench.denoisers.harness.adam`; their time includes the warm-up steps and the capture, amortised over the
steps); the CUDA cases are skipped without a GPU.

Run: ``pytest suites/benchmarks/test_bench_cnn_training.py --benchmark-only -s``.
"""

import os

import numpy as np
import pytest

from phasebench.denoisers import make_family
from phasebench.lattice_models import BitFlipChannel, make_model

LEVELS = [0.02, 0.04, 0.06, 0.07, 0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.115, 0.12, 0.125, 0.13, 0.14, 0.16, 0.18, 0.2]
MODEL = make_model("toric_loops")
TRAIN = MODEL.sample(200, 16, seed=0)
_cpu_seconds = {}


def _train_seconds(device: str, radius: int, batch: int, steps: int, rounds: int = 3) -> float:
    """Median seconds per Adam step over ``rounds`` fits, after one warm-up fit."""
    times = []
    for i in range(rounds + 1):
        fam = make_family("cnn", radius, steps=steps, batch=batch, device=device)
        fam.fit(TRAIN, BitFlipChannel(), LEVELS, seed=i, model=MODEL)
        assert fam.fit_info_["cuda_graph"] == (os.environ.get("PHASEBENCH_CUDA_GRAPHS") == "1" and device == "cuda")
        times.append(fam.fit_info_["train_seconds"] / steps)
    return float(np.median(times[1:]))


def cpu_step_seconds(radius: int) -> float:
    if radius not in _cpu_seconds:
        _cpu_seconds[radius] = _train_seconds("cpu", radius, 2, 5)
    return _cpu_seconds[radius]


@pytest.mark.parametrize("batch", [2, 32])
@pytest.mark.parametrize("radius", [1, 6])
@pytest.mark.parametrize("device", ["cuda-graph", "cuda", "cpu"])
def test_cnn_adam_step_toric(benchmark, monkeypatch, device, radius, batch):
    torch = pytest.importorskip("torch")
    if device.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if device == "cpu" and batch != 2:
        pytest.skip("the CPU baseline is the division's batch")
    monkeypatch.setenv("PHASEBENCH_CUDA_GRAPHS", "1" if device == "cuda-graph" else "0")
    steps = {"cuda-graph": 300, "cuda": 50, "cpu": 5}[device]
    per_step = benchmark.pedantic(_train_seconds, args=(device.split("-")[0], radius, batch, steps), rounds=1,
                                  iterations=1)
    cpu = cpu_step_seconds(radius)
    name = torch.cuda.get_device_name(0) + (" (CUDA graph)" if device == "cuda-graph" else "") if device != "cpu" else "cpu"
    benchmark.extra_info.update(device=name, radius=radius, batch=batch, steps=steps, seconds_per_step=per_step,
                                configs_per_second=batch * len(LEVELS) / per_step, cpu_batch2_seconds_per_step=cpu,
                                step_time_ratio_to_cpu_batch2=per_step / cpu)
    print(f"\ncnn r={radius} batch={batch} on {name}: {per_step * 1e3:.1f} ms per Adam step "
          f"({batch * len(LEVELS) / per_step:.0f} configurations/s); CPU at batch 2: {cpu * 1e3:.1f} ms, "
          f"ratio {per_step / cpu:.3f}")
    assert per_step > 0
