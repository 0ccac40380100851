"""Belief propagation on the parity-check graph of the loop model (docs/physics.md, sections 3 and 5).

Conventions are those of :mod:`phasebench.lattice_models.toric_loops`: edges ``h[i, j]`` (channel 0,
joining vertices ``(i, j)`` and ``(i, j+1)``) and ``v[i, j]`` (channel 1, joining ``(i, j)`` and
``(i+1, j)``); vertex ``(i, j)`` touches ``h[i, j]``, ``h[i, j-1]``, ``v[i, j]`` and ``v[i-1, j]``.

The loop measure with weight ``x^{#occupied edges}`` is, up to normalisation, a product of local factors:
one even-parity indicator per vertex (their product selects the cycle space, both homology classes
included) and ``x^{x_e}`` per edge.  A memoryless channel adds ``P(y_e | x_e)`` per edge, so the posterior
is the factor graph of a code whose checks are the vertices, as in the decoding of the toric code.  In the
log-ratio convention ``l = log P(x = 0) / P(x = 1)`` (each edge's own term is
``l_e = -(log P(y_e | 1) - log P(y_e | 0)) - log x``) sum-product BP reads

    check -> edge:  u_{c->e} = 2 atanh prod_{e' in c, e' != e} tanh(v_{e'->c} / 2),
    edge -> check:  v_{e->c} = l_e + u_{c'->e}  (c' the edge's other vertex),

and the estimate is ``P(x_e = 1 | y) ≈ 1 / (1 + exp(l_e + u_{c->e} + u_{c'->e}))``.  The check update is
evaluated as ``sign * phi(sum phi(|v|))`` with ``phi(t) = log coth(t/2) = log1p(2 / expm1(t))``, which is
its own inverse and stays accurate for strong and weak messages alike.

Light cone: a round is one check update (from the previous round's edge-to-check messages) followed by
the estimate.  From zero check messages the estimate after r rounds depends on the observations of the
edges within r steps of e, two edges being one step apart when they share a vertex; every such step moves
by at most one in either index, so the light cone lies in the Chebyshev window of radius r and reaches its
edge (along a row of horizontal edges, h[i, j] -> h[i, j + r]).  :func:`light_cone` counts it.
Zero rounds give the single-edge posterior, which is also the exact radius-0 estimator: the radius-0
window (``h[i, j]``, ``v[i, j]``) has no interior vertex, so its exact posterior has no check either.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.special import expit

from phasebench.lattice_models.toric_loops import VERTEX_CHECK

from .schedule import iterate

#: edge-to-check messages are kept within +-MAX_MESSAGE (phi(500) ~ 1e-217 is still a normal float)
MAX_MESSAGE = 500.0
#: |l_e| at most this (P(x_e) between 1e-26 and 1 - 1e-26): the bit-flip channel at p = 0 gives an infinite l_e
MAX_EDGE_FIELD = 60.0
#: operations per edge and round, a phi counted as one: per vertex slot (two per edge) the edge-to-check
#: sum, phi of its magnitude, a three-term sum and sign product, phi of that
FLOPS_PER_EDGE_ROUND = 2 * (1 + 1 + 4 + 1)
#: the vertex slots of a check message, in VERTEX_CHECK order: h[i, j] (east), h[i, j-1] (west),
#: v[i, j] (south), v[i-1, j] (north)
EAST, WEST, SOUTH, NORTH = range(4)


def phi(t: np.ndarray) -> np.ndarray:
    """``log coth(t / 2)`` for ``t >= 0`` (+inf at 0); ``phi(phi(t)) = t``."""
    with np.errstate(divide="ignore"):
        return np.log1p(2.0 / np.expm1(t))


def edge_to_check(u: np.ndarray, lh: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """``v (n, 4, L, L)``: at vertex (i, j), per slot, the edge's own term plus the check message from its other vertex."""
    v = np.empty_like(u)
    v[:, EAST] = lh + np.roll(u[:, WEST], -1, axis=-1)  # h[i, j]: its other vertex is (i, j+1), slot west there
    v[:, WEST] = np.roll(lh + u[:, EAST], 1, axis=-1)  # h[i, j-1]: seen from vertex (i, j-1), slot east
    v[:, SOUTH] = lv + np.roll(u[:, NORTH], -1, axis=-2)  # v[i, j]: other vertex (i+1, j), slot north
    v[:, NORTH] = np.roll(lv + u[:, SOUTH], 1, axis=-2)  # v[i-1, j]: seen from vertex (i-1, j), slot south
    return np.clip(v, -MAX_MESSAGE, MAX_MESSAGE)


def check_to_edge(v: np.ndarray) -> np.ndarray:
    """``u (n, 4, L, L)``: per vertex and slot, the parity check's message from the other three slots."""
    magnitude = phi(np.abs(v))
    sign = np.where(v < 0, -1.0, 1.0)
    u = np.empty_like(v)
    for k in range(4):
        others = [m for m in range(4) if m != k]
        u[:, k] = np.prod(sign[:, others], axis=1) * phi(magnitude[:, others].sum(axis=1))
    return u


def parity_bp(lh: np.ndarray, lv: np.ndarray, rounds: Optional[int], *, damping: float = 0.0,
              tolerance: float = 1e-10, max_rounds: int = 1000):
    """``(P(x_e = 1 | y) estimates (n, 2, L, L), rounds run)`` from the edges' own log ratios ``lh, lv (n, L, L)``
    (``log P(x = 0) / P(x = 1)`` given y_e and the edge weight); ``rounds`` as in :func:`.schedule.iterate`."""

    def step(u: np.ndarray, lh: np.ndarray, lv: np.ndarray) -> np.ndarray:
        return check_to_edge(edge_to_check(u, lh, lv))

    u, used = iterate(step, np.zeros((lh.shape[0], 4) + lh.shape[1:]), (lh, lv), rounds=rounds, damping=damping,
                      tolerance=tolerance, max_rounds=max_rounds)
    belief_h = lh + u[:, EAST] + np.roll(u[:, WEST], -1, axis=-1)
    belief_v = lv + u[:, SOUTH] + np.roll(u[:, NORTH], -1, axis=-2)
    return expit(-np.stack([belief_h, belief_v], axis=1)), used


def light_cone(rounds: int) -> np.ndarray:
    """The edges whose observations the estimate of an edge at window centre reads after ``rounds`` rounds,
    counted on the graph by breadth-first search (edges sharing a vertex are neighbours): a boolean
    ``(2 centre channels, 2 channels, 2r + 1, 2r + 1)`` mask over the radius-r window (r = rounds)."""
    r = rounds
    n = 2 * r + 1
    vertices_of = {0: ((0, 0), (0, 1)), 1: ((0, 0), (1, 0))}  # vertex offsets of h[i, j] and v[i, j]
    out = np.zeros((2, 2, n, n), dtype=bool)
    for centre in (0, 1):
        reached = {(centre, 0, 0)}
        for _ in range(r):
            grown = set(reached)
            for c, i, j in reached:
                for di, dj in vertices_of[c]:
                    grown.update((c2, i + di + ei, j + dj + ej) for c2, ei, ej in VERTEX_CHECK)
            reached = grown
        for c, i, j in reached:
            out[centre, c, i + r, j + r] = True
    return out


class LoopBP:
    """BP on the vertex-check graph for loop weight ``x`` under a channel on binary variables."""

    flops_per_site_round = 2 * FLOPS_PER_EDGE_ROUND  # two edges per index position

    def __init__(self, x: float, channel):
        if not channel.supports("binary"):
            raise ValueError(f"bp on toric_loops needs a channel on binary variables, not the {channel.name} channel")
        self.log_x = float(np.log(x))
        self.channel = channel

    def estimate(self, y: np.ndarray, level: float, rounds: Optional[int], **schedule) -> np.ndarray:
        """``P(x_e = 1 | y)`` estimated by ``rounds`` rounds (None: until converged), for y of shape ``(n, 2, L, L)``."""
        own = -self.channel.binary_log_likelihood_ratio(np.asarray(y), level) - self.log_x
        own = np.clip(own, -MAX_EDGE_FIELD, MAX_EDGE_FIELD)
        return parity_bp(own[:, 0], own[:, 1], rounds, **schedule)[0]
