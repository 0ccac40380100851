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

#: arithmetic operations per site and round: per direction a cavity subtraction and a product by the
#: precomputed gain; the four-term total (the precision messages do not depend on the data: once per lattice)
FLOPS_PER_SITE_ROUND = 4 * 2 + 4


def precision_gains(diagonal: np.ndarray, coupling: np.ndarray, rounds: Optional[int], *, damping: float = 0.0,
                    tolerance: float = 1e-10, max_rounds: int = 1000):
    """The precision messages, which do not depend on the data: ``(gains, precision)``.

    ``gains[t] (4, L, L)`` is ``-J_ij / Pc_j`` of round t + 1 (t = 0 .. rounds - 1): what multiplies the
    cavity potential in the potential messages of that round; ``precision (L, L)`` is the estimate's precision
    ``J_ii + sum_j P_{j->i}`` after the last round.  ``rounds`` None: the precisions are iterated until converged
    and ``gains`` holds their fixed point once.
    """
    c2 = coupling * coupling

    def step(P: np.ndarray) -> np.ndarray:
        total = diagonal + P.sum(axis=1)
        return np.stack([-c2[d] / cavity(total, P, d) for d in range(len(DIRECTIONS))], axis=1)

    def gains(P: np.ndarray) -> np.ndarray:
        total = diagonal + P.sum(axis=1)
        return np.stack([coupling[d] / cavity(total, P, d)[0] for d in range(len(DIRECTIONS))])

    P = np.zeros((1, 4) + diagonal.shape)
    if rounds is None:
        P, _ = iterate(step, P, (), rounds=None, damping=damping, tolerance=tolerance, max_rounds=max_rounds)
        return gains(P)[None], diagonal + P[0].sum(axis=0)
    out = []
    for _ in range(rounds):
        out.append(gains(P))
        P, _ = iterate(step, P, (), rounds=1, damping=damping)
    return np.array(out).reshape((rounds, 4) + diagonal.shape), diagonal + P[0].sum(axis=0)


def gaussian_bp(h: np.ndarray, diagonal: np.ndarray, coupling: np.ndarray, rounds: Optional[int], *,
                damping: float = 0.0, tolerance: float = 1e-10, max_rounds: int = 1000):
    """Means of ``N(J^{-1} h, J^{-1})`` by Gaussian BP; returns ``(means (n, L, L), precision (L, L), rounds)``.

    ``h (n, L, L)``; ``diagonal``: J_ii, broadcastable to ``(L, L)``; ``coupling (4, L, L)``: ``-J_ij`` on each
    site's bond in each direction (:func:`.site_lattice.bond_per_direction`); ``rounds``: as in
    :func:`.schedule.iterate` (None: until converged).  The precision messages are run once
    (:func:`precision_gains`); the potential messages ``(n, 4, L, L)`` then follow them round by round (the
    global member: at the precisions' fixed point, which has the same fixed point of the means).
    """
    h = np.asarray(h, dtype=np.float64)
    n, L, _ = h.shape
    diagonal = np.broadcast_to(np.asarray(diagonal, dtype=np.float64), (L, L))
    schedule = dict(damping=damping, tolerance=tolerance, max_rounds=max_rounds)
    gains, precision = precision_gains(diagonal, coupling, rounds, **schedule)

    def step(eta: np.ndarray, h: np.ndarray, gain: np.ndarray) -> np.ndarray:
        total = h + eta.sum(axis=1)
        return np.stack([gain[d] * cavity(total, eta, d) for d in range(len(DIRECTIONS))], axis=1)

    eta = np.zeros((n, 4, L, L))
    if rounds is None:
        eta, used = iterate(lambda e, h: step(e, h, gains[0]), eta, (h,), rounds=None, **schedule)
    else:
        for gain in gains:
            eta, used = iterate(lambda e, h: step(e, h, gain), eta, (h,), rounds=1, damping=damping)
        used = np.full(n, rounds, dtype=np.int64)
    return (h + eta.sum(axis=1)) / precision, precision, used


def field_posterior(mass_sq: float, a: float, s: float, L: int):
    """``(diagonal J_ii (L, L), coupling -J_ij (4, L, L))`` of the GFF posterior on the L x L torus."""
    stiffness = bond_per_direction(*uniform_bonds(1.0, L))
    return mass_sq + a * a / (s * s) + stiffness.sum(axis=0), stiffness


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
        diagonal, coupling = field_posterior(self.mass_sq, a, s, y.shape[-1])
        means, _, _ = gaussian_bp(a / (s * s) * np.asarray(y[:, 0], dtype=np.float64), diagonal, coupling, rounds,
                                  **schedule)
        return means[:, None]


def round_kernel(mass_sq: float, a: float, s: float, L: int, rounds: int) -> np.ndarray:
    """The linear filter of ``rounds`` rounds as a window kernel ``(2r + 1, 2r + 1)``, r = rounds, in the
    convention of :func:`phasebench.lattice_models.geometry.apply_window_kernel` (``out[i] = sum_d w[d] y[i + d]``):
    the response at every site to a unit observation at site 0 (the messages are linear in y)."""
    impulse = np.zeros((1, L, L))
    impulse[0, 0, 0] = 1.0
    response = gaussian_bp(a / (s * s) * impulse, *field_posterior(mass_sq, a, s, L), rounds)[0][0]
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
