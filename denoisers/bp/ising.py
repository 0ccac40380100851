"""Loopy belief propagation on the posterior of noisy Ising data (docs/physics.md, sections 2 and 5).

The posterior of Ising spins seen through a memoryless channel is an Ising model in a site field
(docs/physics.md, section 2, "Posterior of noisy Ising data"):

    p(s | y) ∝ exp(sum_<ij> K_ij s_i s_j + sum_i h_i s_i),

``K_ij = K = 1/T`` on every bond and ``h_i`` the channel's likelihood field (``a y_i / s^2`` for the
Gaussian channel, ``y_i atanh(1 - 2p)`` for bit flip; :meth:`NoiseChannel.spin_field`).  BP on this
pairwise model passes cavity fields: the message from j to i is

    u_{j->i} = atanh( tanh K_ij  tanh(h_j + sum_{k != i} u_{k->j}) ),

and the estimate is ``E[s_i | y] ≈ tanh(h_i + sum_j u_{j->i})``.  From zero messages, zero rounds give the
single-site posterior ``tanh h_i``; r rounds read the Manhattan ball of radius r (:mod:`.site_lattice`).
The messages are bounded by ``|K_ij|``, also where the field is infinite (bit flip at p = 0, where the
estimate is the observation itself).  On a tree BP is exact after as many rounds as the diameter; on the
square lattice it is the Bethe approximation, whose zero-field critical point ``tanh K = 1/3``
(T ≈ 2.885) lies above Onsager's T_c, so converged BP overestimates order near T_c.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .schedule import iterate
from .site_lattice import DIRECTIONS, bond_per_direction, cavity, uniform_bonds

#: operations per site and round, a tanh or atanh counted as one: per direction a cavity subtraction,
#: tanh, product, atanh; the four-term total
FLOPS_PER_SITE_ROUND = 4 * 4 + 4


def ising_bp(h: np.ndarray, bond_tanh: np.ndarray, rounds: Optional[int], *, damping: float = 0.0,
             tolerance: float = 1e-10, max_rounds: int = 1000):
    """``(E[s | y] estimates (n, L, L), rounds run)`` by loopy BP.  ``h (n, L, L)`` site fields (may be +-inf);
    ``bond_tanh (4, L, L)``: ``tanh K_ij`` on each site's bond in each direction
    (:func:`.site_lattice.bond_per_direction`); ``rounds`` as in :func:`.schedule.iterate`."""
    h = np.asarray(h, dtype=np.float64)

    def step(u: np.ndarray, h: np.ndarray) -> np.ndarray:
        total = h + u.sum(axis=1)
        new = np.empty_like(u)
        for d in range(len(DIRECTIONS)):
            new[:, d] = np.arctanh(bond_tanh[d] * np.tanh(cavity(total, u, d)))
        return new

    u, used = iterate(step, np.zeros((h.shape[0], 4) + h.shape[1:]), (h,), rounds=rounds, damping=damping,
                      tolerance=tolerance, max_rounds=max_rounds)
    return np.tanh(h + u.sum(axis=1)), used


class SpinBP:
    """Loopy BP for Ising data at coupling ``K`` under a channel on spins."""

    flops_per_site_round = FLOPS_PER_SITE_ROUND

    def __init__(self, K: float, channel):
        channel.check_variable_type("spin")
        self.K = float(K)
        self.channel = channel

    def estimate(self, y: np.ndarray, level: float, rounds: Optional[int], **schedule) -> np.ndarray:
        """``E[s | y]`` estimated by ``rounds`` rounds (None: until converged), for y of shape ``(n, 1, L, L)``."""
        h = self.channel.spin_field(np.asarray(y[:, 0]), level, "spin")
        bond_tanh = bond_per_direction(*uniform_bonds(np.tanh(self.K), y.shape[-1]))
        return ising_bp(h, bond_tanh, rounds, **schedule)[0][:, None]
