"""Checkerboard Metropolis for the 2D Ising model (J = 1, periodic L x L, L even).

Reference: docs/physics.md, section 2.  Spins are int8 (+-1) stored in the
*checkerboard-split* layout ``sub[chain, colour, i, k]`` of shape
``(n_chains, 2, L, L // 2)``: colour 0 ("black") holds the sites with
``(i + j)`` even, ``sub[c, 0, i, k] = s[i, 2k + (i % 2)]``; colour 1 holds
``s[i, 2k + 1 - (i % 2)]``.  All neighbours of a site have the other colour, so
one colour is updated in parallel while the other is held fixed, and each row
update is a contiguous loop that LLVM vectorises.  In row ``i`` of the other
colour the left/right neighbours of column ``k`` sit at ``k`` and
``k + d`` with ``d = -1`` if ``colour + i`` is even, else ``+1``; the up/down
neighbours sit at column ``k`` of rows ``i -+ 1``.

Random numbers are counter-based (:mod:`.counter_rng`): in sweep ``t`` the
site (colour, i, k) of a chain uses counter ``counter0 + t L^2 + colour L^2/2 +
i L/2 + k``.  Every site's number is fixed whatever the thread layout, so the
chain-parallel and row-parallel kernels give bitwise identical results.

A flip of spin s with neighbour sum h changes the energy by ``2 s h``; it is
accepted iff ``random_u32 < threshold[s h + 4]`` with
``threshold = floor(min(1, exp(-2 K s h)) 2^32)`` (precomputed table).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .counter_rng import probability_threshold_u32, random_u64

_ALWAYS = np.uint64(1 << 32)  # threshold of an always-accepted move
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)


def acceptance_thresholds(K: float) -> np.ndarray:
    """uint64 table indexed by ``s * h + 4`` (``s h`` in {-4, -2, 0, 2, 4})."""
    table = np.zeros(9, dtype=np.uint64)
    for sh in range(-4, 5):
        table[sh + 4] = probability_threshold_u32(min(1.0, math.exp(-2.0 * K * sh)))
    return table


@nb.njit(inline="always", cache=True)
def _fill_uniforms(buf, key, base):
    """``buf[k]`` and ``buf[k + q]`` (q = half // 2) get the upper and lower 32 bits of
    draw ``base + k``; for odd ``half`` the last entry is the upper half of draw ``base + q``."""
    half = buf.shape[0]
    q = half // 2
    for k in range(q):
        r = random_u64(key, base + np.uint64(k))
        buf[k] = np.uint32(r >> _S32)
        buf[k + q] = np.uint32(r & _LOW32)
    if half % 2 == 1:
        buf[half - 1] = np.uint32(random_u64(key, base + np.uint64(q)) >> _S32)


@nb.njit(inline="always", cache=True)
def _flip_site(row, k, h, r32, t2, t4):
    """Metropolis update of ``row[k]`` with neighbour sum ``h`` and a 32-bit uniform ``r32``."""
    s = np.int32(row[k])
    sh = s * h
    thr = _ALWAYS if sh <= 0 else (t2 if sh == 2 else t4)
    row[k] = np.int8(s if np.uint64(r32) >= thr else -s)


@nb.njit(inline="always", cache=True)
def _field(mid, up, dn, k, kk):
    return np.int32(mid[k]) + np.int32(mid[kk]) + np.int32(up[k]) + np.int32(dn[k])


@nb.njit(inline="always", cache=True)
def _update_row(row, mid, up, dn, d, buf, t2, t4):
    """Update one row of one colour with the uniforms in ``buf``."""
    half = row.shape[0]
    if d < 0:  # literal offsets so that LLVM vectorises the loops
        for k in range(1, half):
            _flip_site(row, k, _field(mid, up, dn, k, k - 1), buf[k], t2, t4)
        _flip_site(row, 0, _field(mid, up, dn, 0, half - 1), buf[0], t2, t4)
    else:
        for k in range(half - 1):
            _flip_site(row, k, _field(mid, up, dn, k, k + 1), buf[k], t2, t4)
        _flip_site(row, half - 1, _field(mid, up, dn, half - 1, 0), buf[half - 1], t2, t4)


@nb.njit(inline="always", cache=True)
def _update_colour_row(sub, ch, colour, i, key, counter, table, buf):
    L = sub.shape[2]
    half = sub.shape[3]
    other = sub[ch, 1 - colour]
    d = -1 if ((colour + i) & 1) == 0 else 1
    _fill_uniforms(buf, key, counter + np.uint64(colour * L * half + i * half))
    _update_row(sub[ch, colour, i], other[i], other[(i - 1) % L], other[(i + 1) % L], d, buf, table[6], table[8])


@nb.njit(inline="always", cache=True)
def energy_magnetisation_split(chain):
    """Total energy ``-sum_<ij> s_i s_j`` and magnetisation of one chain ``(2, L, L // 2)``.

    Every bond has exactly one black end, so the energy sums over black sites.
    """
    L = chain.shape[1]
    half = chain.shape[2]
    black = chain[0]
    white = chain[1]
    e = 0
    m = 0
    for i in range(L):
        up = white[(i - 1) % L]
        dn = white[(i + 1) % L]
        mid = white[i]
        row = black[i]
        for k in range(half):
            s = np.int64(row[k])
            e -= s * (np.int64(mid[k]) + up[k] + dn[k])
            m += s + mid[k]
        # the fourth neighbour, column k + d with d = -1 on even rows, +1 on odd rows
        if (i & 1) == 0:
            e -= np.int64(row[0]) * mid[half - 1]
            for k in range(1, half):
                e -= np.int64(row[k]) * mid[k - 1]
        else:
            for k in range(half - 1):
                e -= np.int64(row[k]) * mid[k + 1]
            e -= np.int64(row[half - 1]) * mid[0]
    return e, m


@nb.njit(parallel=True, cache=True)
def run_metropolis_chains(sub, keys, counters, table, n_sweeps, record_every, samples_out, e_trace, m_trace):
    """Run ``n_sweeps`` checkerboard sweeps of every chain in parallel over chains.

    After sweep ``t`` (0-based) the total energy and magnetisation go to
    ``e_trace[ch, t]``, ``m_trace[ch, t]`` when those have ``n_sweeps`` columns
    (pass width-0 arrays to skip), and the state is copied to
    ``samples_out[ch, (t + 1) // record_every - 1]`` when ``(t + 1) % record_every == 0``
    and ``samples_out`` has room.  Advances ``counters`` by ``n_sweeps L^2``.
    """
    n_chains, _, L, half = sub.shape
    per_sweep = np.uint64(L * 2 * half)
    for ch in nb.prange(n_chains):
        key = keys[ch]
        c = counters[ch]
        buf = np.empty(half, dtype=np.uint32)
        for t in range(n_sweeps):
            for colour in range(2):
                for i in range(L):
                    _update_colour_row(sub, ch, colour, i, key, c, table, buf)
            c += per_sweep
            if e_trace.shape[1] > 0:
                e, m = energy_magnetisation_split(sub[ch])
                e_trace[ch, t] = e
                m_trace[ch, t] = m
            if (t + 1) % record_every == 0:
                slot = (t + 1) // record_every - 1
                if slot < samples_out.shape[1]:
                    samples_out[ch, slot] = sub[ch]
        counters[ch] = c


def metropolis_sweeps(sub: np.ndarray, keys: np.ndarray, counters: np.ndarray, K: float, n_sweeps: int) -> None:
    """Run ``n_sweeps`` checkerboard sweeps in place, recording nothing."""
    no_samples = np.zeros((sub.shape[0], 0) + sub.shape[1:], dtype=np.int8)
    no_trace = np.zeros((sub.shape[0], 0), dtype=np.int64)
    run_metropolis_chains(sub, keys, counters, acceptance_thresholds(K), int(n_sweeps), 1, no_samples, no_trace, no_trace)


def to_split(spins: np.ndarray) -> np.ndarray:
    """``(n, L, L)`` spins -> checkerboard-split layout ``(n, 2, L, L // 2)``."""
    n, L, _ = spins.shape
    out = np.empty((n, 2, L, L // 2), dtype=np.int8)
    out[:, 0, 0::2] = spins[:, 0::2, 0::2]
    out[:, 0, 1::2] = spins[:, 1::2, 1::2]
    out[:, 1, 0::2] = spins[:, 0::2, 1::2]
    out[:, 1, 1::2] = spins[:, 1::2, 0::2]
    return out


def from_split(sub: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_split`."""
    n, _, L, half = sub.shape
    out = np.empty((n, L, L), dtype=np.int8)
    out[:, 0::2, 0::2] = sub[:, 0, 0::2]
    out[:, 1::2, 1::2] = sub[:, 0, 1::2]
    out[:, 0::2, 1::2] = sub[:, 1, 0::2]
    out[:, 1::2, 0::2] = sub[:, 1, 1::2]
    return out
