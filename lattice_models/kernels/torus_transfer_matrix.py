"""Exact transfer matrix for a general Ising model on the L x L torus (Numba).

Model (docs/physics.md, section 2, "Posterior of noisy Ising data")::

    p(s) ∝ exp( sum_{i,j} Jh[i,j] s[i,j] s[i,j+1]
              + sum_{i,j} Jv[i,j] s[i,j] s[i+1,j]
              + sum_{i,j} h[i,j]  s[i,j] ),      indices mod L, s = +-1.

Method.  Condition on the first row ``r`` (2^L states).  Then add the sites of
rows 1..L-1 one at a time in row-major order, carrying the last L spins (one
per column: bit c of the state is the newest spin of column c, bit 1 <-> +1).
Adding site (i, j) replaces bit j.  A forward pass stores the messages; a
backward pass yields the joint law of (old state, new spin), hence the site
magnetisation and every bond correlation touching the new site.  The last
row's vertical wrap bonds to row 0 are fields, because r is fixed.  The
conditional results are combined over r with weights Z_r / Z in a fixed
sequential order, so the output does not depend on the number of threads.
Cost O(L^2 4^L), memory O(L^2 2^L) per thread plus O(L^2 2^L) results.

Scaling.  Each step's 16-entry weight table is shifted so that its largest
entry is 1 (the shift goes to log Z), and every stored message is divided by
its sum (the sum goes to log Z), so nothing overflows and the largest entry
of a stored message lies in [2^-L, 1].  Write F <= 3 max|J| for the couplings
of one site to its carried neighbours and B <= (L+2) max|J| for those of the
carried spins to the rest.  A message entry loses precision only below
e^-708; relative to the dominant terms that is below e^(-708 + 2F + 2 L ln 2),
and such an entry can regain at most a factor e^(2B) later.  The results are
therefore exact to double precision while ``(2L + 10) max|J| <= 650``
(checked by the Python wrapper, lattice_models/exact/torus_ising.py).
Fields may be arbitrarily large (finite).

If ``zero_field`` is set (all h == 0) the global spin flip is a symmetry and
only first rows with r[L-1] = -1 are computed; each stands for the pair.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

N_CHUNKS = 64  # fixed work split (independent of the thread count)


@njit(cache=True)
def _step_table(Jh, Jv, h, r_bits, i, j, L, W):
    """Fill W[a + 2b + 4 lft + 8 wrp] = exp(s_b * field - shift); return shift.

    a: above spin bit, b: new spin bit, lft: left-neighbour bit, wrp: bit 0
    (the horizontal wrap neighbour, used only when j == L-1).
    """
    hk = h[i, j]
    if i == L - 1:
        hk += Jv[L - 1, j] * (2.0 * ((r_bits >> j) & 1) - 1.0)
    jup = Jv[i - 1, j]
    jl = Jh[i, j - 1] if j > 0 else 0.0
    jw = Jh[i, L - 1] if j == L - 1 else 0.0
    shift = -np.inf
    for idx in range(16):
        sa = 2.0 * (idx & 1) - 1.0
        sb = 2.0 * ((idx >> 1) & 1) - 1.0
        sl = 2.0 * ((idx >> 2) & 1) - 1.0
        sw = 2.0 * ((idx >> 3) & 1) - 1.0
        e = sb * (hk + jup * sa + jl * sl + jw * sw)
        W[idx] = e
        if e > shift:
            shift = e
    for idx in range(16):
        W[idx] = math.exp(W[idx] - shift)
    return shift


@njit(cache=True)
def _one_first_row(Jh, Jv, h, r_bits, L, alpha, beta, beta_new, W, mag, corr_h, corr_v):
    """log Z_r and conditional <s>, <s s> given first row r; fills mag/corr_h/corr_v (L, L)."""
    n_states = 1 << L
    log_z = 0.0
    for j in range(L):  # row 0: fixed spins
        sj = 2.0 * ((r_bits >> j) & 1) - 1.0
        sn = 2.0 * ((r_bits >> ((j + 1) % L)) & 1) - 1.0
        log_z += h[0, j] * sj + Jh[0, j] * sj * sn
        mag[0, j] = sj
        corr_h[0, j] = sj * sn
    for s in range(n_states):
        alpha[0, s] = 0.0
    alpha[0, r_bits] = 1.0
    n_steps = L * (L - 1)
    # forward pass
    for t in range(1, n_steps + 1):
        k = L + t - 1
        i = k // L
        j = k - i * L
        log_z += _step_table(Jh, Jv, h, r_bits, i, j, L, W)
        bj = 1 << j
        n_lb = 2 if j > 0 else 1
        lsh = j - 1 if j > 0 else 0
        inner = 1 << lsh if j > 0 else 1
        wmask = 1 if j == L - 1 else 0
        prev = alpha[t - 1]
        cur = alpha[t]
        total = 0.0
        for hi in range(1 << (L - 1 - j)):
            for lb in range(n_lb):
                hb = (hi << (j + 1)) | (lb << lsh)
                for lo in range(inner):
                    base = hb | lo
                    off = 4 * lb + 8 * (base & wmask)
                    a0 = prev[base]
                    a1 = prev[base | bj]
                    n0 = a0 * W[off] + a1 * W[off + 1]
                    n1 = a0 * W[off + 2] + a1 * W[off + 3]
                    cur[base] = n0
                    cur[base | bj] = n1
                    total += n0 + n1
        log_z += math.log(total)
        inv = 1.0 / total
        for s in range(n_states):
            cur[s] *= inv
    # backward pass
    for s in range(n_states):
        beta[s] = 1.0
    for t in range(n_steps, 0, -1):
        k = L + t - 1
        i = k // L
        j = k - i * L
        _step_table(Jh, Jv, h, r_bits, i, j, L, W)
        bj = 1 << j
        n_lb = 2 if j > 0 else 1
        lsh = j - 1 if j > 0 else 0
        inner = 1 << lsh if j > 0 else 1
        wmask = 1 if j == L - 1 else 0
        prev = alpha[t - 1]
        tot = 0.0
        m = 0.0
        c_up = 0.0
        c_left = 0.0
        c_wrap = 0.0
        b_total = 0.0
        for hi in range(1 << (L - 1 - j)):
            for lb in range(n_lb):
                hb = (hi << (j + 1)) | (lb << lsh)
                for lo in range(inner):
                    base = hb | lo
                    wb = base & wmask
                    off = 4 * lb + 8 * wb
                    b0 = beta[base]
                    b1 = beta[base | bj]
                    t00 = W[off] * b0
                    t10 = W[off + 1] * b0
                    t01 = W[off + 2] * b1
                    t11 = W[off + 3] * b1
                    n0 = t00 + t01
                    n1 = t10 + t11
                    beta_new[base] = n0
                    beta_new[base | bj] = n1
                    b_total += n0 + n1
                    a0 = prev[base]
                    a1 = prev[base | bj]
                    j00 = a0 * t00
                    j10 = a1 * t10
                    j01 = a0 * t01
                    j11 = a1 * t11
                    plus = j01 + j11
                    minus = j00 + j10
                    d = plus - minus
                    tot += plus + minus
                    m += d
                    c_up += (j00 + j11) - (j10 + j01)
                    c_left += (2 * lb - 1) * d
                    c_wrap += (2 * wb - 1) * d
        mag[i, j] = m / tot
        corr_v[i - 1, j] = c_up / tot
        if j > 0:
            corr_h[i, j - 1] = c_left / tot
        if j == L - 1:
            corr_h[i, L - 1] = c_wrap / tot
        if i == L - 1:
            corr_v[L - 1, j] = (2.0 * ((r_bits >> j) & 1) - 1.0) * m / tot
        inv = 1.0 / b_total
        for s in range(n_states):
            beta_new[s] *= inv
        beta, beta_new = beta_new, beta
    return log_z


def _per_first_row(Jh, Jv, h, zero_field):
    """Per-first-row results: log_z (R,), mag, corr_h, corr_v (R, L, L).

    R = 2^L, or 2^(L-1) with ``zero_field`` (rows with bit L-1 clear only).
    """
    L = h.shape[0]
    n_rows = (1 << (L - 1)) if zero_field else (1 << L)
    log_z = np.empty(n_rows)
    mag = np.empty((n_rows, L, L))
    corr_h = np.empty((n_rows, L, L))
    corr_v = np.empty((n_rows, L, L))
    n_chunks = min(N_CHUNKS, n_rows)
    n_steps = L * (L - 1)
    for c in prange(n_chunks):
        alpha = np.empty((n_steps + 1, 1 << L))
        beta = np.empty(1 << L)
        beta_new = np.empty(1 << L)
        W = np.empty(16)
        lo = (c * n_rows) // n_chunks
        hi = ((c + 1) * n_rows) // n_chunks
        for r in range(lo, hi):
            log_z[r] = _one_first_row(Jh, Jv, h, r, L, alpha, beta, beta_new, W,
                                      mag[r], corr_h[r], corr_v[r])
    return log_z, mag, corr_h, corr_v


def _renamed(fn, name: str):
    """A copy of the Python function under another name.

    Numba's on-disk cache keys an entry by the function's module, qualified name, first line,
    bytecode and signature, not by the compile flags: a serial and a ``parallel=True``
    dispatcher of the same function share their cache entries, and whichever compiles first
    serves both.  (It did: after the serial kernel had run at L = 6, the threaded one loaded the
    serial code at L = 10 and the full ising-temperature division's oracle ran on one thread,
    1601 s.)  A distinct name gives each variant its own entry.
    """
    clone = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    clone.__qualname__ = name
    return clone


# The same code, threaded and serial: waking threads costs more than small lattices take.
torus_ising_per_first_row = njit(cache=True, parallel=True)(_renamed(_per_first_row, "_per_first_row_parallel"))
torus_ising_per_first_row_serial = njit(cache=True)(_renamed(_per_first_row, "_per_first_row_serial"))
SERIAL_MAX_L = 6


def per_first_row(Jh, Jv, h, zero_field):
    """Dispatch: serial for L <= SERIAL_MAX_L, threaded above (identical results)."""
    if h.shape[0] <= SERIAL_MAX_L:
        return torus_ising_per_first_row_serial(Jh, Jv, h, zero_field)
    return torus_ising_per_first_row(Jh, Jv, h, zero_field)


@njit(cache=True)
def combine_first_rows(log_z_rows, mag_rows, corr_h_rows, corr_v_rows, zero_field):
    """Sequential (thread-count independent) mixture over first rows: (log_z, mag, corr_h, corr_v)."""
    n_rows, L, _ = mag_rows.shape
    top = -np.inf
    for r in range(n_rows):
        if log_z_rows[r] > top:
            top = log_z_rows[r]
    weights = np.empty(n_rows)
    total = 0.0
    for r in range(n_rows):
        weights[r] = math.exp(log_z_rows[r] - top)
        total += weights[r]
    mag = np.zeros((L, L))
    corr_h = np.zeros((L, L))
    corr_v = np.zeros((L, L))
    for r in range(n_rows):
        w = weights[r] / total
        for i in range(L):
            for j in range(L):
                mag[i, j] += w * mag_rows[r, i, j]
                corr_h[i, j] += w * corr_h_rows[r, i, j]
                corr_v[i, j] += w * corr_v_rows[r, i, j]
    log_z = top + math.log(total)
    if zero_field:
        log_z += math.log(2.0)
        mag[:, :] = 0.0
    return log_z, mag, corr_h, corr_v
