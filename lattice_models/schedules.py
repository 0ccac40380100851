"""Schedules: a diffusion time ``t`` <-> the Gaussian channel's ``(a, s)`` <-> ``lambda = a^2 / s^2``,
and ``t`` <-> the flip probability ``p`` of the bit-flip channel.

For display and for users who think in ``t``; scores are always reported on ``lambda`` or ``p``
(docs/physics.md, section 1).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

from .channels import BitFlipChannel, GaussianChannel


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
