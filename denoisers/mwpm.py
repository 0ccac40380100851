"""Minimum-weight perfect matching (PyMatching) for the loop model of ``toric_loops``.

A global, non-Bayesian baseline.  Each edge gets its log-likelihood ratio ``l_e =
log P(y_e | x_e = 1) / P(y_e | x_e = 0)``; the hard decision ``d_e = [l_e > 0]`` generally
violates vertex parity, and the syndrome of ``d`` (its odd vertices, conventions of
:mod:`phasebench.lattice_models.toric_loops`) is matched with edge weights ``|l_e|``.  The estimate
``x_hat = d XOR correction`` is always a valid cycle configuration.

* equal weights on every edge (the bit-flip channel: ``d = y`` and every weight is ``log((1-p)/p)``):
  one matching graph per (L, weight), batch decoding; at p = 0 or 1/2 unit weights give the same matching;
* otherwise (the Gaussian channel): per-edge weights ``|l_e|``, one matching graph per configuration.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from phasebench.lattice_models.exact.toric_window import edge_log_likelihood_ratios

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
    """MWPM decoder (PyMatching) of noisy loop configurations; hard decisions."""

    description = "minimum-weight perfect matching decoder (PyMatching); hard decisions; bitflip or gaussian channel"
    trainable = False
    supports_global = True
    local_members = False
    supported_models = ("toric_loops",)
    hyperparameters = ()

    def __init__(self, radius=None, **hyper):
        super().__init__(radius, **hyper)
        if self.radius is not None:
            raise ValueError(f"family 'mwpm' is global: radius must be None, got {radius!r}")

    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if not channel.supports("binary"):
            raise ValueError(f"family 'mwpm' needs a channel on binary variables, not {channel.name!r}")
        if clean_train.shape[1] != 2:
            raise ValueError(f"family 'mwpm' needs edge data (n, 2, L, L), got {clean_train.shape}")
        self._checks = {}
        self._matchers = {}

    def __getstate__(self):
        """PyMatching graphs do not pickle; they are a cache, rebuilt on demand after unpickling."""
        return {**self.__dict__, "_matchers": {}}

    def _check_matrix(self, L: int) -> sp.csr_matrix:
        if L not in self._checks:
            self._checks[L] = torus_check_matrix(L)
        return self._checks[L]

    def decode(self, y: np.ndarray, level: float) -> np.ndarray:
        """Hard decisions ``(n, 2, L, L)`` int8 for edge data ``y`` at the channel's level."""
        import pymatching

        y = np.asarray(y)
        if y.ndim != 4 or y.shape[1] != 2 or y.shape[2] != y.shape[3]:
            raise ValueError(f"y must have shape (n, 2, L, L), got {y.shape}")
        n, _, L, _ = y.shape
        H = self._check_matrix(L)
        llr = edge_log_likelihood_ratios(y, self.channel_, level).reshape(n, -1)
        decision = (llr > 0).astype(np.uint8)
        syndrome = ((H @ decision.T).T % 2).astype(np.uint8)
        magnitude = np.abs(llr)
        if n and (magnitude == magnitude.flat[0]).all():  # e.g. bit flip: one matching graph for the batch
            weight = float(magnitude.flat[0])
            weight = weight if 0.0 < weight < np.inf else 1.0  # p = 1/2 or 0: all weights equal anyway
            key = (L, weight)
            if key not in self._matchers:
                self._matchers[key] = pymatching.Matching.from_check_matrix(H, weights=np.full(2 * L * L, weight))
            correction = self._matchers[key].decode_batch(syndrome)
        else:
            correction = np.empty_like(decision)
            for k in range(n):
                matcher = pymatching.Matching.from_check_matrix(H, weights=np.abs(llr[k]))
                correction[k] = matcher.decode(syndrome[k])
        return (decision ^ correction.astype(np.uint8)).reshape(y.shape).astype(np.int8)

    def _denoise(self, y: np.ndarray, level: float) -> np.ndarray:
        return self.decode(y, level).astype(np.float64)
