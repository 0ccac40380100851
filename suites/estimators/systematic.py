"""Systematic (model) error beside the statistical one, and their combination.

A placement that extrapolates with a model (finite-size exponents, the offset of the length scale,
correction terms, the choice of fit window) inherits the model's error, which no resampling of the
data shows.  phasebench reports it as its own term:

* **statistical interval** ``[lo, hi]``: the percentile bootstrap of the nominal estimator
  (:mod:`.bootstrap`);
* **systematic interval** ``[sys_lo, sys_hi]``: the envelope of the point estimates of the same
  data under each model variant of a documented plausible range (the nominal estimate included);
* **combined interval**: each side's statistical and systematic half-widths added in quadrature,
  ``value - sqrt((value - lo)^2 + (value - sys_lo)^2)`` and likewise above.  Quadrature treats the
  model error as an independent error of the size of the envelope's half-width; the envelope of a
  few variants is a range, not a standard error, so this errs on the wide side where the variants
  span the plausible range (coverage measured: docs/decisions/interval-coverage.md).

A point error ``|value - target|`` inside the combined interval is *consistent with the target*:
below that size the error carries no information, and the leaderboard prints it as such instead
of as a number to rank.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional


def finite(*values: Any) -> bool:
    """True where every value is a finite int or float (None, NaN and non-numbers are not)."""
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)



def systematic_interval(value: float, variants: Mapping[str, float]) -> Dict[str, Any]:
    """The envelope of ``value`` and the variants' finite estimates, and the variants themselves
    (name -> estimate, NaN where a variant gives none)."""
    usable = [float(v) for v in variants.values() if finite(v)]
    if not finite(value):
        return {"lo": float("nan"), "hi": float("nan"), "variants": {k: float(v) for k, v in variants.items()}}
    return {"lo": min([float(value)] + usable), "hi": max([float(value)] + usable),
            "variants": {k: float(v) for k, v in variants.items()}}


def combined_interval(value: float, lo: float, hi: float, sys_lo: float, sys_hi: float) -> Dict[str, float]:
    """Statistical and systematic half-widths added in quadrature on each side (NaN where either is missing)."""
    if not finite(value, lo, hi, sys_lo, sys_hi):
        return {"lo": float("nan"), "hi": float("nan")}
    below = math.hypot(value - lo, value - sys_lo)
    above = math.hypot(hi - value, sys_hi - value)
    return {"lo": value - below, "hi": value + above}


def with_systematic(estimate: Mapping[str, Any], variants: Mapping[str, float], model_range: str) -> Dict[str, Any]:
    """``estimate`` (``value``, ``lo``, ``hi``: the statistical interval) with ``systematic`` (the envelope
    of ``variants``, described by ``model_range``) and ``combined`` added."""
    out = dict(estimate)
    sys = systematic_interval(out["value"], variants)
    sys["model_range"] = model_range
    out["systematic"] = sys
    out["combined"] = combined_interval(out["value"], out["lo"], out["hi"], sys["lo"], sys["hi"])
    return out


def interval_of(estimate: Mapping[str, Any]) -> tuple:
    """The widest interval an estimate carries: the combined one if present, else the statistical one."""
    comb = estimate.get("combined")
    if isinstance(comb, Mapping) and finite(comb.get("lo"), comb.get("hi")):
        return float(comb["lo"]), float(comb["hi"])
    return float(estimate.get("lo", float("nan"))), float(estimate.get("hi", float("nan")))


def consistent_with(estimate: Mapping[str, Any], target: Optional[float]) -> Optional[bool]:
    """True where ``target`` lies inside the estimate's widest interval; None without a target or an interval."""
    lo, hi = interval_of(estimate)
    if target is None or not finite(lo, hi, target):
        return None
    return bool(lo <= target <= hi)


def error_text(estimate: Mapping[str, Any], target: Optional[float], digits: int = 4) -> str:
    """The leaderboard's error cell: ``consistent (|err| 0.0006 < 0.0049)`` where the target lies inside the
    widest interval, the error with the interval's half-width on that side otherwise, ``n/a`` without one."""
    value = estimate.get("value", float("nan"))
    if target is None or not finite(value, target):
        return "n/a"
    err = abs(value - target)
    lo, hi = interval_of(estimate)
    if not finite(lo, hi):
        return f"{err:.{digits}f} (no interval)"
    half = (value - lo) if target < value else (hi - value)
    if lo <= target <= hi:
        return f"consistent (|err| {err:.{digits}f} <= {half:.{digits}f})"
    return f"{err:.{digits}f} (outside, half-width {half:.{digits}f})"


def interval_text(estimate: Mapping[str, Any], digits: int = 4) -> str:
    """``value [lo, hi] stat; [sys_lo, sys_hi] sys; [c_lo, c_hi] comb`` (the parts present)."""
    def fmt(a: Any, b: Any) -> str:
        return f"[{a:.{digits}f}, {b:.{digits}f}]" if finite(a, b) else "[n/a]"

    value = estimate.get("value", float("nan"))
    text = f"{value:.{digits}f} " if finite(value) else "n/a "
    text += fmt(estimate.get("lo"), estimate.get("hi")) + " stat"
    sys, comb = estimate.get("systematic"), estimate.get("combined")
    if isinstance(sys, Mapping):
        text += "; " + fmt(sys.get("lo"), sys.get("hi")) + " sys"
    if isinstance(comb, Mapping):
        text += "; " + fmt(comb.get("lo"), comb.get("hi")) + " comb"
    return text
