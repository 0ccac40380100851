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
    #: True when a larger level means more noise (p), False when it means less (the SNR lambda)
    noise_increases_with_level = True

    def validate_level(self, level: Any) -> float:
        raise NotImplementedError

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        """Draw y given x (n, C, L, L); the same seed gives the same y."""
        raise NotImplementedError

    def linear_response(self, level: float, variable_type: str, mean_x: np.ndarray, var_x: np.ndarray):
        """Second-order statistics of ``y`` given those of ``x``, per channel of the data.

        Returns ``(gain, mean_y, var_y)`` such that, for every pair of variables
        u, v: ``Cov(y_u, x_v) = gain Cov(x_u, x_v)``, ``Cov(y_u, y_v) = gain^2
        Cov(x_u, x_v)`` for u != v, and ``Var(y_u) = var_y``.  This is all the
        empirical linear (Wiener) denoiser needs.
        """
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
    noise_increases_with_level = False

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

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        a, s = self.amplitudes(level)
        x = np.asarray(x, dtype=np.float64)
        if self.encode_binary_as_spin:
            x = 1.0 - 2.0 * x
        return a * x + s * _rng(seed).standard_normal(x.shape)

    def linear_response(self, level, variable_type, mean_x, var_x):
        a, s = self.amplitudes(level)
        mean_x, var_x = np.asarray(mean_x, float), np.asarray(var_x, float)
        if self.encode_binary_as_spin:  # y = a (1 - 2x) + s z
            return -2.0 * a, a * (1.0 - 2.0 * mean_x), 4.0 * a * a * var_x + s * s
        return a, a * mean_x, a * a * var_x + s * s

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

    def corrupt(self, x: np.ndarray, level: float, seed: Any, variable_type: str | None = None) -> np.ndarray:
        """Flip with probability p.  ``variable_type`` ('spin' or 'binary') resolves the
        ambiguity of all-ones data; by default any -1 means spins, else bits."""
        p = self.validate_level(level)
        x = np.asarray(x)
        if variable_type is None:
            variable_type = "spin" if (x == -1).any() else "binary"
        allowed = {"spin": (-1, 1), "binary": (0, 1)}.get(variable_type)
        if allowed is None or not np.isin(x, allowed).all():
            raise ValueError("the bit-flip channel needs binary (0/1) or spin (+-1) data")
        flips = _rng(seed).random(x.shape) < p
        flipped = -x if variable_type == "spin" else 1 - x
        return np.where(flips, flipped, x).astype(np.int8)

    def linear_response(self, level, variable_type, mean_x, var_x):
        q = 1.0 - 2.0 * self.validate_level(level)
        mean_x = np.asarray(mean_x, float)
        if variable_type == "spin":  # y = eta x with E[eta] = q
            mean_y = q * mean_x
            return q, mean_y, 1.0 - mean_y**2
        if variable_type == "binary":  # 1 - 2y = eta (1 - 2x)
            mean_y = 0.5 - q * (0.5 - mean_x)
            return q, mean_y, mean_y * (1.0 - mean_y)
        raise ValueError(f"the bit-flip channel needs spin or binary data, not {variable_type!r}")


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
