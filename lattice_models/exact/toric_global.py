"""Global Bayes oracle for toric-code loop configurations under noise.

Conventions (docs/physics.md, section 3): edge variables x in {0,1} on the
L x L torus, shape (n, 2, L, L); channel 0 is the horizontal edge
h(i,j) = (i,j)-(i,j+1), channel 1 the vertical edge v(i,j) = (i,j)-(i+1,j).
Valid x have even parity at every vertex; the prior is uniform over this
cycle space (loop weight 1, dimension L^2 + 1).

Posterior as a random-bond Ising model.  Every cycle is
``x = boundary(sigma) + a l_h + b l_v`` with plaquette spins sigma (plaquette
(i,j) is bounded by h(i,j), h(i+1,j), v(i,j), v(i,j+1)), the reference loops
``l_h = {h(0,j)}`` and ``l_v = {v(i,0)}``, and a homology class (a, b); each
x has exactly two sigma (global flip).  With tau_e = (-1)^{x_e} =
(-1)^{l_e} sigma_P sigma_Q for the two plaquettes P, Q of e, every channel
here has ``p(y|x) ∝ exp(sum_e J_e tau_e)``:

* bit flip (y binary, level p): ``J_e = K_N (1 - 2 y_e)``, ``K_N = ½ ln((1-p)/p)`` (Nishimori line);
* Gaussian on spin-encoded edges, ``y = a (1 - 2x) + sigma z``: ``J_e = a y_e / sigma^2``;
* Gaussian on raw 0/1 edges, ``y = a x + sigma z``: ``J_e = a (a - 2 y_e) / (4 sigma^2)``.

So the posterior of (sigma, a, b) is the dual-lattice Ising model with bond
couplings ``J_e (-1)^{l_e}``: the sector (a, b) flips the coupling signs along
the seam l_h (a) and/or l_v (b).  Its partition function Z_ab gives the class
posterior ``P(hom(x) = (a, b) | y) = Z_ab / sum Z`` and its bond correlations
the edge marginals ``P(x_e = 1 | y) = sum_ab P_ab (1 - (-1)^{l_e} <sigma_P sigma_Q>_ab) / 2``.
The homology class of a cycle is ``hom(x) = (sum_i x_h(i,0), sum_j x_v(0,j)) mod 2``
(windings around the horizontal and vertical cycles).  The optimal decoder
returns the most probable class; it fails when that differs from hom(x_true).
Dual couplings: edge h(i,j) is the dual vertical bond (i-1,j)-(i,j), edge v(i,j)
the dual horizontal bond (i,j-1)-(i,j).  All Z_ab come from the exact torus
transfer matrix (L <= 12); :func:`toric_posterior_brute_force` enumerates the
cycle space through a GF(2) basis (L <= 4) and uses the channel likelihood directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from phasebench.lattice_models.channels import as_channel
from phasebench.lattice_models.exact.ising_posterior import ChannelLike, check_observations
from phasebench.lattice_models.exact.torus_ising import MAX_L, torus_ising_marginals

MAX_BRUTE_FORCE_L = 4
SECTORS = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass(frozen=True)
class ToricPosterior:
    """Edge marginals P(x_e = 1 | y), shape (n, 2, L, L), and class posteriors (n, 2, 2) indexed [a, b]."""

    edge_marginals: np.ndarray
    class_probabilities: np.ndarray


def vertex_parity(x: np.ndarray) -> np.ndarray:
    """Parity (0/1) at every vertex, shape (n, L, L): h(i,j) + h(i,j-1) + v(i,j) + v(i-1,j) mod 2."""
    x = np.asarray(x).astype(np.int64)
    h, v = x[:, 0], x[:, 1]
    return (h + np.roll(h, 1, axis=2) + v + np.roll(v, 1, axis=1)) % 2


def homology_class(x: Any) -> np.ndarray:
    """(a, b) = (sum_i x_h(i,0), sum_j x_v(0,j)) mod 2 of cycles x (n, 2, L, L); shape (n, 2)."""
    x = np.asarray(x).astype(np.int64)
    return np.stack([x[:, 0, :, 0].sum(axis=1) % 2, x[:, 1, 0, :].sum(axis=1) % 2], axis=1)


def _check_cycles(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] != 2 or x.shape[2] != x.shape[3]:
        raise ValueError(f"{name} must have shape (n, 2, L, L), got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError(f"{name} must be binary (0/1) edge variables")
    if vertex_parity(x).any():
        raise ValueError(f"{name} must have even parity at every vertex (a cycle)")
    return x.astype(np.int8)


def edge_couplings(y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """RBIM couplings J_e with p(y|x) ∝ exp(sum_e J_e (-1)^{x_e}); +-inf for bit flip at p = 0."""
    return as_channel(channel).spin_field(y, level, "binary")


def _sector_signs(L: int, a: int, b: int) -> np.ndarray:
    """(-1)^{l_e} for l = a l_h + b l_v, shape (2, L, L)."""
    sign = np.ones((2, L, L))
    if a:
        sign[0, 0, :] = -1.0
    if b:
        sign[1, :, 0] = -1.0
    return sign


def _one_posterior(J: np.ndarray):
    """Edge marginals (2, L, L) and class probabilities (2, 2) for edge couplings J (2, L, L)."""
    L = J.shape[-1]
    log_z = np.empty(4)
    p_one = np.empty((4, 2, L, L))
    for k, (a, b) in enumerate(SECTORS):
        sign = _sector_signs(L, a, b)
        Je = J * sign
        # dual bond couplings: Jv_d[i,j] = J_h(i+1,j), Jh_d[i,j] = J_v(i,j+1)
        res = torus_ising_marginals(np.roll(Je[1], -1, axis=1), np.roll(Je[0], -1, axis=0))
        corr = np.stack([np.roll(res.corr_v, 1, axis=0), np.roll(res.corr_h, 1, axis=1)])
        log_z[k] = res.log_z
        p_one[k] = 0.5 * (1.0 - sign * corr)
    w = np.exp(log_z - log_z.max())
    w /= w.sum()
    return np.tensordot(w, p_one, axes=1), w.reshape(2, 2)


def _check_toric_y(y: Any, channel: ChannelLike, max_L: int, what: str) -> np.ndarray:
    y = check_observations(y, 2, max_L, what)
    return y if as_channel(channel).discrete_observations else y.astype(np.float64)


def toric_posterior(y: Any, channel: ChannelLike, level: float) -> ToricPosterior:
    """Exact edge marginals and homology-class posteriors for y of shape (n, 2, L, L), L <= 12."""
    y = _check_toric_y(y, channel, MAX_L, "toric transfer matrix")
    J = edge_couplings(y, channel, level)
    n, _, L, _ = y.shape
    if np.isinf(J).any():  # bit flip at p = 0: x = y, which must then be a cycle
        x = _check_cycles(y.astype(np.int8), "y (bit flip at p = 0)")
        probs = np.zeros((n, 2, 2))
        hom = homology_class(x)
        probs[np.arange(n), hom[:, 0], hom[:, 1]] = 1.0
        return ToricPosterior(x.astype(np.float64), probs)
    marg = np.empty((n, 2, L, L))
    probs = np.empty((n, 2, 2))
    for k in range(n):
        marg[k], probs[k] = _one_posterior(J[k])
    return ToricPosterior(marg, probs)


def toric_posterior_marginals(y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """``P(x_e = 1 | y)``, shape (n, 2, L, L)."""
    return toric_posterior(y, channel, level).edge_marginals


TIE_TOLERANCE = 1e-12  # class probabilities this close to the maximum count as tied


def _maximal_classes(class_probabilities: np.ndarray) -> np.ndarray:
    flat = np.asarray(class_probabilities, dtype=np.float64).reshape(len(class_probabilities), 4)
    return flat >= flat.max(axis=1, keepdims=True) - TIE_TOLERANCE


def decode_homology(class_probabilities: np.ndarray) -> np.ndarray:
    """Most probable class (a, b) per configuration, shape (n, 2).

    Exact ties (symmetric syndromes occur on small tori) go to the lowest index a*2+b.
    """
    best = np.argmax(_maximal_classes(class_probabilities), axis=1)
    return np.stack([best // 2, best % 2], axis=1)


def _posterior_for(x: Any, y: Any, channel: ChannelLike, level: float):
    x = _check_cycles(x, "x")
    y = np.asarray(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    return homology_class(x), toric_posterior(y, channel, level).class_probabilities


def toric_logical_failure(x: Any, y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """Bool (n,): the maximum-likelihood-class decoder (ties: lowest index) misses hom(x)."""
    hom, probs = _posterior_for(x, y, channel, level)
    return (decode_homology(probs) != hom).any(axis=1)


def toric_failure_probability(x: Any, y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """Float (n,): failure probability of the optimal decoder with ties broken uniformly at random
    (0 or 1 without ties); its mean is an unbiased logical-failure rate."""
    hom, probs = _posterior_for(x, y, channel, level)
    tied = _maximal_classes(probs)
    right = tied[np.arange(len(hom)), 2 * hom[:, 0] + hom[:, 1]]
    return 1.0 - right / tied.sum(axis=1)


def toric_bayes_failure_probability(y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """Float (n,): ``1 - max_ab P(hom(x) = (a, b) | y)``, the optimal decoder's failure
    probability given y when x is drawn from the uniform cycle prior.  Its mean over noisy
    samples estimates the logical-failure rate with less variance than the indicator."""
    probs = toric_posterior(y, channel, level).class_probabilities
    return 1.0 - probs.reshape(len(probs), 4).max(axis=1)


# -- brute-force reference ----------------------------------------------------------------

def cycle_space_basis(L: int) -> np.ndarray:
    """GF(2) basis of the cycle space, shape (L^2 + 1, 2, L, L): all plaquette boundaries
    but the last one, then l_h and l_v."""
    basis = []
    for i in range(L):
        for j in range(L):
            if (i, j) == (L - 1, L - 1):
                continue
            b = np.zeros((2, L, L), dtype=np.int8)
            b[0, i, j] ^= 1
            b[0, (i + 1) % L, j] ^= 1
            b[1, i, j] ^= 1
            b[1, i, (j + 1) % L] ^= 1
            basis.append(b)
    basis.append((_sector_signs(L, 1, 0) < 0).astype(np.int8))  # l_h
    basis.append((_sector_signs(L, 0, 1) < 0).astype(np.int8))  # l_v
    return np.stack(basis)


def all_cycles(L: int) -> np.ndarray:
    """All 2^(L^2+1) cycles of the L x L torus, shape (2^(L^2+1), 2, L, L), int8."""
    basis = cycle_space_basis(L).reshape(L * L + 1, -1).astype(np.int64)
    codes = np.arange(1 << (L * L + 1), dtype=np.int64)
    coeffs = (codes[:, None] >> np.arange(L * L + 1)) & 1
    return ((coeffs @ basis) % 2).astype(np.int8).reshape(-1, 2, L, L)


def toric_posterior_brute_force(y: Any, channel: ChannelLike, level: float) -> ToricPosterior:
    """The same posterior by enumerating the cycle space (L <= 4): the test reference."""
    ch = as_channel(channel)
    y = _check_toric_y(y, ch, MAX_BRUTE_FORCE_L, "brute-force reference")
    L = y.shape[-1]
    cycles = all_cycles(L)
    encoded = ch.channel_input(cycles, "binary")
    hom = homology_class(cycles)
    flat = cycles.reshape(len(cycles), -1).astype(np.float64)
    marg = np.empty(y.shape)
    probs = np.zeros((len(y), 2, 2))
    for n in range(len(y)):
        logw = ch.log_likelihood(encoded, y[n], level)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        marg[n] = (w @ flat).reshape(2, L, L)
        np.add.at(probs[n], (hom[:, 0], hom[:, 1]), w)
    return ToricPosterior(marg, probs)
