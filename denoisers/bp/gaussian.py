"""Gaussian belief propagation on the posterior of the Gaussian free field (docs/physics.md, sections 4 and 5).

With ``x ~ N(0, (-Delta + m^2)^{-1})`` seen through ``y = a x + s z`` the posterior is Gaussian,

    p(x | y) ∝ exp(-x^T J x / 2 + h^T x),  J = -Delta + m^2 + (a^2 / s^2) I,  h = (a / s^2) y,

a pairwise model on the torus: ``J_ii = m^2 + a^2/s^2 + sum of the stiffnesses c_b of the site's bonds``
(c_b = 1 for the GFF) and ``J_ij = -c_b`` across a bond b.  Gaussian BP passes, along every bond, a
message in information form (a precision P and a potential eta).  The message from j to i is

    P_{j->i} = -J_ij^2 / Pc_j,    eta_{j->i} = -J_ij etac_j / Pc_j,

with the cavity precision ``Pc_j = J_jj + sum_{k != i} P_{k->j}`` and potential
``etac_j = h_j + sum_{k != i} eta_{k->j}``; the estimate at i is ``(h_i + sum_j eta_{j->i}) /
(J_ii + sum_j P_{j->i})``.  From zero messages, r rounds give a linear filter of y whose light cone is the
Manhattan ball of radius r (:mod:`.site_lattice`).  J is diagonally dominant (``J_ii - sum_j |J_ij| =
m^2 + a^2/s^2 > 0``), hence walk-summable, so the messages converge and the converged means are the exact
posterior means ``J^{-1} h`` (Weiss and Freeman 2001; Malioutov, Johnson and Willsky 2006); the precisions
converge too, to the Bethe approximation of the variances.  On a tree, BP is exact once it has run as
many rounds as the tree's diameter.

Massless field: the model projects the constant mode out of the prior (docs/physics.md, section 4); the
local precision J cannot express that global constraint, so at m = 0 the converged BP mean differs from the
exact posterior mean in the constant mode (a 1/L^2 effect).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .schedule import iterate
from .site_lattice import DIRECTIONS, bond_per_direction, cavity, uniform_bonds

#: arithmetic operations per site and round: per direction two cavity subtractions, a square, two
#: divisions, two products; the two four-term totals
FLOPS_PER_SITE_ROUND = 4 * 7 + 6


def gaussian_bp(h: np.ndarray, diagonal: np.ndarray, coupling: np.ndarray, rounds: Optional[int], *,
                damping: float = 0.0, tolerance: float = 1e-10, max_rounds: int = 1000):
    """Means of ``N(J^{-1} h, J^{-1})`` by Gaussian BP; returns ``(means (n, L, L), precisions (n, L, L), rounds)``.

    ``h (n, L, L)``; ``diagonal``: J_ii, broadcastable to ``(L, L)``; ``coupling (4, L, L)``: ``-J_ij`` on each
    site's bond in each direction (:func:`.site_lattice.bond_per_direction`); ``rounds``: as in
    :func:`.schedule.iterate` (None: until converged).  Messages are stored as ``(n, 8, L, L)``: the four
    precisions, then the four potentials.
    """
    h = np.asarray(h, dtype=np.float64)
    n, L, _ = h.shape
    diagonal = np.broadcast_to(np.asarray(diagonal, dtype=np.float64), (L, L))
    c2 = coupling * coupling

    def step(msg: np.ndarray, h: np.ndarray) -> np.ndarray:
        P, eta = msg[:, :4], msg[:, 4:]
        P_total = diagonal + P.sum(axis=1)
        eta_total = h + eta.sum(axis=1)
        new = np.empty_like(msg)
        for d in range(len(DIRECTIONS)):
            P_cav = cavity(P_total, P, d)
            new[:, d] = -c2[d] / P_cav
            new[:, 4 + d] = coupling[d] * cavity(eta_total, eta, d) / P_cav
        return new

    messages = np.zeros((n, 8, L, L))
    messages, used = iterate(step, messages, (h,), rounds=rounds, damping=damping, tolerance=tolerance,
                             max_rounds=max_rounds)
    precision = diagonal + messages[:, :4].sum(axis=1)
    return (h + messages[:, 4:].sum(axis=1)) / precision, precision, used


class FieldBP:
    """Gaussian BP for the GFF of squared mass ``mass_sq`` under the additive Gaussian channel ``channel``."""

    flops_per_site_round = FLOPS_PER_SITE_ROUND

    def __init__(self, mass_sq: float, channel):
        if not (channel.additive_gaussian and channel.supports("real")):
            raise ValueError(f"bp on the gff needs the gaussian channel on real data, not the {channel.name} channel"
                             + (" encoding binary data as spins" if channel.additive_gaussian else ""))
        self.mass_sq = float(mass_sq)
        self.channel = channel

    def estimate(self, y: np.ndarray, level: float, rounds: Optional[int], **schedule) -> np.ndarray:
        """``E[x | y]`` estimated by ``rounds`` rounds (None: until converged), for y of shape ``(n, 1, L, L)``."""
        a, s = self.channel.amplitudes(level)
        L = y.shape[-1]
        stiffness = bond_per_direction(*uniform_bonds(1.0, L))
        diagonal = self.mass_sq + a * a / (s * s) + stiffness.sum(axis=0)
        means, _, _ = gaussian_bp(a / (s * s) * np.asarray(y[:, 0], dtype=np.float64), diagonal, stiffness, rounds,
                                  **schedule)
        return means[:, None]


def round_kernel(mass_sq: float, a: float, s: float, L: int, rounds: int) -> np.ndarray:
    """The linear filter of ``rounds`` rounds as a window kernel ``(2r + 1, 2r + 1)``, r = rounds, in the
    convention of :func:`phasebench.lattice_models.geometry.apply_window_kernel` (``out[i] = sum_d w[d] y[i + d]``):
    the response at every site to a unit observation at site 0 (the messages are linear in y)."""
    impulse = np.zeros((1, L, L))
    impulse[0, 0, 0] = 1.0
    stiffness = bond_per_direction(*uniform_bonds(1.0, L))
    response = gaussian_bp(a / (s * s) * impulse, mass_sq + a * a / (s * s) + stiffness.sum(axis=0), stiffness,
                           rounds)[0][0]
    d = np.arange(-rounds, rounds + 1)
    return response[(-d[:, None]) % L, (-d[None, :]) % L]


def gap_to_local_optimum(mass_sq: float, a: float, s: float, L: int, rounds: int) -> tuple:
    """``(gap, excess)``: the exact MSE of ``rounds`` rounds minus that of the best radius-r estimator (r = rounds),
    and that optimum's excess over the MMSE.  Since the optimum ``w*`` is orthogonal to every r-local linear
    estimate (docs/physics.md, section 4), the gap of the BP kernel w is ``(w - w*)^T (a^2 G_WW + s^2 I) (w - w*)``."""
    from phasebench.lattice_models.exact import gff_theory

    optimum, mse_r = gff_theory.local_optimum(L, mass_sq, a, s, rounds)
    off = gff_theory.window_offsets(rounds)
    G = gff_theory.torus_green(L, mass_sq)
    diff = off[:, None, :] - off[None, :, :]
    A = a * a * G[diff[..., 0] % L, diff[..., 1] % L] + s * s * np.eye(len(off))
    dw = (round_kernel(mass_sq, a, s, L, rounds) - optimum).ravel()
    return float(dw @ A @ dw), mse_r - gff_theory.mmse_torus(L, mass_sq, a, s)
