"""Numba kernel of loopy BP on the Ising posterior: the same rounds as :func:`.ising.ising_bp_numpy`, one
configuration at a time with its messages in cache.

Every message update is the same sequence of IEEE operations as in the NumPy version (additions,
multiplications and divisions, no fused or reordered arithmetic: Numba compiles without fast-math), so the
two give the same bytes (``tests/test_bp.py``).  The NumPy version creates about thirty temporaries of
``(n, 4, L, L)`` per round; this kernel runs the converging global member several times faster
(docs/decisions/bp-family.md).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _total(t, tanh_h, c, i, j):
    out = tanh_h[c, i, j]
    for d in range(4):
        out = (out + t[d, i, j]) / (1.0 + out * t[d, i, j])
    return out


@nb.njit(cache=True)
def ising_bp_kernel(tanh_h, bond_tanh, rounds, damping, tolerance, max_rounds):
    """``(estimates (n, L, L), rounds run (n,))``.  ``tanh_h (n, L, L)``: tanh of the site fields;
    ``bond_tanh (4, L, L)``; ``rounds >= 0`` a fixed number of rounds, ``rounds < 0`` until converged
    (:func:`.schedule.iterate`'s rule: the largest change of a message at most ``tolerance * max(1, max
    |message|)``, at most ``max_rounds``).  Slot d holds the message from the neighbour in direction d:
    above, below, left, right (:data:`.site_lattice.DIRECTIONS`); its opposite slot is ``d ^ 1``."""
    n, L = tanh_h.shape[0], tanh_h.shape[1]
    est = np.empty((n, L, L))
    used = np.zeros(n, dtype=np.int64)
    up = np.empty(L, dtype=np.int64)
    down = np.empty(L, dtype=np.int64)
    for i in range(L):
        up[i], down[i] = (i - 1) % L, (i + 1) % L
    limit = rounds if rounds >= 0 else max_rounds
    t = np.zeros((4, L, L))
    new = np.empty((4, L, L))
    total = np.empty((L, L))
    for c in range(n):
        t[:] = 0.0
        for _ in range(limit):
            for i in range(L):
                for j in range(L):
                    total[i, j] = _total(t, tanh_h, c, i, j)
            change, scale = 0.0, 1.0
            for d in range(4):
                back = d ^ 1  # the neighbour's slot for the message it received from this site
                for i in range(L):
                    ni = up[i] if d == 0 else (down[i] if d == 1 else i)
                    for j in range(L):
                        nj = up[j] if d == 2 else (down[j] if d == 3 else j)
                        big_t, b = total[ni, nj], t[back, ni, nj]
                        value = bond_tanh[d, i, j] * ((big_t - b) / (1.0 - big_t * b))
                        if damping != 0.0:
                            value = (1.0 - damping) * value + damping * t[d, i, j]
                        delta = abs(value - t[d, i, j])
                        if delta > change or delta != delta:  # a NaN sticks, as in NumPy's max: no convergence
                            change = delta
                        if abs(value) > scale:
                            scale = abs(value)
                        new[d, i, j] = value
            t, new = new, t
            used[c] += 1
            if rounds < 0 and change <= tolerance * scale:
                break
        for i in range(L):
            for j in range(L):
                est[c, i, j] = _total(t, tanh_h, c, i, j)
    return est, used
