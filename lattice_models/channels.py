"""Noise channels and schedules.

Every channel is parameterised by its schedule-free *level*:

* Gaussian channel ``y = a x + s z``: the signal-to-noise ratio ``lambda = a^2 / s^2``
  (``a = 1`` unless a schedule says otherwise);
* bit-flip channel: the flip probability ``p`` in ``[0, 1/2]``.

Schedules map a diffusion time ``t`` to ``(a, s)`` (or to ``p``) for display and
for users who think in ``t``; scores are always reported on ``lambda`` or ``p``
(physics reference, section 1).  Noise draws are seeded: the same seed gives the
same noisy test set.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Tuple

import numpy as np

from .registry import Registry

CHANNELS: Registry[type] = Registry("channel")


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class NoiseChannel:
    name = "?"
    level_name = "?"

    def validate_level(self, level: Any) -> float:
        raise NotImplementedError

    def corrupt(self, x: np.ndarray, level: float, seed: Any) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"name": self.name, "level": self.level_name}


@CHANNELS.register("gaussian")
class GaussianChannel(NoiseChannel):
    """``y = a x + s z`` with ``z ~ N(0, 1)`` and ``lambda = a^2 / s^2``.

    Binary (0/1) data are first encoded as spins ``1 - 2 x`` when
    ``encode_binary_as_spin`` is set (the toric-code convention).
    """

    level_name = "lambda"

    def __init__(self, a: float = 1.0, encode_binary_as_spin: bool = False):
        if not (math.isfinite(a) and a > 0):
            raise ValueError(f"Gaussian channel amplitude a must be > 0, got {a!r}")
        self.a = float(a)
        self.encode_binary_as_spin = bool(encode_binary_as_spin)

    def validate_level(self, level: Any) -> float:
        try:
            lam = float(level)
        except (TypeError, ValueError):
            raise ValueError(f"noise level lambda must be a number > 0, got {level!r}") from None
        if not (math.isfinite(lam) and lam > 0):
            raise ValueError(f"noise level lambda must be > 0, got {level!r}")
        return lam

    def amplitudes(self, level: float) -> Tuple[float, float]:
        lam = self.validate_level(level)
        return self.a, self.a / math.sqrt(lam)

    def corrupt(self, x: np.ndarray, level: float, seed: Any) -> np.ndarray:
        a, s = self.amplitudes(level)
        x = np.asarray(x, dtype=np.float64)
        if self.encode_binary_as_spin:
            x = 1.0 - 2.0 * x
        return a * x + s * _rng(seed).standard_normal(x.shape)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "a": self.a, "encode_binary_as_spin": self.encode_binary_as_spin}


@CHANNELS.register("bitflip")
class BitFlipChannel(NoiseChannel):
    """Flip each variable independently with probability ``p`` in ``[0, 1/2]``.

    Works on binary (0/1) and spin (+-1) data; the output keeps the encoding.
    """

    level_name = "p"

    def validate_level(self, level: Any) -> float:
        try:
            p = float(level)
        except (TypeError, ValueError):
            raise ValueError(f"flip probability p must be a number in [0, 0.5], got {level!r}") from None
        if not (0.0 <= p <= 0.5):
            raise ValueError(f"flip probability p must be in [0, 0.5], got {level!r}")
        return p

    def corrupt(self, x: np.ndarray, level: float, seed: Any) -> np.ndarray:
        p = self.validate_level(level)
        x = np.asarray(x)
        flips = _rng(seed).random(x.shape) < p
        if np.isin(x, (0, 1)).all():
            return np.where(flips, 1 - x, x).astype(np.int8)
        if np.isin(x, (-1, 1)).all():
            return np.where(flips, -x, x).astype(np.int8)
        raise ValueError("the bit-flip channel needs binary (0/1) or spin (+-1) data")


def make_channel(name: str, **options: Any) -> NoiseChannel:
    return CHANNELS.get(name)(**options)


# ----------------------------------------------------------------------------------------
# Schedules: t <-> (a, s) <-> lambda, and t <-> p for the bit-flip channel.
# ----------------------------------------------------------------------------------------

VP_COSINE_EPS = 0.008


def _check_t(t: float, lo: float, hi: float, name: str) -> float:
    t = float(t)
    if not (lo <= t <= hi):
        raise ValueError(f"time t for schedule {name!r} must be in [{lo:g}, {hi:g}], got {t!r}")
    return t


def _linear_as(t: float) -> Tuple[float, float]:
    t = _check_t(t, 0.0, 1.0, "linear")
    return 1.0 - t, t


def _ou_as(t: float) -> Tuple[float, float]:
    t = _check_t(t, 0.0, math.inf, "ou")
    return math.exp(-t), math.sqrt(-math.expm1(-2.0 * t))


def _vp_cosine_as(t: float) -> Tuple[float, float]:
    t = _check_t(t, 0.0, 1.0, "vp-cosine")
    eps = VP_COSINE_EPS
    alpha_bar = math.cos(0.5 * math.pi * (t + eps) / (1.0 + eps)) ** 2
    return math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)


def _linear_t(lam: float) -> float:  # lambda = (1-t)^2 / t^2
    return 1.0 / (1.0 + math.sqrt(lam))


def _ou_t(lam: float) -> float:  # lambda = e^{-2t} / (1 - e^{-2t})
    return 0.5 * math.log1p(1.0 / lam)


def _vp_cosine_t(lam: float) -> float:  # lambda = alpha_bar / (1 - alpha_bar)
    alpha_bar = lam / (1.0 + lam)
    eps = VP_COSINE_EPS
    return math.acos(math.sqrt(alpha_bar)) * 2.0 / math.pi * (1.0 + eps) - eps


SCHEDULES: Dict[str, Tuple[Callable[[float], Tuple[float, float]], Callable[[float], float]]] = {
    "linear": (_linear_as, _linear_t),
    "ou": (_ou_as, _ou_t),
    "vp-cosine": (_vp_cosine_as, _vp_cosine_t),
}


def _schedule(name: str):
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r} (choose from: {', '.join(SCHEDULES)})") from None


def schedule_amplitudes(schedule: str, t: float) -> Tuple[float, float]:
    """(a, s) of the Gaussian channel at time t of the named schedule."""
    return _schedule(schedule)[0](t)


def lambda_from_t(schedule: str, t: float) -> float:
    a, s = schedule_amplitudes(schedule, t)
    return math.inf if s == 0 else a * a / (s * s)


def t_from_lambda(schedule: str, lam: float) -> float:
    lam = GaussianChannel().validate_level(lam)
    t = _schedule(schedule)[1](lam)
    if schedule == "vp-cosine" and t < 0:
        raise ValueError(f"lambda={lam:g} is above the vp-cosine schedule's maximum SNR")
    return t


def p_from_t(t: float) -> float:
    """Bit-flip probability of the continuous-time channel: p(t) = (1 - e^{-2t}) / 2."""
    t = _check_t(t, 0.0, math.inf, "bitflip")
    return -0.5 * math.expm1(-2.0 * t)


def t_from_p(p: float) -> float:
    p = BitFlipChannel().validate_level(p)
    return math.inf if p == 0.5 else -0.5 * math.log1p(-2.0 * p)
