"""Checkerboard Metropolis in torch (a GPU when there is one), bitwise identical to the Numba kernel.

:func:`run_metropolis_chains_torch` has the semantics of
:func:`.ising_metropolis.run_metropolis_chains` (same checkerboard-split layout, same counters,
same traces and records) and draws the same random numbers: the SplitMix64 stream of
:mod:`.counter_rng`, evaluated for every site of a colour at once.  So a dataset sampled with
``backend="torch"`` is byte for byte the dataset that the Numba kernel gives for the same seed,
on a CPU or a GPU (``tests/test_ising_metropolis_torch.py`` checks this on the CPU, and on CUDA
when a GPU is present).

torch has no unsigned 64-bit arithmetic on every device, so the stream is computed in int64:
addition, multiplication and xor are the same bit operations modulo 2^64, and a logical right
shift is an arithmetic shift masked to the low ``64 - s`` bits.

Per sweep and colour the whole lattice of every chain is updated by tensor operations: the
neighbour sum from rolled copies of the other colour, the uniforms from the counters, the
acceptance from the threshold table.  This pays off for many sites per call (a GPU, or large L
on the CPU); the Numba kernel remains the CPU default.
"""

from __future__ import annotations

import numpy as np

from ..devices import torch_device
from .counter_rng import GAMMA

_GAMMA = int(np.int64(GAMMA.view(np.int64)))
_M1 = int(np.uint64(0xBF58476D1CE4E5B9).view(np.int64))
_M2 = int(np.uint64(0x94D049BB133111EB).view(np.int64))
_LOW32 = 0xFFFFFFFF


def _shift_right(z, s: int):
    """Logical right shift of int64 bit patterns."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix64(z):
    z = (z ^ _shift_right(z, 30)) * _M1
    z = (z ^ _shift_right(z, 27)) * _M2
    return z ^ _shift_right(z, 31)


def site_layout(L: int, half: int, device):
    """Per site of a colour (L, half): the draw offset within its row and whether it takes the upper 32 bits.

    As in ``ising_metropolis._fill_uniforms``: with ``q = half // 2``, sites k and k + q share
    draw k (upper and lower half); for odd ``half`` the last site takes the upper half of draw q.
    """
    import torch

    q = half // 2
    k = torch.arange(half, device=device)
    draw = torch.where(k < q, k, torch.where(k < 2 * q, k - q, torch.full_like(k, q)))
    upper = (k < q) | (k >= 2 * q)
    rows = torch.arange(L, device=device)[:, None] * half
    return rows + draw[None, :], upper[None, :].expand(L, half)


def uniforms_u32(keys, base, offsets, upper):
    """32-bit uniforms (int64 in [0, 2^32)) for every chain and site: draw ``base + offsets`` of each key.

    ``keys`` and ``base`` are (n,) int64 bit patterns; ``offsets``/``upper`` are (L, half).
    """
    import torch

    z = _mix64(keys[:, None, None] + (base[:, None, None] + offsets[None]) * _GAMMA)
    return torch.where(upper[None], _shift_right(z, 32), z & _LOW32)


def neighbour_sum(other, colour: int, parity):
    """Sum of the four neighbours (all of the other colour) of each site of ``colour``, (n, L, half).

    ``parity`` is (L, 1) with ``(colour + i) % 2 == 0`` for each row i: the horizontal neighbour
    is then at column k - 1, else k + 1.
    """
    import torch

    up = torch.roll(other, 1, dims=1)
    down = torch.roll(other, -1, dims=1)
    left = torch.roll(other, 1, dims=2)
    right = torch.roll(other, -1, dims=2)
    return other + up + down + torch.where(parity[None], left, right)


def run_metropolis_chains_torch(sub, keys, counters, table, n_sweeps, record_every, samples_out, e_trace, m_trace,
                                device=None) -> None:
    """:func:`.ising_metropolis.run_metropolis_chains` on ``device`` (default: :func:`phasebench.lattice_models.devices.torch_device`).

    Arguments and in-place effects are those of the Numba kernel: ``sub`` (n, 2, L, half) int8 is
    advanced by ``n_sweeps`` sweeps, ``counters`` by ``n_sweeps L^2``, the traces and records
    filled alike.
    """
    import torch

    if device is None:
        device = torch_device()
    n, _, L, half = sub.shape
    s = torch.as_tensor(np.ascontiguousarray(sub), device=device).to(torch.int32)
    key = torch.as_tensor(np.asarray(keys, dtype=np.uint64).view(np.int64), device=device)
    c0 = torch.as_tensor(np.asarray(counters, dtype=np.uint64).view(np.int64), device=device)
    thr = torch.as_tensor(np.asarray(table, dtype=np.uint64).astype(np.int64), device=device)
    offsets, upper = site_layout(L, half, device)
    rows = torch.arange(L, device=device)[:, None]
    parity = [((colour + rows) % 2) == 0 for colour in (0, 1)]
    per_sweep, per_colour = L * 2 * half, L * half
    trace = e_trace.shape[1] > 0
    e_dev = torch.zeros((n, n_sweeps if trace else 0), dtype=torch.int64, device=device)
    m_dev = torch.zeros_like(e_dev)
    slots = samples_out.shape[1]
    rec_dev = torch.zeros((n, slots, 2, L, half), dtype=torch.int8, device=device)
    for t in range(n_sweeps):
        for colour in (0, 1):
            h = neighbour_sum(s[:, 1 - colour], colour, parity[colour])
            spin = s[:, colour]
            sh = spin * h
            u = uniforms_u32(key, c0 + t * per_sweep + colour * per_colour, offsets, upper)
            # accept iff u < threshold[s h + 4]; s h <= 0 is always accepted
            accept = (sh <= 0) | (u < thr[sh + 4])  # s h in {-4, -2, 0, 2, 4}
            s[:, colour] = torch.where(accept, -spin, spin)
        if trace:
            black = s[:, 0]
            e_dev[:, t] = -(black * neighbour_sum(s[:, 1], 0, parity[0])).sum(dim=(1, 2)).to(torch.int64)
            m_dev[:, t] = s.sum(dim=(1, 2, 3)).to(torch.int64)
        if (t + 1) % record_every == 0 and (t + 1) // record_every - 1 < slots:
            rec_dev[:, (t + 1) // record_every - 1] = s.to(torch.int8)
    sub[...] = s.to(torch.int8).cpu().numpy()
    counters[...] = (np.asarray(counters, dtype=np.uint64) + np.uint64(n_sweeps * per_sweep)).astype(counters.dtype)
    if trace:
        e_trace[...] = e_dev.cpu().numpy()
        m_trace[...] = m_dev.cpu().numpy()
    if slots:
        samples_out[...] = rec_dev.cpu().numpy()
