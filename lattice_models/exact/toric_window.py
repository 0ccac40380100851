"""Exact r-local Bayes oracle of the uniform loop model (x = 1) on the torus.

Conventions are those of :mod:`phasebench.lattice_models.toric_loops`.  The radius-r window ``W`` of
edge ``(c, i, j)`` is the set of edges ``(c', i', j')`` of *both* channels with
``max(|i - i'|, |j - j'|) <= r`` cyclically: the index-space window that a convolution on
the ``2 x L x L`` tensor sees.  It depends on ``(i, j)`` only, so ``h[i, j]`` and ``v[i, j]``
share a window.  In window coordinates ``(a, b) = (i' - i + r, j' - j + r)``, n = 2r + 1,
``W`` holds ``h[a, b]`` and ``v[a, b]`` for ``0 <= a, b < n`` and touches the vertices of an
``(n+1) x (n+1)`` block.  A vertex is *interior* when all four of its edges lie in ``W``:
these are the vertices ``1 <= a, b <= n - 1``, the set ``I``.

Theorem.  For ``2r + 1 < L`` the uniform measure on the cycle space ``C`` of the torus,
restricted to ``W``, is the uniform measure on ``P = {x_W : even parity at every vertex of I}``.

Proof.  (1) Restriction ``pi: C -> GF(2)^W`` is linear.  If ``X`` is uniform on ``C``,
``P(pi X = z) = |pi^{-1}(z)| / |C|``, and every non-empty fibre is a coset of ``ker pi``,
so all have the same size: ``pi X`` is uniform on the image ``pi(C)``.
(2) ``pi(C) ⊆ P``: a vertex of ``I`` has all its edges in ``W``, so its parity is read off
``x_W`` and is even for a cycle.
(3) ``P ⊆ pi(C)``: let ``z in P`` and view it as an edge set of the torus; its boundary
``dz`` (the odd vertices) avoids ``I`` and has even size.  Let ``G'`` be the torus graph
without the edges of ``W``.  If all vertices outside ``I`` lie in one component of ``G'``,
pair up the odd vertices of ``dz`` and join each pair by a path in ``G'``; the XOR ``y`` of
these paths has ``dy = dz`` and no edge in ``W``, so ``z XOR y`` is a cycle that restricts
to ``z``.  Connectivity (offsets from the window's corner, indices mod L): since
``n < L``, the offsets ``n, n+1, .., L-1`` are outside the window range ``0 .. n-1``.
The row of vertices at offset ``a = n`` is a cycle of ``G'`` (its edges ``h[n, b]`` are
outside ``W``), and so is the column at offset ``b = n`` (edges ``v[a, n]``); they meet.
A vertex ``(a, b)`` outside ``I`` has ``a in {0} ∪ [n, L-1]`` or ``b in {0} ∪ [n, L-1]``.
In the first case walk along column ``b`` to the row at offset ``n``
through vertical edges ``v[a', b]`` with ``a'`` in ``[n, L-1]`` (from ``a >= n`` through
``v[a-1, b], .., v[n, b]``; from ``a = 0`` through ``v[L-1, b], .., v[n, b]``): all are
outside ``W``.  The second case
is the same along the row, ending on the column at offset ``n``.  So ``V \\ I`` is connected
in ``G'`` and ``pi(C) = P``.  QED.  (For ``2r + 1 = L`` the claim fails: then ``W`` is all
edges and the image is ``C`` itself, smaller than ``P``; tests/test_toric_window.py checks
both, and the dimensions, by GF(2) rank and enumeration.)

Hence the r-local posterior of the centre edge given only ``y_W``,
``P(x_e = 1 | y_W) ∝ sum_{x_W in P} [x_e = 1] prod_{f in W} P(y_f | x_f)``,
is a contraction over ``W`` alone, independent of L once ``2r + 1 < L``.  Two exact methods compute it:
a row transfer matrix with ``2^(2r+1)`` states (:mod:`phasebench.lattice_models.kernels.toric_window`,
cost ``O(r^2 2^(2r))`` per window), and a Kasteleyn Pfaffian of the window's planar Fisher graph
(:mod:`phasebench.lattice_models.exact.toric_pfaffian`, a sparse LU of about ``6 (2r)^2`` nodes).  Both give
the two centre marginals of a window; ``method="auto"`` takes the transfer matrix below
``PFAFFIAN_FROM_RADIUS`` and the Pfaffian from there on (the measured crossover:
docs/decisions/toric-pfaffian-window.md).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..channels import NoiseChannel
from ..kernels import toric_window as transfer_matrix
from . import toric_pfaffian

#: the smallest radius at which ``method="auto"`` uses the Pfaffian (cheaper from here on, as measured)
PFAFFIAN_FROM_RADIUS = 7
METHODS = ("auto", "transfer_matrix", "pfaffian")
#: CPU seconds of one window (both centre marginals) with ``method="auto"``, per radius, on the reference machine
#: (idle, one thread; docs/decisions/scripts/toric_window_cost.py): the cost model's price of a window
WINDOW_CPU_SECONDS = {1: 2.5e-6, 2: 2.9e-6, 3: 5.9e-6, 4: 2.4e-5, 5: 1.27e-4, 6: 6.54e-4, 7: 1.33e-3, 8: 1.73e-3,
                      9: 2.25e-3, 10: 2.63e-3, 11: 3.30e-3, 12: 3.96e-3}


def window_cpu_seconds(r: int) -> float:
    """:data:`WINDOW_CPU_SECONDS`; past r = 12 scaled from r = 12 like a nested-dissection LU of the Pfaffian's
    N ~ 6 (2r + 1)^2 nodes, N^(3/2) (measured r = 10 to 12: about (2r + 1)^2.3, so this leans high)."""
    if r in WINDOW_CPU_SECONDS:
        return WINDOW_CPU_SECONDS[r]
    return WINDOW_CPU_SECONDS[12] * ((2 * r + 1) / 25.0) ** 3


def window_oracle(r: int, method: str = "auto"):
    """The module (transfer matrix or Pfaffian) whose ``window_centre_marginals(qh, qv)`` and
    ``field_marginals(qh_field, qv_field, r, centres)`` compute the radius-r window posterior."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "pfaffian" or (method == "auto" and r >= PFAFFIAN_FROM_RADIUS):
        return toric_pfaffian
    return transfer_matrix


def validate_window_radius(r: Any, L: int) -> int:
    try:
        r_int = int(r)
    except (TypeError, ValueError):
        raise ValueError(f"radius r must be an integer >= 0, got {r!r}") from None
    if r_int != r or r_int < 0:
        raise ValueError(f"radius r must be an integer >= 0, got {r!r}")
    if 2 * r_int + 1 >= L:
        raise ValueError(f"radius r={r_int} needs 2r+1 < L (the window must not wrap), got L={L}; use r <= {(L - 2) // 2}")
    return r_int


def edge_log_likelihood_ratios(y: np.ndarray, channel: NoiseChannel, level: float) -> np.ndarray:
    """``log P(y_e | x_e = 1) - log P(y_e | x_e = 0)`` per edge (+-inf for the bit-flip channel at p = 0)."""
    _check_channel(channel)
    return channel.binary_log_likelihood_ratio(y, level)


def edge_likelihoods(y: np.ndarray, channel: NoiseChannel, level: float) -> np.ndarray:
    """Per-edge normalised likelihood ``q_e = P(y_e | x_e = 1) / sum_x P(y_e | x_e = x)``."""
    _check_channel(channel)
    return channel.binary_likelihood(y, level)


def _check_channel(channel: NoiseChannel) -> None:
    if not channel.supports("binary"):
        raise ValueError(f"the toric_loops oracles need a channel on binary variables, not {channel.name!r}")


def window_posterior(y_window: np.ndarray, channel: NoiseChannel, level: float, r: Optional[int] = None,
                     method: str = "auto"):
    """``(P(h_centre = 1 | y_W), P(v_centre = 1 | y_W))`` for one window ``y_window`` of shape
    ``(2, 2r+1, 2r+1)`` in window coordinates (channel 0 horizontal, 1 vertical); ``method``: see
    :func:`window_oracle`."""
    y_window = np.asarray(y_window)
    n = y_window.shape[-1]
    if y_window.shape != (2, n, n) or n % 2 == 0:
        raise ValueError(f"y_window must have shape (2, 2r+1, 2r+1), got {y_window.shape}")
    if r is not None and 2 * r + 1 != n:
        raise ValueError(f"y_window of width {n} does not match radius r={r}")
    oracle = window_oracle(n // 2, method)
    q = edge_likelihoods(y_window, channel, level)
    ph, pv = oracle.window_centre_marginals(np.ascontiguousarray(q[0]), np.ascontiguousarray(q[1]))
    return float(ph), float(pv)


def _edge_mask(edges: Any, N: int, L: int, seed: Any) -> np.ndarray:
    if isinstance(edges, (int, np.integer)) and not isinstance(edges, bool):
        k = int(edges)
        if not (1 <= k <= L * L):
            raise ValueError(f"edges as a count of window centres per sample must be in [1, {L * L}], got {k}")
        rng = np.random.default_rng(seed)
        mask = np.zeros((N, L * L), dtype=bool)
        for s in range(N):
            mask[s, rng.choice(L * L, size=k, replace=False)] = True
        mask = mask.reshape(N, 1, L, L)
        return np.repeat(mask, 2, axis=1)
    mask = np.asarray(edges, dtype=bool)
    if mask.shape == (2, L, L):
        mask = np.broadcast_to(mask, (N, 2, L, L))
    if mask.shape != (N, 2, L, L):
        raise ValueError(f"edges must be None, a count, or a boolean mask of shape (2, L, L) or (n, 2, L, L); got {mask.shape}")
    return mask.copy()


def local_posterior_marginals(y: np.ndarray, channel: NoiseChannel, level: float, r: int,
                              edges: Any = None, seed: Any = None, method: str = "auto"):
    """Exact ``P(x_e = 1 | y_W(e))`` for edge data ``y`` of shape ``(n, 2, L, L)``.

    ``edges=None``: every edge; returns the probabilities ``(n, 2, L, L)``.  Otherwise
    ``edges`` is a boolean mask ``(2, L, L)`` / ``(n, 2, L, L)``, or an int k: k random window
    centres per sample (both edges of each centre), drawn with ``seed``; returns
    ``(probabilities, mask)`` with NaN outside the mask.  Windows wrap cyclically.  ``method``: the
    window oracle (:func:`window_oracle`); both are exact, they differ in cost.
    """
    y = np.asarray(y)
    if y.ndim != 4 or y.shape[1] != 2 or y.shape[2] != y.shape[3]:
        raise ValueError(f"y must have shape (n, 2, L, L), got {y.shape}")
    N, _, L, _ = y.shape
    r = validate_window_radius(r, L)
    oracle = window_oracle(r, method)
    q = edge_likelihoods(y, channel, level)
    mask = None if edges is None else _edge_mask(edges, N, L, seed)
    if mask is None:
        centres = np.argwhere(np.ones((N, L, L), dtype=bool))
    else:
        centres = np.argwhere(mask.any(axis=1))
    centres = np.ascontiguousarray(centres, dtype=np.int64)
    values = oracle.field_marginals(np.ascontiguousarray(q[:, 0]), np.ascontiguousarray(q[:, 1]), r, centres)
    out = np.full((N, 2, L, L), np.nan)
    s, i, j = centres.T
    out[s, 0, i, j] = values[:, 0]
    out[s, 1, i, j] = values[:, 1]
    if mask is None:
        return out
    out[~mask] = np.nan
    return out, mask
