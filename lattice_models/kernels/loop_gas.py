"""Heat-bath kernel for the toric loop gas ``x^{#occupied edges}`` on the L x L torus.

Conventions are those of :mod:`phasebench.lattice_models.toric_loops` (docs/physics.md,
section 3): a chain is an int8 array ``(2, L, L)`` with ``h = chain[0]``, ``v = chain[1]``;
plaquette ``(i, j)`` is bounded by ``h[i, j]``, ``h[i+1, j]``, ``v[i, j]``, ``v[i, j+1]``.

Moves (each a heat-bath move with a deterministic involutive proposal, accepted with
probability ``x^{dn} / (1 + x^{dn})`` where ``dn`` is the change of the number of occupied
edges, so each satisfies detailed balance for ``x^n``):

* **plaquette flips**: XOR the boundary of plaquette ``(i, j)`` (= flip dual Ising spin
  ``(i, j)`` at ``e^{-2K*} = x``);
* **homology moves**: XOR the non-contractible row loop ``h[r, :]`` for every ``r`` and
  the column loop ``v[:, c]`` for every ``c``.

Plaquette boundaries generate the contractible cycles and one row plus one column loop
generate the homology, so the moves are ergodic on the cycle space.  Heat-bath rather
than Metropolis ``min(1, x^{dn})``: every heat-bath move is accepted and rejected with
positive probability, so one sweep (a fixed sequence of moves) can apply any single
generator and leave the rest, which makes the sweep kernel itself irreducible and
aperiodic.  With Metropolis the moves with ``dn <= 0`` are forced, and on the 2 x 2 torus
(where row/column loops have 2 edges) the end-of-sweep chain then never visits some
cycles -- found by the chi-square test against enumeration.  One sweep visits the
plaquettes in checkerboard order (``(i + j)`` even first, then odd; within a colour
row-major), then the L row loops, then the L column loops.  Chains are run in parallel,
each sequentially.

Random numbers are counter-based (:mod:`.counter_rng`): in sweep ``t`` of a chain with
key ``k``, plaquette ``(i, j)`` uses counter ``counter0 + t S + i L + j``, row loop ``r``
uses ``counter0 + t S + L^2 + r`` and column loop ``c`` uses ``counter0 + t S + L^2 + L + c``,
with ``S = L^2 + 2 L`` draws per sweep (:func:`draws_per_sweep`).  The output is therefore
the same for any thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .counter_rng import random_uniform


def draws_per_sweep(L: int) -> int:
    """Random numbers used per chain per sweep: L^2 plaquettes + L rows + L columns."""
    return L * L + 2 * L


def acceptance_table(x: float, L: int) -> np.ndarray:
    """float64 table: entry ``dn + D`` (``D = max(4, L)``, ``|dn| <= D``) is the heat-bath
    acceptance ``x^{dn} / (1 + x^{dn})`` of a move changing the occupation by ``dn``."""
    D = max(4, L)
    dn = np.arange(-D, D + 1, dtype=np.float64)
    return 1.0 / (1.0 + float(x) ** (-dn))


@nb.njit(inline="always", cache=True)
def _accept(dn, u, table):
    return u < table[dn + (table.shape[0] - 1) // 2]


@nb.njit(inline="always", cache=True)
def _plaquette_flip(h, v, i, j, u, table):
    L = h.shape[0]
    i1 = (i + 1) % L
    j1 = (j + 1) % L
    occ = np.int64(h[i, j]) + h[i1, j] + v[i, j] + v[i, j1]
    if _accept(4 - 2 * occ, u, table):
        h[i, j] ^= 1
        h[i1, j] ^= 1
        v[i, j] ^= 1
        v[i, j1] ^= 1


@nb.njit(cache=True)
def _sweep(chain, key, base, table):
    """One sweep of one chain; ``base`` is the counter of its first draw (uint64)."""
    h = chain[0]
    v = chain[1]
    L = h.shape[0]
    for colour in range(2):
        for i in range(L):
            for j in range((i + colour) & 1, L, 2):
                _plaquette_flip(h, v, i, j, random_uniform(key, base + np.uint64(i * L + j)), table)
    # in odd L the "checkerboard" wraps: (i, L-1) and (i, 0) share a colour; the order
    # stays a fixed deterministic sequence of detailed-balanced moves, which is all we need
    for r in range(L):
        occ = np.int64(0)
        for j in range(L):
            occ += h[r, j]
        if _accept(L - 2 * occ, random_uniform(key, base + np.uint64(L * L + r)), table):
            for j in range(L):
                h[r, j] ^= 1
    for c in range(L):
        occ = np.int64(0)
        for i in range(L):
            occ += v[i, c]
        if _accept(L - 2 * occ, random_uniform(key, base + np.uint64(L * L + L + c)), table):
            for i in range(L):
                v[i, c] ^= 1


@nb.njit(parallel=True, cache=True)
def run_chains(state, keys, counter0, n_sweeps, spacing, table, snapshots, occupation):
    """Run ``n_sweeps`` sweeps of every chain of ``state`` ``(n_chains, 2, L, L)`` in place.

    ``occupation[ch, t]`` gets the occupied-edge fraction after sweep ``t`` for
    ``t < occupation.shape[1]`` (it may be shorter than ``n_sweeps``);
    ``snapshots[k, ch]`` gets the configuration after sweep ``(k + 1) spacing - 1``
    for ``k < snapshots.shape[0]`` (pass a zero-length array for none).
    The counters used are ``counter0 .. counter0 + n_sweeps * draws_per_sweep(L) - 1``.
    """
    n_chains = state.shape[0]
    L = state.shape[2]
    per_sweep = np.uint64(L * L + 2 * L)
    n_edges = 2.0 * L * L
    n_snap = snapshots.shape[0]
    for ch in nb.prange(n_chains):
        chain = state[ch]
        key = keys[ch]
        for t in range(n_sweeps):
            _sweep(chain, key, counter0 + np.uint64(t) * per_sweep, table)
            if t < occupation.shape[1]:
                occ = 0
                for c in range(2):
                    for i in range(L):
                        for j in range(L):
                            occ += chain[c, i, j]
                occupation[ch, t] = occ / n_edges
            if (t + 1) % spacing == 0:
                k = (t + 1) // spacing - 1
                if k < n_snap:
                    snapshots[k, ch] = chain
