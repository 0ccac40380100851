"""Brute force for the loop model on tiny tori: GF(2) linear algebra and enumeration.

Used as the independent oracle for :mod:`phasebench.lattice_models.exact.toric_window` (tests only).
Edges are flattened as ``c * L * L + i * L + j`` (conventions of :mod:`phasebench.lattice_models.toric_loops`).
"""

from __future__ import annotations

import numpy as np


def edge_index(c, i, j, L: int):
    return c * L * L + (i % L) * L + (j % L)


def cycle_space_generators(L: int) -> np.ndarray:
    """``(L^2 + 2, 2 L^2)`` uint8: the L^2 plaquette boundaries, then the loops h[0, :] and v[:, 0]."""
    G = np.zeros((L * L + 2, 2 * L * L), dtype=np.uint8)
    for i in range(L):
        for j in range(L):
            row = G[i * L + j]
            for e in (edge_index(0, i, j, L), edge_index(0, i + 1, j, L),
                      edge_index(1, i, j, L), edge_index(1, i, j + 1, L)):
                row[e] ^= 1
    G[L * L, [edge_index(0, 0, j, L) for j in range(L)]] = 1
    G[L * L + 1, [edge_index(1, i, 0, L) for i in range(L)]] = 1
    return G


def vertex_incidence(L: int) -> np.ndarray:
    """``(L^2, 2 L^2)`` uint8 vertex-edge incidence (the parity checks)."""
    H = np.zeros((L * L, 2 * L * L), dtype=np.uint8)
    for i in range(L):
        for j in range(L):
            for e in (edge_index(0, i, j, L), edge_index(0, i, j - 1, L),
                      edge_index(1, i, j, L), edge_index(1, i - 1, j, L)):
                H[i * L + j, e] = 1
    return H


def gf2_row_basis(M: np.ndarray) -> np.ndarray:
    """A basis (rows, reduced echelon form) of the GF(2) row space of ``M``."""
    A = (np.array(M, dtype=np.uint8) & 1).copy()
    rows, cols = A.shape
    rank = 0
    for c in range(cols):
        if rank == rows:
            break
        pivots = np.flatnonzero(A[rank:, c])
        if len(pivots) == 0:
            continue
        p = rank + pivots[0]
        A[[rank, p]] = A[[p, rank]]
        hits = np.flatnonzero(A[:, c])
        hits = hits[hits != rank]
        A[hits] ^= A[rank]
        rank += 1
    return A[:rank]


def gf2_rank(M: np.ndarray) -> int:
    return len(gf2_row_basis(M))


def gf2_nullspace(M: np.ndarray) -> np.ndarray:
    """A basis (rows) of ``{s : M s = 0}`` over GF(2)."""
    B = gf2_row_basis(M)
    n = M.shape[1]
    pivot_cols = [int(np.flatnonzero(row)[0]) for row in B]
    free = [c for c in range(n) if c not in set(pivot_cols)]
    N = np.zeros((len(free), n), dtype=np.uint8)
    for k, f in enumerate(free):
        N[k, f] = 1
        for row, pc in zip(B, pivot_cols):
            N[k, pc] = row[f]
    return N


def span(basis: np.ndarray) -> np.ndarray:
    """All ``2^k`` GF(2) combinations of the ``k`` basis rows."""
    out = np.zeros((1, basis.shape[1]), dtype=np.uint8)
    for row in basis:
        out = np.concatenate([out, out ^ row])
    return out


def window_edges(L: int, r: int, i: int, j: int) -> np.ndarray:
    """Flat indices of the radius-r window of centre ``(i, j)`` in window order ``(c, a, b)``."""
    n = 2 * r + 1
    return np.array([edge_index(c, i - r + a, j - r + b, L)
                     for c in range(2) for a in range(n) for b in range(n)], dtype=np.int64)


def interior_constraints(r: int) -> np.ndarray:
    """Parity checks of the interior vertices, over window positions ``(c, a, b)``."""
    n = 2 * r + 1
    pos = lambda c, a, b: c * n * n + a * n + b  # noqa: E731
    rows = []
    for a in range(1, n):
        for b in range(1, n):
            row = np.zeros(2 * n * n, dtype=np.uint8)
            for e in (pos(0, a, b), pos(0, a, b - 1), pos(1, a, b), pos(1, a - 1, b)):
                row[e] = 1
            rows.append(row)
    return np.array(rows, dtype=np.uint8).reshape(-1, 2 * n * n)


def _centre_positions(r: int):
    n = 2 * r + 1
    return r * n + r, n * n + r * n + r  # h centre, v centre


def posterior_from_configs(configs: np.ndarray, q: np.ndarray, r: int, counts=None):
    """Centre marginals given window configurations ``configs`` (each counted ``counts``
    times, default once) and per-position normalised likelihoods ``q``."""
    logw = np.where(configs == 1, np.log(q), np.log1p(-q)).sum(axis=1)
    w = np.exp(logw - logw.max())
    if counts is not None:
        w = w * counts
    h, v = _centre_positions(r)
    return float(w[configs[:, h] == 1].sum() / w.sum()), float(w[configs[:, v] == 1].sum() / w.sum())


def posterior_full_enumeration(L: int, r: int, i: int, j: int, q_field: np.ndarray):
    """Centre marginals by enumerating the whole cycle space (2^(L^2+1) states: L <= 4),
    likelihood only from the window edges of centre ``(i, j)``; ``q_field`` is ``(2, L, L)``."""
    cycles = span(gf2_row_basis(cycle_space_generators(L)))
    idx = window_edges(L, r, i, j)
    return posterior_from_configs(cycles[:, idx], q_field.reshape(-1)[idx], r)


def window_pattern_counts(L: int, r: int, i: int, j: int):
    """Enumerate all ``2^(L^2+1)`` cycles (chunked; fine up to L = 5) and count the window
    patterns.  Returns ``(patterns (k, 2n^2) uint8, counts (k,))`` for the patterns seen."""
    idx = window_edges(L, r, i, j)
    width = len(idx)
    if width > 30:
        raise ValueError(f"window of {width} edges is too wide for pattern counting")
    basis = gf2_row_basis(cycle_space_generators(L))[:, idx].astype(np.int64)
    codes = basis @ (1 << np.arange(width, dtype=np.int64))
    half = len(codes) // 2

    def all_xors(gens):
        out = np.zeros(1, dtype=np.int64)
        for g in gens:
            out = np.concatenate([out, out ^ g])
        return out

    left, right = all_xors(codes[:half]), all_xors(codes[half:])
    counts = np.zeros(1 << width, dtype=np.int64)
    for start in range(0, len(left), 256):
        counts += np.bincount((left[start:start + 256, None] ^ right[None, :]).ravel(), minlength=1 << width)
    seen = np.flatnonzero(counts)
    patterns = ((seen[:, None] >> np.arange(width)) & 1).astype(np.uint8)
    return patterns, counts[seen]


def posterior_projected_span(L: int, r: int, i: int, j: int, q_field: np.ndarray):
    """Same, enumerating the image of the cycle space in the window (the span of the
    restricted generators); every image point has the same number of preimages."""
    idx = window_edges(L, r, i, j)
    image = span(gf2_row_basis(cycle_space_generators(L)[:, idx]))
    return posterior_from_configs(image, q_field.reshape(-1)[idx], r)


def posterior_dual_sum(L: int, r: int, i: int, j: int, q_field: np.ndarray):
    """Same, by the MacWilliams identity over the dual of the window image:
    ``sum_{x in C} prod w_f(x_f) = |C^perp|^-1 sum_{s in C^perp} prod_f (w_f(0) + (-1)^{s_f} w_f(1))``."""
    idx = window_edges(L, r, i, j)
    q = q_field.reshape(-1)[idx]
    dual = span(gf2_nullspace(gf2_row_basis(cycle_space_generators(L)[:, idx])))
    sign = 1.0 - 2.0 * dual

    def total(w0, w1):
        terms = np.prod(w0 + sign * w1, axis=1)
        return float(np.sort(terms).sum())

    h, v = _centre_positions(r)
    z = total(1.0 - q, q)
    w0 = 1.0 - q
    w0h = w0.copy()
    w0h[h] = 0.0
    w0v = w0.copy()
    w0v[v] = 0.0
    return total(w0h, q) / z, total(w0v, q) / z
