"""Swendsen-Wang updates of the anisotropic 2D Ising model on the L x L torus (Numba).

Energy ``E(s) = -J_x sum_{i,j} s_{i,j} s_{i,j+1} - J_y sum_{i,j} s_{i,j} s_{i+1,j}`` (x along
columns, y along rows, indices mod L).  The Fortuin-Kasteleyn representation of
``exp(-E/T)`` with ferromagnetic couplings puts a bond on each *aligned* x-edge with probability
``1 - exp(-2 J_x / T)`` and on each aligned y-edge with ``1 - exp(-2 J_y / T)``; flipping every
bond cluster with probability 1/2 is one Swendsen-Wang (1987) update, which satisfies detailed
balance for any pair of couplings.

Each chain owns a counter-based random stream (``phasebench.lattice_models.kernels.counter_rng``):
the bond test of edge (site x, direction d) uses counter ``c + 2 x + d`` and the flip of the
cluster rooted at x uses ``c + 2 L^2 + x``; one sweep advances ``c`` by ``3 L^2``.  The numbers a
sweep uses do not depend on the order of the work, so the samples are the same bytes for
every ``NUMBA_NUM_THREADS``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from phasebench.lattice_models.kernels.ising_cluster import bond_threshold, sw_sweep  # noqa: F401 (re-exported)


@nb.njit(inline="always", cache=True)
def _bond_sums(flat, L):
    """``(sum s_i s_right, sum s_i s_down, sum s_i)`` of one configuration (flat, length L^2)."""
    bx = 0
    by = 0
    m = 0
    N = L * L
    for x in range(N):
        s = np.int64(flat[x])
        right = x + 1 if (x + 1) % L != 0 else x + 1 - L
        down = x + L if x + L < N else x + L - N
        bx += s * np.int64(flat[right])
        by += s * np.int64(flat[down])
        m += s
    return bx, by, m


@nb.njit(parallel=True, cache=True)
def run_chains(spins, keys, counters, thr_x, thr_y, jx, jy, n_sweeps, record_every, samples_out, e_trace, m_trace):
    """Advance every chain of ``spins`` (n_chains, L, L) by ``n_sweeps`` Swendsen-Wang sweeps, in place.

    After sweep t the energy per site ``-(J_x b_x + J_y b_y) / L^2`` and the magnetisation per site
    go to ``e_trace[ch, t]`` and ``m_trace[ch, t]`` when those have ``n_sweeps`` columns (width 0:
    no trace); the state goes to ``samples_out[ch, (t + 1) // record_every - 1]`` when
    ``(t + 1) % record_every == 0`` and there is room.  Advances ``counters``.
    """
    n_chains, L, _ = spins.shape
    N = L * L
    for ch in nb.prange(n_chains):
        key = keys[ch]
        c = counters[ch]
        work = np.empty(2 * N, dtype=np.int64)
        state = spins[ch]
        flat = state.reshape(N)
        for t in range(n_sweeps):
            c = sw_sweep(flat, L, key, c, thr_x, thr_y, work)
            if e_trace.shape[1] > 0:
                bx, by, m = _bond_sums(flat, L)
                e_trace[ch, t] = -(jx * bx + jy * by) / N
                m_trace[ch, t] = m / N
            if (t + 1) % record_every == 0:
                slot = (t + 1) // record_every - 1
                if slot < samples_out.shape[1]:
                    samples_out[ch, slot] = state
        counters[ch] = c
