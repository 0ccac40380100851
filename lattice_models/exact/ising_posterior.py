"""Exact posterior mean of noisy 2D Ising data on the L x L torus.

Reference: docs/physics.md, section 2, "Posterior of noisy Ising data".  For Ising data
at coupling K = 1/T corrupted by a factorised channel the posterior is an Ising
model in a site-dependent field,

    p(s | y) ∝ exp(K sum_<ij> s_i s_j + sum_i h_i s_i),

* Gaussian channel ``y = a s + sigma z`` (level lambda = a^2/sigma^2): ``h_i = a y_i / sigma^2``;
* bit-flip channel on spins (level p): ``h_i = y_i atanh(1 - 2p)``; p = 0 gives
  ``E[s|y] = y`` (infinite field), p = 1/2 zero field (``E[s|y] = 0`` by symmetry).

``E[s_i | y]`` comes from the exact torus transfer matrix (L <= 12).
:func:`ising_posterior_mean_brute_force` enumerates all 2^(L^2) states and
uses the channel likelihood directly (not the field formula); tests compare
the two.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from phasebench.lattice_models.channels import NoiseChannel, as_channel
from phasebench.lattice_models.exact.torus_ising import MAX_BRUTE_FORCE_L, MAX_L, all_spin_states, torus_ising_marginals

ChannelLike = Union[str, NoiseChannel]


def check_observations(y: Any, channels: int, max_L: int, what: str) -> np.ndarray:
    """Validate a batch of observations of shape (n, channels, L, L) with 2 <= L <= max_L."""
    y = np.asarray(y)
    if y.ndim != 4 or y.shape[1] != channels or y.shape[2] != y.shape[3]:
        raise ValueError(f"y must have shape (n, {channels}, L, L), got {y.shape}")
    L = y.shape[-1]
    if not (2 <= L <= max_L):
        raise ValueError(f"L must be in [2, {max_L}] for the {what}, got L={L}")
    if not np.isfinite(y).all():
        raise ValueError("y must be finite")
    return y


def _check_K(K: Any) -> float:
    try:
        K = float(K)
    except (TypeError, ValueError):
        raise ValueError(f"coupling K must be a finite number, got {K!r}") from None
    if not np.isfinite(K):
        raise ValueError(f"coupling K must be a finite number, got {K!r}")
    return K


def _spin_channel(channel: ChannelLike) -> NoiseChannel:
    ch = as_channel(channel)
    ch.check_variable_type("spin")  # Ising data are spins
    return ch


def ising_posterior_field(y: Any, channel: ChannelLike, level: float) -> np.ndarray:
    """Site fields h of the posterior, same shape as y (+-inf everywhere for bit flip at p = 0)."""
    return _spin_channel(channel).spin_field(y, level, "spin")


def ising_posterior_mean(y: Any, K: float, channel: ChannelLike, level: float) -> np.ndarray:
    """Exact ``E[s | y]`` for y of shape (n, 1, L, L), 2 <= L <= 12 (transfer matrix)."""
    K = _check_K(K)
    y = check_observations(y, 1, MAX_L, "Ising transfer matrix")
    h = ising_posterior_field(y, channel, level)
    if np.isinf(h).any():  # bit flip at p = 0: the data are the clean spins
        return y.astype(np.float64)
    out = np.zeros(y.shape, dtype=np.float64)
    if not h.any():  # zero field (bit flip at p = 1/2): E[s] = 0 by spin-flip symmetry
        return out
    L = y.shape[-1]
    J = np.full((L, L), K)
    for n in range(y.shape[0]):
        out[n, 0] = torus_ising_marginals(J, J, h[n, 0]).magnetization
    return out


def ising_posterior_mean_brute_force(y: Any, K: float, channel: ChannelLike, level: float) -> np.ndarray:
    """``E[s | y]`` by enumerating all 2^(L^2) spin states (L <= 4): the test reference."""
    K = _check_K(K)
    ch = _spin_channel(channel)
    y = check_observations(y, 1, MAX_BRUTE_FORCE_L, "brute-force reference")
    states = all_spin_states(y.shape[-1])
    s = states.astype(np.float64)
    prior = K * (s * np.roll(s, -1, axis=2) + s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))
    flat = s.reshape(len(s), -1)
    out = np.empty(y.shape, dtype=np.float64)
    for n in range(y.shape[0]):
        logw = prior + ch.log_likelihood(states, y[n, 0], level)
        w = np.exp(logw - logw.max())
        out[n, 0] = (w @ flat / w.sum()).reshape(y.shape[-2:])
    return out
