"""Maxima of curves sampled on a grid: significant interior peaks, and the peak value refined between samples."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np


def find_interior_peaks(values: Sequence[float], lo: Sequence[float], hi: Sequence[float]) -> List[int]:
    """Grid indices where a curve has a *significant* interior maximum.

    Index i is a peak if its CI lies entirely above the CIs of both neighbours
    (NaN values never form or bound a peak).
    """
    peaks = []
    v, lo, hi = (np.asarray(a, dtype=np.float64) for a in (values, lo, hi))
    for i in range(1, len(v) - 1):
        trio = v[i - 1 : i + 2]
        if not np.isfinite(trio).all() or not np.isfinite([lo[i], hi[i - 1], hi[i + 1]]).all():
            continue
        if lo[i] > hi[i - 1] and lo[i] > hi[i + 1]:
            peaks.append(i)
    return peaks


def parabolic_max(x: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Maximum over the last axis of ``values`` sampled at ``x``, refined by the parabola through the largest
    sample and its two neighbours (where that parabola is concave; at an end of the grid, the sample itself).

    The maximum of a smooth curve sampled on a grid under-reads its peak by an amount that depends on
    where the peak falls between grid points; the parabola removes that error to second order.  Its
    vertex lies within half a grid step of the largest sample, and its value is never below it.
    """
    v = np.asarray(values, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = v.shape[-1]
    j = np.argmax(v, axis=-1)[..., None]
    best = np.take_along_axis(v, j, -1)[..., 0]
    if n < 3:
        return best
    jc = np.clip(j, 1, n - 2)
    y0, y1, y2 = (np.take_along_axis(v, jc + k, -1)[..., 0] for k in (-1, 0, 1))
    x0, x1, x2 = (x[jc[..., 0] + k] for k in (-1, 0, 1))
    # the parabola a (t - x1)^2 + b (t - x1) + y1 through the three points
    h0, h2 = x0 - x1, x2 - x1
    a = ((y0 - y1) / h0 - (y2 - y1) / h2) / (h0 - h2)
    b = (y0 - y1) / h0 - a * h0
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = y1 - b * b / (4.0 * a)
    interior = (j[..., 0] >= 1) & (j[..., 0] <= n - 2) & (a < 0)
    return np.where(interior, vertex, best)
