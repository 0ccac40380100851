"""Minimum-weight perfect matching (PyMatching) for the loop model under bit-flip noise.

A global, non-Bayesian baseline: the syndrome of ``y`` (its odd vertices, conventions of
:mod:`lattice_models.toric_loops`) is matched with edge weights ``log((1-p)/p)`` (all equal,
so the matching is the minimum number of flips); the estimate is the hard decision
``x_hat = y XOR correction``, always a valid cycle configuration.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from lattice_models.channels import BitFlipChannel

from .base import DENOISERS, DenoiserFamily


def torus_check_matrix(L: int) -> sp.csr_matrix:
    """Vertex-edge incidence ``(L^2, 2 L^2)``; edge ``(c, i, j)`` is column ``c L^2 + i L + j``."""
    i, j = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    vertex = (i * L + j).ravel()
    h = lambda a, b: ((a % L) * L + (b % L)).ravel()  # noqa: E731
    cols = np.concatenate([h(i, j), h(i, j - 1), L * L + h(i, j), L * L + h(i - 1, j)])
    rows = np.tile(vertex, 4)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.uint8), (rows, cols)), shape=(L * L, 2 * L * L))


@DENOISERS.register("mwpm")
class MinimumWeightMatching(DenoiserFamily):
    """MWPM decoder (PyMatching) on the syndrome of bit-flip-corrupted loop configurations."""

    description = "minimum-weight perfect matching decoder (PyMatching); hard decisions; bit-flip channel"
    trainable = False
    supports_global = True
    supported_models = ("toric_loops",)

    def __init__(self, radius=None):
        super().__init__(radius)
        if self.radius is not None:
            raise ValueError(f"family 'mwpm' is global: radius must be None, got {radius!r}")

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if not isinstance(channel, BitFlipChannel):
            raise ValueError(f"family 'mwpm' needs the bitflip channel, not {channel.name!r}")
        if clean_train.shape[1] != 2:
            raise ValueError(f"family 'mwpm' needs edge data (n, 2, L, L), got {clean_train.shape}")
        self._matchers = {}

    def _matcher(self, L: int, p: float):
        import pymatching

        weight = math.log((1.0 - p) / p) if 0.0 < p < 0.5 else 1.0  # equal weights: same matching
        key = (L, weight)
        if key not in self._matchers:
            self._matchers[key] = pymatching.Matching(torus_check_matrix(L), weights=np.full(2 * L * L, weight))
        return self._matchers[key]

    def decode(self, y: np.ndarray, p: float) -> np.ndarray:
        """Hard decisions ``(n, 2, L, L)`` int8 for binary edge data ``y``."""
        y = np.asarray(y)
        if y.ndim != 4 or y.shape[1] != 2 or y.shape[2] != y.shape[3]:
            raise ValueError(f"y must have shape (n, 2, L, L), got {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("family 'mwpm' needs binary (0/1) edge data")
        n, _, L, _ = y.shape
        flat = y.reshape(n, -1).astype(np.uint8)
        syndrome = (torus_check_matrix(L) @ flat.T).T % 2
        correction = self._matcher(L, p).decode_batch(syndrome.astype(np.uint8))
        return (flat ^ correction.astype(np.uint8)).reshape(y.shape).astype(np.int8)

    def _denoise(self, y: np.ndarray, level: float) -> np.ndarray:
        return self.decode(y, level).astype(np.float64)
