"""Numba transfer-matrix kernel for the exact r-local posterior of the loop model.

Window coordinates (n = 2r + 1): ``h[a, b]`` joins window vertices ``(a, b)-(a, b+1)``,
``v[a, b]`` joins ``(a, b)-(a+1, b)``, ``0 <= a, b < n``.  The interior vertices are
``1 <= a, b <= n-1``; the prior on the window is uniform over configurations with even
parity at every interior vertex (theorem in :mod:`phasebench.lattice_models.exact.toric_window`).

Each edge carries weights ``w(x) ∝ P(y_e | x)``, built from ``q = P(x_e = 1)`` under a flat
prior on that edge alone and scaled so that ``max(w(0), w(1)) = 1`` (no underflow within a
row).  The sweep runs over rows ``a = 1 .. n-1``; the state is the vertical bits ``v[a-1 or a, 1..n-1]`` (old bits to the
right of the sweep column, new bits to its left) plus the running horizontal bit ``t``,
2^n numbers.  At interior vertex ``(a, b)`` parity fixes ``h[a, b] = t ^ v[a-1, b] ^ v[a, b]``.
Edges in no interior constraint (``h[0, :]``, ``v[:, 0]``) contribute independent factors
that cancel from every marginal and are skipped.  Rows are rescaled.

The sweep runs forward to the centre edges' column step; the rest of it is a linear functional of the state
there, computed once by sweeping its transpose back from the last row.  The partition functions with the
centre edges clamped (h = 0, h = 1, v = 1) are then three dot products: one sweep in all, where finishing the
sweep once per clamp cost two (docs/decisions/toric-window-adjoint.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _quad(j, m, k):
    """The four states that differ only in bit k (the swept vertical bit) and bit m (t), for the j-th of them."""
    i00 = ((j >> k) << (k + 1)) | (j & ((1 << k) - 1))
    i10 = i00 | (1 << k)
    return i00, i10, i00 | (1 << m), i10 | (1 << m)


@njit(cache=True)
def _column_step(psi, m, k, wv0, wv1, wh0, wh1):
    """Replace old bit k (v[a-1, b]) by new bit u = v[a, b]; t <- t ^ old ^ u (b = k + 1)."""
    for j in range(1 << (m - 1)):
        i00, i10, i01, i11 = _quad(j, m, k)
        s0 = psi[i00] + psi[i11]  # t ^ old = 0
        s1 = psi[i01] + psi[i10]  # t ^ old = 1
        psi[i00] = wv0 * wh0 * s0  # u = 0, t' = 0
        psi[i10] = wv1 * wh0 * s1  # u = 1, t' = 0
        psi[i01] = wv0 * wh1 * s1  # u = 0, t' = 1
        psi[i11] = wv1 * wh1 * s0  # u = 1, t' = 1


@njit(cache=True)
def _row_start(psi, m, wh0, wh1):
    T = 1 << m
    for s in range(T):
        p = psi[s]
        psi[s] = p * wh0
        psi[s | T] = p * wh1


@njit(cache=True)
def _row_end(psi, m):
    """Sum out t and rescale to total 1 (a common factor of the three clamped partition functions)."""
    T = 1 << m
    total = 0.0
    for s in range(T):
        psi[s] = psi[s] + psi[s | T]
        total += psi[s]
    if total > 0.0:
        inv = 1.0 / total
        for s in range(T):
            psi[s] *= inv


@njit(cache=True)
def _column_step_adjoint(g, m, k, wv0, wv1, wh0, wh1):
    """The transpose of :func:`_column_step`, applied to a covector ``g`` of the state after the step."""
    for j in range(1 << (m - 1)):
        i00, i10, i01, i11 = _quad(j, m, k)
        a0 = wv0 * wh0 * g[i00] + wv1 * wh1 * g[i11]  # reached from t ^ old = 0
        a1 = wv1 * wh0 * g[i10] + wv0 * wh1 * g[i01]  # reached from t ^ old = 1
        g[i00] = a0
        g[i11] = a0
        g[i01] = a1
        g[i10] = a1


@njit(cache=True)
def _row_start_adjoint(g, m, wh0, wh1):
    """The transpose of :func:`_row_start`."""
    T = 1 << m
    for s in range(T):
        g[s] = wh0 * g[s] + wh1 * g[s | T]


@njit(cache=True)
def _row_end_adjoint(g, m):
    """The transpose of :func:`_row_end` (summing out t copies the covector to both t), rescaled to max 1."""
    T = 1 << m
    top = 0.0
    for s in range(T):
        top = max(top, g[s])
    inv = 1.0 / top if top > 0.0 else 1.0
    for s in range(T):
        g[s] *= inv
        g[s | T] = g[s]


@njit(cache=True)
def window_centre_marginals(qh, qv):
    """``(P(h[r, r] = 1 | y_W), P(v[r, r] = 1 | y_W))`` for one window of normalised
    edge likelihoods ``qh, qv`` of shape ``(n, n)``, n = 2r + 1.  NaN if y_W is impossible."""
    n = qh.shape[0]
    if n == 1:
        return qh[0, 0], qv[0, 0]
    m = n - 1
    r = n // 2
    # weights scaled so that max(w0, w1) = 1 per edge (a common factor: marginals unchanged)
    h0 = np.empty((n, n))
    h1 = np.empty((n, n))
    v0 = np.empty((n, n))
    v1 = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            q = qh[a, b]
            top = max(q, 1.0 - q)
            h0[a, b] = (1.0 - q) / top
            h1[a, b] = q / top
            q = qv[a, b]
            top = max(q, 1.0 - q)
            v0[a, b] = (1.0 - q) / top
            v1[a, b] = q / top
    psi = np.empty(1 << n)
    # row 0: the free vertical bits v[0, 1..m]
    psi[0] = 1.0
    size = 1
    for k in range(m):
        for s in range(size):
            psi[s | size] = psi[s] * v1[0, k + 1]
            psi[s] *= v0[0, k + 1]
        size <<= 1
    # common part of the sweep: rows 1 .. r-1, then row r up to column r-1
    for a in range(1, r + 1):
        _row_start(psi, m, h0[a, 0], h1[a, 0])
        last = n if a < r else r
        for b in range(1, last):
            _column_step(psi, m, b - 1, v0[a, b], v1[a, b], h0[a, b], h1[a, b])
        if a < r:
            _row_end(psi, m)
    # The rest of the sweep is a linear functional of the state after the centre step: sweep its transpose
    # back from the last row, then Z(h = 0), Z(h = 1), Z(v = 1) are three dot products (one common scale).
    T = 1 << m
    g = np.zeros(1 << n)
    g[:T] = 1.0
    for a in range(n - 1, r - 1, -1):  # rows n-1 .. r+1 whole, then row r back to the column after the centre
        _row_end_adjoint(g, m)
        first = 1 if a > r else r + 1
        for b in range(n - 1, first - 1, -1):
            _column_step_adjoint(g, m, b - 1, v0[a, b], v1[a, b], h0[a, b], h1[a, b])
        if a > r:
            _row_start_adjoint(g, m, h0[a, 0], h1[a, 0])
    wv0, wv1, wh0, wh1 = v0[r, r], v1[r, r], h0[r, r], h1[r, r]
    x = psi.copy()
    _column_step(x, m, r - 1, wv0, wv1, wh0, 0.0)
    z_h0 = np.dot(x, g)
    x = psi.copy()
    _column_step(x, m, r - 1, wv0, wv1, 0.0, wh1)
    z_h1 = np.dot(x, g)
    _column_step(psi, m, r - 1, 0.0, wv1, wh0, wh1)
    z_v1 = np.dot(psi, g)
    z = z_h0 + z_h1
    if not z > 0.0:
        return np.nan, np.nan
    return z_h1 / z, min(1.0, z_v1 / z)


@njit(cache=True, parallel=True)
def field_marginals(qh_field, qv_field, r, centres):
    """Marginals of both centre edges for each window centre ``centres[k] = (s, i, j)`` of
    per-edge likelihood fields ``(N, L, L)``; windows wrap cyclically.  Returns ``(K, 2)``."""
    K = centres.shape[0]
    L = qh_field.shape[1]
    n = 2 * r + 1
    out = np.empty((K, 2))
    for k in prange(K):
        s, i, j = centres[k, 0], centres[k, 1], centres[k, 2]
        qh = np.empty((n, n))
        qv = np.empty((n, n))
        for a in range(n):
            ii = (i - r + a) % L
            for b in range(n):
                jj = (j - r + b) % L
                qh[a, b] = qh_field[s, ii, jj]
                qv[a, b] = qv_field[s, ii, jj]
        ph, pv = window_centre_marginals(qh, qv)
        out[k, 0] = ph
        out[k, 1] = pv
    return out
