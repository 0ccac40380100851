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
that cancel from every marginal and are skipped.  Rows are rescaled (log scale kept).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _column_step(psi, m, k, wv0, wv1, wh0, wh1):
    """Replace old bit k (v[a-1, b]) by new bit u = v[a, b]; t <- t ^ old ^ u (b = k + 1)."""
    T = 1 << m
    low = (1 << k) - 1
    bk = 1 << k
    for j in range(1 << (m - 1)):
        i00 = ((j >> k) << (k + 1)) | (j & low)
        i10 = i00 | bk
        i01 = i00 | T
        i11 = i10 | T
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
    """Sum out t and rescale; returns the log of the scale factor removed."""
    T = 1 << m
    total = 0.0
    for s in range(T):
        psi[s] = psi[s] + psi[s | T]
        total += psi[s]
    if total > 0.0:
        inv = 1.0 / total
        for s in range(T):
            psi[s] *= inv
        return np.log(total)
    return 0.0


@njit(cache=True)
def _finish_rows(psi, h0, h1, v0, v1, n, a0, b0, ch, cv):
    """Continue a sweep at column b0 of row a0 to the end; ``ch``/``cv`` clamp the centre
    edges (-1 free, else the clamped value).  Returns log Z (up to the skipped factors)."""
    m = n - 1
    r = n // 2
    logz = 0.0
    for a in range(a0, n):
        start_b = b0 if a == a0 else 1
        if a != a0:  # row a0 was started by the caller
            _row_start(psi, m, h0[a, 0], h1[a, 0])
        for b in range(start_b, n):
            wv0, wv1, wh0, wh1 = v0[a, b], v1[a, b], h0[a, b], h1[a, b]
            if a == r and b == r:
                if ch == 0:
                    wh1 = 0.0
                elif ch == 1:
                    wh0 = 0.0
                if cv == 0:
                    wv1 = 0.0
                elif cv == 1:
                    wv0 = 0.0
            _column_step(psi, m, b - 1, wv0, wv1, wh0, wh1)
        logz += _row_end(psi, m)
    total = 0.0
    for s in range(1 << m):
        total += psi[s]
    if total <= 0.0:
        return -np.inf
    return logz + np.log(total)


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
    # branch: h centre = 0, h centre = 1, v centre = 1 (common scale factors cancel)
    z_h0 = _finish_rows(psi.copy(), h0, h1, v0, v1, n, r, r, 0, -1)
    z_h1 = _finish_rows(psi.copy(), h0, h1, v0, v1, n, r, r, 1, -1)
    z_v1 = _finish_rows(psi, h0, h1, v0, v1, n, r, r, -1, 1)
    top = max(z_h0, z_h1)
    if top == -np.inf:
        return np.nan, np.nan
    log_z = top + np.log(np.exp(z_h0 - top) + np.exp(z_h1 - top))
    return 1.0 / (1.0 + np.exp(z_h0 - z_h1)), min(1.0, np.exp(z_v1 - log_z))


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
