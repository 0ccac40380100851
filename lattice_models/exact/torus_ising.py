"""Exact marginals of a general Ising model on the L x L torus.

``p(s) ∝ exp(sum Jh[i,j] s[i,j] s[i,j+1] + sum Jv[i,j] s[i,j] s[i+1,j] + sum h[i,j] s[i,j])``
with indices mod L and s = +-1 (docs/physics.md, section 2).

:func:`torus_ising_marginals` runs the transfer matrix of
``lattice_models/kernels/torus_transfer_matrix.py`` (cost O(L^2 4^L); L <= 12);
:func:`torus_ising_brute_force` enumerates all 2^(L^2) states (L <= 4) and is the
reference the tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

MIN_L = 2
MAX_L = 12  # L = 12 costs tens of seconds per configuration on one core
MAX_BRUTE_FORCE_L = 4
# Exactness bound of the rescaled transfer matrix (see the kernel docstring).
COUPLING_RANGE_BUDGET = 650.0


@dataclass(frozen=True)
class TorusIsingMarginals:
    """log Z, <s[i,j]>, <s[i,j] s[i,j+1]> (corr_h) and <s[i,j] s[i+1,j]> (corr_v)."""

    log_z: float
    magnetization: np.ndarray
    corr_h: np.ndarray
    corr_v: np.ndarray


def max_coupling(L: int) -> float:
    """Largest max|J| for which the transfer matrix is exact to double precision."""
    return COUPLING_RANGE_BUDGET / (2.0 * L + 10.0)


def _validate(Jh, Jv, h, max_L: int, what: str):
    Jh = np.ascontiguousarray(Jh, dtype=np.float64)
    if Jh.ndim != 2 or Jh.shape[0] != Jh.shape[1]:
        raise ValueError(f"Jh must be a square (L, L) array, got shape {Jh.shape}")
    L = Jh.shape[0]
    if not (MIN_L <= L <= max_L):
        raise ValueError(f"L must be in [{MIN_L}, {max_L}] for the {what}, got L={L}")
    Jv = np.ascontiguousarray(Jv, dtype=np.float64)
    h = np.zeros((L, L)) if h is None else np.ascontiguousarray(h, dtype=np.float64)
    for name, arr in (("Jv", Jv), ("h", h)):
        if arr.shape != (L, L):
            raise ValueError(f"{name} must have shape ({L}, {L}) like Jh, got {arr.shape}")
    for name, arr in (("Jh", Jh), ("Jv", Jv), ("h", h)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite")
    return Jh, Jv, h, L


def torus_ising_marginals(Jh, Jv, h: Optional[np.ndarray] = None) -> TorusIsingMarginals:
    """Exact log Z, magnetisations and nearest-neighbour correlations (transfer matrix).

    Raises ValueError for L outside [2, 12] or couplings beyond :func:`max_coupling`.
    Output is bitwise independent of NUMBA_NUM_THREADS.
    """
    from phasebench.lattice_models.kernels.torus_transfer_matrix import combine_first_rows, per_first_row

    Jh, Jv, h, L = _validate(Jh, Jv, h, MAX_L, "transfer matrix")
    jmax = max(np.abs(Jh).max(), np.abs(Jv).max())
    if jmax > max_coupling(L):
        raise ValueError(
            f"max |J| = {jmax:g} exceeds the transfer matrix's exactness limit "
            f"{max_coupling(L):.4g} = {COUPLING_RANGE_BUDGET:g}/(2L+10) at L={L}"
        )
    zero_field = not h.any()
    rows = per_first_row(Jh, Jv, h, zero_field)
    log_z, mag, corr_h, corr_v = combine_first_rows(*rows, zero_field)
    return TorusIsingMarginals(float(log_z), mag, corr_h, corr_v)


def all_spin_states(L: int) -> np.ndarray:
    """All 2^(L^2) spin configurations, shape (2^(L^2), L, L), int8 (row-major bit order)."""
    n = L * L
    codes = np.arange(1 << n, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, L, L)


def torus_ising_brute_force(Jh, Jv, h: Optional[np.ndarray] = None) -> TorusIsingMarginals:
    """The same quantities by enumerating all 2^(L^2) states (L <= 4)."""
    Jh, Jv, h, L = _validate(Jh, Jv, h, MAX_BRUTE_FORCE_L, "brute-force reference")
    s = all_spin_states(L).astype(np.float64)
    bond_h = s * np.roll(s, -1, axis=2)
    bond_v = s * np.roll(s, -1, axis=1)
    energy = (bond_h * Jh).sum(axis=(1, 2)) + (bond_v * Jv).sum(axis=(1, 2)) + (s * h).sum(axis=(1, 2))
    top = energy.max()
    w = np.exp(energy - top)
    Z = w.sum()
    w /= Z
    return TorusIsingMarginals(
        float(top + np.log(Z)),
        np.tensordot(w, s, axes=1),
        np.tensordot(w, bond_h, axes=1),
        np.tensordot(w, bond_v, axes=1),
    )
