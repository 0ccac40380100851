"""Cluster updates for the 2D Ising model: Wolff (1989) and Swendsen-Wang (1987).

Reference: docs/physics.md, section 2, "Dynamics" (z ~ 0.25 in sweep units near T_c).
Spins are int8 (+-1) in the plain layout ``spins[chain, i, j]`` on the periodic
L x L torus, J = 1, bond probability ``p = 1 - exp(-2K)``.  Chains run in
parallel (``prange``); each chain draws its own counter-based stream
(:mod:`.counter_rng`), so results do not depend on the number of threads.

Units: one Swendsen-Wang *sweep* is one full SW update.  One Wolff *sweep* is a
fixed number ``clusters_per_sweep`` of single-cluster updates, chosen by the
caller as about ``L^2 / <cluster size>`` (measured during thermalization), so
autocorrelation times of both algorithms are in sweeps of comparable work.  The
number must not depend on the current run (e.g. "until L^2 spins have flipped"):
observing the chain at such state-dependent stopping times biases the samples.

Random-number use (per chain, counter ``c`` advancing): Wolff draws one number
for each seed site and one for each bond test of an aligned neighbour, in order;
Swendsen-Wang uses counters ``c + 2 site + direction`` for the bonds and
``c + 2 L^2 + root`` for the cluster flips, then advances ``c`` by ``3 L^2``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .counter_rng import random_u64
from .union_find import find_root, union_roots

_S11 = np.uint64(11)
_S63 = np.uint64(63)


def bond_threshold(K: float) -> np.uint64:
    """Add a bond iff ``random_u64 >> 11 < threshold``: probability ``1 - exp(-2K)`` to 2**-53."""
    return np.uint64(int((1.0 - math.exp(-2.0 * K)) * 9007199254740992.0))


@nb.njit(inline="always", cache=True)
def energy_magnetisation_plain(spins):
    """Total energy ``-sum_<ij> s_i s_j`` and magnetisation of one L x L configuration."""
    L = spins.shape[0]
    e = 0
    m = 0
    for i in range(L):
        row = spins[i]
        below = spins[i + 1 if i + 1 < L else 0]
        for j in range(L - 1):
            s = np.int64(row[j])
            e -= s * (np.int64(row[j + 1]) + np.int64(below[j]))
            m += s
        s = np.int64(row[L - 1])
        e -= s * (np.int64(row[0]) + np.int64(below[L - 1]))
        m += s
    return e, m


@nb.njit(inline="always", cache=True)
def _neighbour(x, nbr, L, N):
    """Flat index of neighbour ``nbr`` (0 right, 1 left, 2 down, 3 up) of flat site ``x``."""
    if nbr == 0:
        return x + 1 if (x + 1) % L != 0 else x + 1 - L
    if nbr == 1:
        return x - 1 if x % L != 0 else x - 1 + L
    if nbr == 2:
        return x + L if x + L < N else x + L - N
    return x - L if x >= L else x - L + N


@nb.njit(inline="always", cache=True)
def _wolff_sweep(flat, L, key, c, thr, stack, n_clusters):
    """``n_clusters`` Wolff updates of one chain (``flat`` spins, length L^2);
    returns the new counter and the spins flipped."""
    N = L * L
    flipped = 0
    for _cl in range(n_clusters):
        site = np.int64(random_u64(key, c) % np.uint64(N))
        c += np.uint64(1)
        s0 = flat[site]
        flat[site] = -s0
        stack[0] = site
        top = 1
        size = 1
        while top > 0:
            top -= 1
            x = stack[top]
            for nbr in range(4):
                y = _neighbour(x, nbr, L, N)
                if flat[y] == s0:
                    r = random_u64(key, c) >> _S11
                    c += np.uint64(1)
                    if r < thr:
                        flat[y] = -s0
                        stack[top] = y
                        top += 1
                        size += 1
        flipped += size
    return c, flipped


@nb.njit(inline="always", cache=True)
def sw_sweep(flat, L, key, c, thr_x, thr_y, parent):
    """One Swendsen-Wang update of one chain (``flat`` spins, length L^2); returns the new counter.

    A bond joins equal neighbours with probability ``1 - exp(-2 J / T)``, drawn as ``u64 >> 11 < thr``:
    ``thr_x`` along rows (right neighbour), ``thr_y`` along columns (down); equal for the isotropic model.
    ``parent`` is int64 scratch of length 2 L^2 (union-find forest, then flip decisions)."""
    N = L * L
    for x in range(N):
        parent[x] = x
    for x in range(N):
        s = flat[x]
        right = _neighbour(x, 0, L, N)
        down = _neighbour(x, 2, L, N)
        if flat[right] == s and (random_u64(key, c + np.uint64(2 * x)) >> _S11) < thr_x:
            union_roots(parent, x, right)
        if flat[down] == s and (random_u64(key, c + np.uint64(2 * x + 1)) >> _S11) < thr_y:
            union_roots(parent, x, down)
    base = c + np.uint64(2 * N)
    flip = parent[N:]
    for x in range(N):  # a root is the smallest site of its cluster, so it is decided first
        root = find_root(parent, x)
        if root == x:
            flip[x] = np.int64(random_u64(key, base + np.uint64(x)) >> _S63)
        if flip[root] == 1:
            flat[x] = -flat[x]
    return c + np.uint64(3 * N)


@nb.njit(parallel=True, cache=True)
def run_cluster_chains(spins, keys, counters, thr, clusters_per_sweep, n_sweeps, record_every,
                       samples_out, e_trace, m_trace):
    """Run ``n_sweeps`` cluster sweeps of every chain: Wolff with ``clusters_per_sweep``
    clusters per sweep if that is >= 1, else Swendsen-Wang.

    After sweep ``t`` (0-based) the total energy and magnetisation go to
    ``e_trace[ch, t]``, ``m_trace[ch, t]`` when those have ``n_sweeps`` columns
    (pass width-0 arrays to skip), and the state is copied to
    ``samples_out[ch, (t + 1) // record_every - 1]`` when ``(t + 1) % record_every == 0``
    and ``samples_out`` has room.  Advances ``counters``; returns the spins flipped per chain (Wolff) or 0 (SW).
    """
    n_chains, L, _ = spins.shape
    N = L * L
    flipped = np.zeros(n_chains, dtype=np.int64)
    for ch in nb.prange(n_chains):
        key = keys[ch]
        c = counters[ch]
        work = np.empty(2 * N, dtype=np.int64)
        state = spins[ch]
        flat = state.reshape(N)
        for t in range(n_sweeps):
            if clusters_per_sweep >= 1:
                c, nf = _wolff_sweep(flat, L, key, c, thr, work, clusters_per_sweep)
                flipped[ch] += nf
            else:
                c = sw_sweep(flat, L, key, c, thr, thr, work)
            if e_trace.shape[1] > 0:
                e, m = energy_magnetisation_plain(state)
                e_trace[ch, t] = e
                m_trace[ch, t] = m
            if (t + 1) % record_every == 0:
                slot = (t + 1) // record_every - 1
                if slot < samples_out.shape[1]:
                    samples_out[ch, slot] = state
        counters[ch] = c
    return flipped
