"""Torus geometry shared by models, exact theory and local families.

Windows are Chebyshev squares: the radius-r window of site (i, j) holds every
(i + d1, j + d2) mod L with max(|d1|, |d2|) <= r.  For edge variables stored as
channels, the window covers all channels at those index positions.
"""

from __future__ import annotations

import numpy as np


def window_offsets(r: int) -> np.ndarray:
    """Displacements (d1, d2) of the radius-r window, row-major; the centre is in the middle."""
    d = np.arange(-r, r + 1)
    return np.stack(np.meshgrid(d, d, indexing="ij"), axis=-1).reshape(-1, 2)


def check_window(L: int, r: int) -> None:
    """Raise ValueError unless a radius-r window fits on the L x L torus without wrapping."""
    if r < 0:
        raise ValueError(f"radius r must be >= 0, got {r}")
    if 2 * r + 1 > L:
        raise ValueError(f"radius r={r} needs a window of width {2 * r + 1} > L={L}")


def apply_window_kernel(y: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular correlation ``out[i] = sum_d kernel[d] y[i + d]`` over the last two axes.

    Computed by shifts rather than FFT so that inputs outside the window enter
    the output exactly never (the locality audit can then demand bitwise
    equality).
    """
    r = kernel.shape[0] // 2
    out = np.zeros(y.shape, dtype=np.float64)
    for d1 in range(-r, r + 1):
        for d2 in range(-r, r + 1):
            w = kernel[d1 + r, d2 + r]
            if w != 0.0:
                out += w * np.roll(y, shift=(-d1, -d2), axis=(-2, -1))
    return out


def chebyshev_distance(L: int, site: tuple[int, int]) -> np.ndarray:
    """Cyclic Chebyshev distance of every site of the L x L torus from ``site``."""
    i = np.arange(L)
    d1 = np.abs(i - site[0]) % L
    d2 = np.abs(i - site[1]) % L
    d1 = np.minimum(d1, L - d1)
    d2 = np.minimum(d2, L - d2)
    return np.maximum(d1[:, None], d2[None, :])
