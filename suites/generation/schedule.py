"""Level paths and denoiser schedules of the reverse (generative) processes (docs/physics.md, section 8).

A *level path* is the grid of noise levels that a reverse process visits, from pure noise to clean data,
in the channel's own level (``lambda`` or ``p``, docs/physics.md, section 1):

* Gaussian channel, stochastic localisation ``Y_t = t u + W_t``: the observation ``Y_t / t`` is the channel
  at ``lambda = t``.  Times ``t_0 = 0 < t_1 < ... < t_N``, ``t_1 .. t_N`` geometric from ``t_min`` to
  ``t_max``: the posterior changes on the scale ``dt ~ t`` (Var(u | Y_t) ~ 1/t once the data dominate), so
  equal steps in ``log t`` spend equal work per decade.  ``t_min = 0.01 / n_vars`` keeps the first step
  (drift = prior mean) below the scale ``1 / Lambda_max`` of the data's largest covariance eigenvalue, which
  is at most ``n_vars`` for bounded variables (Ising below T_c: ``N <m^2>``).
* Bit-flip channel, the time reversal of independent flips at rate 1, ``p(tau) = (1 - e^{-2 tau}) / 2``:
  levels ``p_1 = 1/2`` (uniform noise), then levels geometric in the Nishimori coupling ``J = atanh(1 - 2p)``
  (the posterior's field per observed variable; for small J the channel's information grows as ``J^2``, so this
  is the flip analogue of the SL grid) from ``J = 0.1 / sqrt(n_vars)``, where even the whole system's signal
  ``n_vars J^2`` is 0.01, up to ``p_min = 1e-3``, then 0.  (A grid geometric in tau instead takes steps of
  q ~ 0.3 flips per site where the Ising magnetisation is decided: 1.5 and 2.3 times the energy error at 12 and
  25 steps, measured on Ising L = 4, docs/decisions/generation.md.)

A *schedule* says which fitted denoiser acts at which level: a radius-r member everywhere, or a global
member inside a window ``[lo, hi]`` of the level axis and the radius-r member elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from phasebench.lattice_models.base import validate_int

#: the SL path's end for discrete data: the site SNR at which rounding the posterior mean errs with
#: probability ~Phi(-sqrt(30)) ~ 2e-8 per site
T_MAX_DISCRETE = 30.0
#: the SL path's end for real data: the generated spectrum misses the posterior variance, a relative
#: 1 / (t_max g_k) <= 1e-3 of the GFF's smallest prior variance g_k ~ 1/8
T_MAX_REAL = 1e4
#: the bit-flip path's last nonzero level; the last step samples each site from its marginal
P_MIN = 1e-3


@dataclass(frozen=True)
class LevelPath:
    """The reverse process's grid.  ``times``: the process's own clock (SL time t, or flip time tau);
    ``levels[k]``: the channel level at which the denoiser acts in step k (``len(levels) == steps + 1``:
    the last entry is the SL's final read-out, or the bit-flip target 0)."""

    kind: str  # "localisation" or "flip-reversal"
    times: np.ndarray
    levels: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.levels) - 1

    def level_range(self) -> Tuple[float, float]:
        """The range of levels the path visits (the allowed range of a global window)."""
        return float(np.min(self.levels)), float(np.max(self.levels))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "steps": self.steps, "times": self.times.tolist(), "levels": self.levels.tolist()}


def localisation_path(steps: int, n_vars: int, real: bool, t_min: Optional[float] = None,
                      t_max: Optional[float] = None) -> LevelPath:
    """Stochastic-localisation times ``0, t_1, ..., t_N`` (geometric); denoiser levels ``t_1, t_1, t_2, ..., t_N``
    (step 0 starts from Y = 0, where any level gives the prior mean; the last level is the final read-out)."""
    steps = validate_int(steps, "steps", 1)
    t_min = 0.01 / n_vars if t_min is None else float(t_min)
    t_max = (T_MAX_REAL if real else T_MAX_DISCRETE) if t_max is None else float(t_max)
    if not 0 < t_min < t_max:
        raise ValueError(f"the localisation path needs 0 < t_min < t_max, got t_min={t_min:g}, t_max={t_max:g}")
    grid = np.geomspace(t_min, t_max, steps)
    times = np.concatenate([[0.0], grid])
    levels = np.concatenate([[grid[0]], grid])
    return LevelPath("localisation", times, levels)


def flip_reversal_path(steps: int, n_vars: int, p_min: float = P_MIN, coupling_min: Optional[float] = None) -> LevelPath:
    """Flip probabilities ``1/2, p_2, ..., p_N = p_min, 0`` (``steps`` reverse steps): ``p_2 .. p_N`` geometric in the
    Nishimori coupling ``J = atanh(1 - 2p)`` from ``coupling_min = 0.1 / sqrt(n_vars)`` up (module docstring)."""
    steps = validate_int(steps, "steps", 2)
    j_min = 0.1 / math.sqrt(n_vars) if coupling_min is None else float(coupling_min)
    j_max = math.atanh(1.0 - 2.0 * p_min)
    if not 0 < j_min < j_max:
        raise ValueError(f"the flip-reversal path needs 0 < coupling_min < atanh(1 - 2 p_min), got {j_min:g}, {j_max:g}")
    couplings = np.geomspace(j_min, j_max, steps - 1)
    levels = np.concatenate([[0.5], 0.5 * (1.0 - np.tanh(couplings)), [0.0]])
    times = np.concatenate([[math.inf], -0.5 * np.log(np.tanh(couplings)), [0.0]])
    return LevelPath("flip-reversal", times, levels)


def process_kind(channel: Any) -> str:
    """The reverse process that the channel admits (asked of the channel, no class checks)."""
    if channel.additive_gaussian:
        return "localisation"
    if channel.discrete_observations:
        return "flip-reversal"
    raise ValueError(f"no reverse process for the {channel.name} channel (needs additive Gaussian or flip noise)")


def level_path(channel: Any, steps: int, n_vars: int, variable_type: str) -> LevelPath:
    """The default path of the channel's reverse process, ``steps`` steps, for ``n_vars`` variables."""
    if process_kind(channel) == "localisation":
        return localisation_path(steps, n_vars, real=variable_type == "real")
    return flip_reversal_path(steps, n_vars)


def parse_window(text: str) -> Tuple[float, float]:
    """``"LO:HI"`` -> (lo, hi); ValueError naming the window otherwise."""
    lo, sep, hi = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        return float(lo), float(hi)
    except ValueError:
        raise ValueError(f"window must look like LO:HI (two numbers), got {text!r}") from None


def validate_window(window: Tuple[float, float], path: LevelPath, level_name: str) -> Tuple[float, float]:
    """``lo < hi``, both finite and inside the path's level range; ValueError naming the bad bound."""
    lo, hi = (float(v) for v in window)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ValueError(f"window {lo:g}:{hi:g} must have finite lo < hi")
    a, b = path.level_range()
    for name, v in (("lo", lo), ("hi", hi)):
        if not a <= v <= b:
            raise ValueError(f"window {name}={v:g} is outside the path's {level_name} range [{a:g}, {b:g}]")
    return lo, hi


@dataclass
class Schedule:
    """Which fitted denoiser acts at a level: ``global_member`` inside ``window`` (levels lo <= level <= hi),
    ``local`` elsewhere.  Without a window the local member acts everywhere."""

    local: Any
    global_member: Any = None
    window: Optional[Tuple[float, float]] = None

    def __post_init__(self):
        if (self.global_member is None) != (self.window is None):
            raise ValueError("a global member needs a window, and a window a global member")

    def in_window(self, level: float) -> bool:
        return self.window is not None and self.window[0] <= level <= self.window[1]

    def member_at(self, level: float):
        return self.global_member if self.in_window(level) else self.local

    def is_global(self, member) -> bool:
        """The window's member, or a member without a radius (a global one acting alone, e.g. the exact oracle)."""
        return member is self.global_member or getattr(member, "radius", 0) is None

    def global_fraction(self, path: LevelPath) -> float:
        """The fraction of the path's denoiser calls made by a global member (1 for a global member alone)."""
        calls = path.levels if path.kind == "localisation" else path.levels[:-1]
        return float(np.mean([self.is_global(self.member_at(v)) for v in calls]))  # repeated levels included

    def to_dict(self, path: LevelPath) -> dict:
        def member(m):
            return None if m is None else {"family": m.name, "radius": m.radius}

        return {"local": member(self.local), "global": member(self.global_member),
                "window": None if self.window is None else list(self.window),
                "global_fraction": self.global_fraction(path)}


def denoiser_levels(path: LevelPath) -> list:
    """The levels at which the path calls a denoiser (the flip reversal's last level, 0, is its target)."""
    calls = path.levels if path.kind == "localisation" else path.levels[:-1]
    return sorted({float(v) for v in calls})
