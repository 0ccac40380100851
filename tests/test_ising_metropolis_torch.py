"""The torch Metropolis kernel (the GPU path) draws the Numba kernel's numbers and gives the same bits."""

import numpy as np
import pytest

from phasebench.lattice_models.datasets import dataset_key, generate
from phasebench.lattice_models.ising import Ising
from phasebench.lattice_models.kernels import ising_metropolis
from phasebench.lattice_models.kernels.counter_rng import chain_keys
from phasebench.lattice_models.kernels.ising_metropolis_torch import run_metropolis_chains_torch

torch = pytest.importorskip("torch")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _run(kernel, spins, K, sweeps, record_every, slots, **kw):
    n, L, _ = spins.shape
    sub = ising_metropolis.to_split(spins.copy())
    counters = np.arange(n, dtype=np.uint64) * np.uint64(987654321) + np.uint64(2**63 + 5)  # wraps within a run
    out = np.zeros((n, slots, 2, L, L // 2), dtype=np.int8)
    e = np.zeros((n, sweeps), dtype=np.int64)
    m = np.zeros_like(e)
    kernel(sub, chain_keys(7, n, 3), counters, ising_metropolis.acceptance_thresholds(K), sweeps, record_every, out,
           e, m, **kw)
    return sub, counters, out, e, m


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("L,K", [(4, 0.3), (6, 0.44), (10, 0.7), (16, 0.2)])  # L/2 odd at 6 and 10
def test_torch_kernel_is_bitwise_the_numba_kernel(device, L, K):
    spins = np.random.default_rng(L).choice(np.array([-1, 1], dtype=np.int8), size=(3, L, L))
    ref = _run(ising_metropolis.run_metropolis_chains, spins, K, 9, 2, 5)  # 4 of 5 slots filled
    got = _run(run_metropolis_chains_torch, spins, K, 9, 2, 5, device=device)
    for name, a, b in zip(("state", "counters", "records", "energy", "magnetisation"), ref, got):
        assert np.array_equal(a, b), name
    assert not np.array_equal(ref[0], ising_metropolis.to_split(spins))  # the sweeps did something


def test_torch_backend_gives_the_same_dataset_bytes_and_cache_key():
    model = Ising(T=2.6)
    opts = dict(algorithm="metropolis", n_chains=3, thermalization=50, pilot=40)
    numba_ds = generate(model, 12, 8, seed=5, **opts)
    torch_ds = generate(model, 12, 8, seed=5, backend="torch", **opts)
    assert torch_ds.sha256 == numba_ds.sha256
    assert torch_ds.samples.tobytes() == numba_ds.samples.tobytes()
    assert torch_ds.metadata["diagnostics"]["backend"] == "torch" and numba_ds.metadata["diagnostics"]["backend"] == "numba"
    assert dataset_key(model, 12, 8, 5, {**opts, "backend": "torch"}) == dataset_key(model, 12, 8, 5, opts)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown ising sampler backend 'opencl'"):
        Ising(T=2.0).sample(4, 8, seed=0, backend="opencl")
