"""Exact conditional mutual information of the toric code's noisy edges under bit flips.

Model (docs/physics.md, sections 3 and 5): x is uniform on the cycle space of the L x L torus (loop weight
x = 1), each edge is flipped independently with probability p, y = x XOR e.  A is one edge, B the other
edges of its radius-r index window (:mod:`phasebench.lattice_models.exact.toric_window`), C the rest.
Since P(y) = |C|^-1 sum_x P(e = y XOR x) depends on y only through its syndrome, this is the CMI of the
syndrome distribution seen through the edges.

Identity.  y_A depends on the other edges only through x_A, so for any set S of other edges

    P(y_A = 1 | y_S) = p + (1 - 2p) P(x_A = 1 | y_S),

and with the chain rule I(A:C|B) = H(A|B) - H(A|BC) = E_{y} KL( P(y_A | y_BC) || P(y_A | y_B) ), an
average of a per-configuration divergence that is non-negative (and so far less noisy than a difference
of two entropies).  Both conditionals are exact:

* P(x_A | y_BC), the global posterior without A's own observation: the torus transfer-matrix oracle
  (:func:`phasebench.lattice_models.exact.toric_global.toric_posterior`, L <= 12) gives P(x_A | y), and
  removing A's likelihood ratio ``lambda_A = log P(y_A | x_A = 1) / P(y_A | x_A = 0)`` from its log-odds
  gives P(x_A | y_{-A});
* P(x_A | y_B), the same with the radius-r window oracle (exact for 2r + 1 < L).

The only randomness is the average over y, drawn exactly (uniform cycles, independent flips); the CI is a
percentile bootstrap over configurations, each configuration averaged over all 2 L^2 edges as A.  The flips
of every level come from one uniform per edge, e = [u < p], so the curves in p are coupled (common random
numbers) and the location of their maximum is resolved far better than with independent noise.
:func:`joint_law_cmi` is the independent reference: the CMI from the enumerated joint law of y (L <= 3).
"""

from __future__ import annotations

import time
from typing import Any, Dict, Sequence

import numpy as np

from phasebench.lattice_models.channels import as_channel
from phasebench.lattice_models.exact.toric_bruteforce import edge_index, gf2_row_basis, span, vertex_incidence
from phasebench.lattice_models.exact.toric_global import toric_posterior_marginals
from phasebench.lattice_models.exact.toric_window import local_posterior_marginals, validate_window_radius
from phasebench.lattice_models.toric_loops import sample_uniform_cycles

from ..estimators.bootstrap import bootstrap_indices, mean_with_ci, replicate_interval

#: the largest torus of the global oracle used here: L = 12 costs about 46 s per configuration (measured)
MAX_L = 10
CHANNEL = "bitflip"


def _check_level(p: Any) -> float:
    p = float(p)
    if not 0.0 < p < 0.5:
        raise ValueError(f"bit-flip probability p must lie in (0, 0.5), got {p!r}")
    return p


def _without_own_observation(prob_x: np.ndarray, y: np.ndarray, p: float) -> np.ndarray:
    """P(x_A = 1 | y_S) from P(x_A = 1 | y_S, y_A): subtract A's log-likelihood ratio from the log-odds."""
    llr = np.where(y == 1, 1.0, -1.0) * np.log((1 - p) / p)
    with np.errstate(divide="ignore"):
        logit = np.log(prob_x) - np.log1p(-prob_x)
    return 1.0 / (1.0 + np.exp(-(logit - llr)))


def observed_bit_probability(prob_x: np.ndarray, p: float) -> np.ndarray:
    """P(y_A = 1 | y_S) = p + (1 - 2p) P(x_A = 1 | y_S)."""
    return p + (1.0 - 2.0 * p) * prob_x


def binary_kl(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """KL(Bernoulli(u) || Bernoulli(v)) in nats (u, v strictly inside (0, 1))."""
    return u * np.log(u / v) + (1 - u) * np.log((1 - u) / (1 - v))


def per_config_cmi(y: np.ndarray, p: float, radii: Sequence[int], with_tv: bool = False):
    """KL(P(y_A | y_BC) || P(y_A | y_B)) averaged over every edge A, per configuration: shape (n, len(radii)).
    One global posterior per configuration serves every radius.  ``with_tv``: also the total variation
    |P(y_A = 1 | y_BC) - P(y_A = 1 | y_B)| averaged the same way (the recovery bound's distance, whose
    mean over y is TV(p_ABC, p_{A|B} p_BC))."""
    p = _check_level(p)
    y = np.asarray(y)
    if y.ndim != 4 or y.shape[1] != 2 or y.shape[2] != y.shape[3]:
        raise ValueError(f"y must have shape (n, 2, L, L), got {y.shape}")
    u = observed_bit_probability(_without_own_observation(toric_posterior_marginals(y, CHANNEL, p), y, p), p)
    kl, tv = np.empty((len(y), len(radii))), np.empty((len(y), len(radii)))
    for k, r in enumerate(radii):
        local = local_posterior_marginals(y, as_channel(CHANNEL), p, r)
        v = observed_bit_probability(_without_own_observation(local, y, p), p)
        kl[:, k] = binary_kl(u, v).mean(axis=(1, 2, 3))
        tv[:, k] = np.abs(u - v).mean(axis=(1, 2, 3))
    return (kl, tv) if with_tv else kl


def noisy_cycles(L: int, levels: Sequence[float], n: int, seed: int) -> np.ndarray:
    """y of shape (len(levels), n, 2, L, L): n uniform cycles, each flipped at every level with shared uniforms."""
    rng = np.random.default_rng(seed)
    x = sample_uniform_cycles(n, L, rng)
    uniforms = rng.random(x.shape)
    return np.stack([x ^ (uniforms < _check_level(p)).astype(np.int8) for p in levels])


def cmi_grid(L: int, levels: Sequence[float], radii: Sequence[int], n: int, seed: int) -> Dict[str, Any]:
    """Per-configuration CMI on the grid, ``values`` of shape (len(levels), len(radii), n), and the wall time."""
    if not 2 <= int(L) <= MAX_L:
        raise ValueError(f"L must lie in [2, {MAX_L}] for the exact toric CMI (the global oracle), got {L!r}")
    radii = [validate_window_radius(r, L) for r in radii]
    if int(n) < 2:
        raise ValueError(f"n (configurations) must be at least 2, got {n!r}")
    t0 = time.perf_counter()
    y = noisy_cycles(L, levels, n, seed)
    values = np.stack([per_config_cmi(y[j], p, radii).T for j, p in enumerate(levels)])
    return {"L": int(L), "levels": [float(p) for p in levels], "radii": radii, "values": values,
            "wall_seconds": time.perf_counter() - t0}


def summarize(grid: Dict[str, Any], seed: int, n_boot: int = 1000) -> Dict[str, Any]:
    """Cells (mean and CI per level and radius) and, per radius, the level where the CMI is largest
    (parabolic refinement) with a bootstrap CI that resamples configurations jointly across levels."""
    values, levels = grid["values"], np.asarray(grid["levels"])
    idx = bootstrap_indices(values.shape[-1], seed, n_boot)
    cells = [{"level": float(p), "r": int(r), **mean_with_ci(values[j, k], idx).to_dict(),
              "value": float(values[j, k].mean())}
             for j, p in enumerate(levels) for k, r in enumerate(grid["radii"])]
    peaks = {}
    for k, r in enumerate(grid["radii"]):
        curve = values[:, k]
        boots = curve[:, idx].mean(axis=-1).T  # (n_boot, levels)
        lo, hi = replicate_interval(_peak_level(levels, boots))
        peaks[str(r)] = {"level": float(_peak_level(levels, curve.mean(axis=-1)[None])[0]), "lo": lo, "hi": hi}
    return {"cells": cells, "peak_level": peaks}


def _peak_level(levels: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """The vertex of the parabola through the largest sample of each row and its neighbours; NaN at an end."""
    j = np.argmax(curves, axis=-1)
    out = np.full(len(curves), np.nan)
    inner = (j >= 1) & (j <= len(levels) - 2)
    for row in np.flatnonzero(inner):
        x, v = levels[j[row] - 1: j[row] + 2], curves[row, j[row] - 1: j[row] + 2]
        a, b, _ = np.polyfit(x, v, 2)
        out[row] = -b / (2 * a) if a < 0 else levels[j[row]]
    return out


def joint_law_cmi(L: int, p: float, edge: tuple, window: Sequence[tuple]) -> float:
    """I(y_A : y_C | y_B) in nats from the enumerated joint law of all m = 2 L^2 noisy edges (L <= 3): A is
    ``edge`` = (c, i, j), B the edges ``window`` (without A), C the rest.  The independent reference.

    P(y) = |C|^-1 sum_{x in C} P_noise(y XOR x) is a convolution with the indicator of the cycle space, so
    its Walsh-Hadamard transform is (1 - 2p)^|s| on the cut space (the row space of the vertex incidence,
    orthogonal to the cycles) and zero elsewhere: P(y) = 2^-m sum_{s cut} (1 - 2p)^|s| (-1)^(s.y)."""
    p = _check_level(p)
    if not 2 <= L <= 3:
        raise ValueError(f"joint_law_cmi enumerates 2^(2 L^2) configurations: L must be 2 or 3, got {L}")
    m = 2 * L * L
    a = edge_index(*edge, L)
    b = sorted({edge_index(*e, L) for e in window} - {a})
    c_set = [e for e in range(m) if e != a and e not in b]
    cuts = span(gf2_row_basis(vertex_incidence(L))).astype(np.int64)
    spectrum = np.zeros(1 << m)
    spectrum[cuts @ (1 << np.arange(m))] = (1 - 2 * p) ** cuts.sum(axis=1)
    pmf = spectrum.reshape((2,) * m)
    for axis in range(m):  # the (self-inverse up to 2^m) Walsh-Hadamard transform, one bit at a time
        lo, hi = np.split(pmf, 2, axis=axis)
        pmf = np.concatenate([lo + hi, lo - hi], axis=axis)
    pmf = pmf.reshape(-1) / (1 << m)
    codes = np.arange(1 << m)

    def entropy(subset):
        key = np.zeros(len(codes), dtype=np.int64)
        for k, e in enumerate(subset):
            key |= ((codes >> e) & 1) << k
        marg = np.bincount(key, weights=pmf)
        marg = marg[marg > 0]
        return float(-(marg * np.log(marg)).sum())

    return entropy([a] + b) + entropy(b + c_set) - entropy(b) - entropy([a] + b + c_set)
