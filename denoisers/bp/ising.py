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
from .site_lattice import DIRECTIONS, OPPOSITE, bond_per_direction, from_neighbour, uniform_bonds

#: arithmetic operations per site and round: the total by four tanh additions (3 each), then per direction
#: the cavity by one tanh subtraction (4) and the product by tanh K_ij
FLOPS_PER_SITE_ROUND = 4 * 3 + 4 * 5


def tanh_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``tanh(A + B)`` from ``a = tanh A`` and ``b = tanh B`` (``|b| < 1``, so the denominator stays >= 1 - |b|)."""
    return (a + b) / (1.0 + a * b)


def ising_bp(h: np.ndarray, bond_tanh: np.ndarray, rounds: Optional[int], *, damping: float = 0.0,
             tolerance: float = 1e-10, max_rounds: int = 1000):
    """:func:`ising_bp_numpy`'s rounds by the Numba kernel (:mod:`.ising_kernel`): the same bytes, faster."""
    from .ising_kernel import ising_bp_kernel

    tanh_h = np.ascontiguousarray(np.tanh(np.asarray(h, dtype=np.float64)))
    return ising_bp_kernel(tanh_h, np.ascontiguousarray(bond_tanh, dtype=np.float64), -1 if rounds is None else int(rounds),
                           float(damping), float(tolerance), int(max_rounds))


def ising_bp_numpy(h: np.ndarray, bond_tanh: np.ndarray, rounds: Optional[int], *, damping: float = 0.0,
                   tolerance: float = 1e-10, max_rounds: int = 1000):
    """``(E[s | y] estimates (n, L, L), rounds run)`` by loopy BP.  ``h (n, L, L)`` site fields (may be +-inf);
    ``bond_tanh (4, L, L)``: ``tanh K_ij`` on each site's bond in each direction
    (:func:`.site_lattice.bond_per_direction`), below 1; ``rounds`` as in :func:`.schedule.iterate`.

    The messages are kept as ``tanh u_{j->i}``, which turns every update into arithmetic: the total field's tanh
    by the addition theorem, the cavity's by ``tanh(H - u) = (T - t) / (1 - T t)``, and the message by
    ``tanh u_{j->i} = tanh K_ij tanh(cavity)``.  No transcendental function runs inside the rounds, and an
    infinite field (``T = +-1``) needs no special case.
    """
    tanh_h = np.tanh(np.asarray(h, dtype=np.float64))

    def total(t: np.ndarray, tanh_h: np.ndarray) -> np.ndarray:
        out = tanh_h
        for d in range(len(DIRECTIONS)):
            out = tanh_add(out, t[:, d])
        return out

    def step(t: np.ndarray, tanh_h: np.ndarray) -> np.ndarray:
        T = total(t, tanh_h)
        new = np.empty_like(t)
        for d in range(len(DIRECTIONS)):
            back = t[:, OPPOSITE[d]]  # what this site received from the neighbour in direction OPPOSITE[d]
            new[:, d] = bond_tanh[d] * from_neighbour((T - back) / (1.0 - T * back), d)
        return new

    t, used = iterate(step, np.zeros((tanh_h.shape[0], 4) + tanh_h.shape[1:]), (tanh_h,), rounds=rounds,
                      damping=damping, tolerance=tolerance, max_rounds=max_rounds)
    return total(t, tanh_h), used


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
