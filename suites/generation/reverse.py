"""Reverse processes driven by posterior-mean denoisers (docs/physics.md, section 8).

Every denoiser family estimates ``E[x | y]`` at a noise level; that is all these samplers need.

* **Stochastic localisation** (Gaussian channel).  In the channel's input ``u`` (``x``, or ``1 - 2x`` for bits
  the channel encodes as spins: :meth:`NoiseChannel.channel_input`), ``Y_t = t u + W_t`` solves
  ``dY_t = E[u | Y_t] dt + dW_t`` and ``Y_t / t = u + W_t / t`` is the channel at ``lambda = t``
  (``y = a Y_t / t`` in the channel's amplitude convention, ``s = a / sqrt(t)``).  The exact transition
  ``Y_t -> Y_t'`` has mean ``Y_t + dt E[u | Y_t]`` and covariance ``dt + dt^2 Cov(u | Y_t)``; Euler-Maruyama
  (= DDPM ancestral sampling with x0-prediction) drops the second term, an error of order ``dt / t`` per step
  (about ``ln(t_max / t_min) / (2 N)`` relative in the generated variances, measured).  The stochastic Heun step
  used here, ``Y' = Y + dt (m(Y, t) + m(Y + dt m(Y, t) + dW, t')) / 2 + dW`` with one shared ``dW``, restores it:
  in SL the Jacobian of the posterior mean is the posterior covariance (``d E[u | Y_t] / dY_t = Cov(u | Y_t)``),
  so the corrector adds ``dt^2 Cov(u | Y_t)`` to the step's covariance to leading order, for any prior.  Two
  denoiser calls per step; step 0 starts from ``Y_0 = 0``.  The sample is the posterior mean at
  ``t_max`` rounded to the data's values (discrete data) or the posterior mean itself (real data).
  With the exact posterior mean the law converges to the data's as the steps shrink.
* **Flip reversal** (bit-flip channel).  Forward, each variable flips at rate 1 (``p(tau) = (1 - e^{-2 tau}) / 2``).
  From level ``p'`` to ``p < p'`` the ancestral step flips site i of the current observation v with probability
  ``P(x_i = v_i | v) p q / (1 - p') + P(x_i != v_i | v) (1 - p) q / p'``, where ``1 - 2p' = (1 - 2p)(1 - 2q)``:
  the exact one-site reverse kernel given the site's posterior marginal.  Sites are flipped independently given
  v, which is exact as the steps shrink (the reverse rates depend on the data only through the one-site
  marginals); the last step (to p = 0) draws each site from its marginal.

Both are batched over samples and seeded: one ``numpy.random.Generator`` from the seed draws all the noise, so
the same seed (and deterministic denoisers) gives the same bytes.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np

from .schedule import LevelPath, Schedule


def _rounded(mean: np.ndarray, variable_type: str) -> np.ndarray:
    """The data value nearest to a posterior mean: sign for spins, 0/1 for bits, the mean itself for real data."""
    if variable_type == "spin":
        return np.where(mean >= 0, 1, -1).astype(np.int8)
    if variable_type == "binary":
        return (mean > 0.5).astype(np.int8)
    return mean


def _denoise(schedule: Schedule, y: np.ndarray, level: float, calls: dict) -> np.ndarray:
    member = schedule.member_at(level)
    calls["global" if schedule.is_global(member) else "local"] += 1
    return member.denoise(y, level)


def stochastic_localisation(schedule: Schedule, path: LevelPath, channel: Any, variable_type: str, shape,
                            rng: np.random.Generator, calls: dict) -> np.ndarray:
    """Stochastic Heun steps for ``dY = E[u | Y_t] dt + dW`` (module docstring); returns ``(n, C, L, L)`` samples."""

    def drift(Y, level):
        a = channel.amplitudes(level)[0]
        return channel.channel_input(_denoise(schedule, a * Y / level, level, calls), variable_type)

    Y = np.zeros(shape)
    for k in range(path.steps):
        dt = path.times[k + 1] - path.times[k]
        noise = np.sqrt(dt) * rng.standard_normal(shape)
        m_start = drift(Y, path.levels[k])
        m_end = drift(Y + dt * m_start + noise, path.levels[k + 1])
        Y += 0.5 * dt * (m_start + m_end) + noise
    level = path.levels[-1]
    a = channel.amplitudes(level)[0]
    return _rounded(_denoise(schedule, a * Y / level, level, calls), variable_type)


def flip_probability(agree: np.ndarray, p_from: float, p_to: float) -> np.ndarray:
    """The ancestral flip probability of a site from level ``p_from`` to ``p_to < p_from``, given the posterior
    probability ``agree`` that the clean value equals the current observation (module docstring)."""
    q = 0.5 * (1.0 - (1.0 - 2.0 * p_from) / (1.0 - 2.0 * p_to))
    stay_clean = p_to * q / (1.0 - p_from)
    leave_flip = (1.0 - p_to) * q / p_from
    return agree * stay_clean + (1.0 - agree) * leave_flip


def flip_reversal(schedule: Schedule, path: LevelPath, channel: Any, variable_type: str, shape,
                  rng: np.random.Generator, calls: dict) -> np.ndarray:
    """Ancestral steps of the reversed flip process (module docstring); returns int8 ``(n, C, L, L)`` samples."""
    base = np.full(shape, 1 if variable_type == "spin" else 0, dtype=np.int8)
    y = channel.corrupt(base, 0.5, rng, variable_type)  # p = 1/2: uniform noise, whatever the clean data
    for k in range(path.steps):
        p_from, p_to = float(path.levels[k]), float(path.levels[k + 1])
        mean_x = _denoise(schedule, y, p_from, calls)
        u_y = channel.encode_observation(y, variable_type)
        u_m = np.clip(channel.encode_observation(mean_x, variable_type), -1.0, 1.0)
        flips = rng.random(shape) < flip_probability(0.5 * (1.0 + u_y * u_m), p_from, p_to)
        y = np.where(flips, -y if variable_type == "spin" else 1 - y, y).astype(np.int8)
    return y


def reverse_process(path: LevelPath) -> Callable:
    return {"localisation": stochastic_localisation, "flip-reversal": flip_reversal}[path.kind]


def generate_samples(schedule: Schedule, path: LevelPath, channel: Any, variable_type: str, n: int, channels: int,
                     L: int, seed: int, batch: Optional[int] = None) -> tuple:
    """``n`` samples ``(n, C, L, L)`` of the reverse process, in batches of ``batch`` (default: all at once), and
    a record (path, schedule, denoiser calls, wall seconds).  Batches draw from one generator in order, so the
    output depends on ``batch`` (it is recorded)."""
    rng = np.random.default_rng(seed)
    batch = n if batch is None else max(1, min(int(batch), n))
    calls = {"local": 0, "global": 0}
    run = reverse_process(path)
    t0 = time.perf_counter()
    parts = [run(schedule, path, channel, variable_type, (min(batch, n - i), channels, L, L), rng, calls)
             for i in range(0, n, batch)]
    record = {"process": path.kind, "path": path.to_dict(), "schedule": schedule.to_dict(path), "seed": int(seed),
              "batch": batch, "denoiser_calls": calls, "wall_seconds": time.perf_counter() - t0}
    return np.concatenate(parts), record
