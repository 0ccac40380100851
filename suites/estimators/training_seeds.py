"""A placement scored as an estimator: its error over training seeds and test configurations.

One run of a learned family gives one estimate ``v`` of a transition ``g`` (a crossing, a peak).  Its error
has three parts: the estimator's bias ``b`` (systematic and finite-size errors included: the truth is known),
the test set's noise (variance ``sigma_c^2``, what the task's bootstrap over test configurations measures)
and the training seed's (variance ``tau^2``).  The *placement score* is the root-mean-square error of one run,

    RMSE = sqrt(b^2 + sigma_c^2 + tau^2),

and a point error ``|v - g|`` of one run is one draw of it, which phasebench shows but never ranks on.

With n seeds, fitted on the same training data and scored on the same test configurations (the data's seeds
derive from the task seed, the members' from it and the seed index):

* ``mean``: ``v_bar`` with the interval ``v_bar +- t_nu SE``, ``SE^2 = sigma_c^2 + s^2 / n`` (``s^2``: the
  seeds' sample variance; the test configurations are shared, so their error does not average out over seeds),
  ``nu`` by Welch-Satterthwaite with the bootstrap term's degrees of freedom taken as infinite, and ``sigma_c``
  the seeds' mean statistical half-width over ``z_0.975``.  The estimates' systematic envelopes (their mean
  offsets) are added in quadrature on each side as everywhere in the package
  (:func:`.systematic.combined_interval`); ``consistent``: the target inside that interval.
* ``rmse``: ``sqrt(max(0, d^2 - SE^2) + sigma_c^2 + s^2)`` with ``d = v_bar - g`` (``d^2 - SE^2`` is unbiased
  for ``b^2``), and a simultaneous interval: ``b`` from its t interval and ``tau^2`` from the chi-square
  interval of ``s^2`` with n - 1 degrees of freedom, each at level ``1 - alpha / 2`` (Bonferroni), the RMSE's
  limits those of ``sqrt(b^2 + sigma_c^2 + tau^2)`` over the two.  ``sigma_c^2`` is plugged in, except in
  the lower limit, where its own estimation error (hundreds of test configurations, a thousand resamples)
  would otherwise put the limit above the truth half the time for a family with no bias and no seed spread:
  there it is the lower end of its chi-square interval with ``n_configs - 1`` degrees of freedom.  A family whose fit does not depend on a seed (``seeded``
  False) has ``tau = 0``; a seeded family with one seed has no measured seed spread, so its interval has
  no upper limit (None).

Coverage of both intervals on synthetic estimates with a known answer (bias, test-set and seed spreads
varied, 3 and 5 seeds): docs/decisions/training-seeds.md.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
from scipy import stats

from .bootstrap import CI_LEVEL
from .systematic import combined_interval
from .systematic import finite as _finite


def placement_over_seeds(estimates: Sequence[Mapping[str, Any]], target: float, seeded: bool = True,
                         n_configs: Optional[int] = None, level: float = CI_LEVEL) -> Dict[str, Any]:
    """The placement score of one family from its per-seed ``estimates`` (each ``value``, ``lo``, ``hi``: the
    statistical interval over test configurations; optionally ``systematic`` with ``lo``/``hi``) of the true
    ``target`` (module doc).  ``seeded``: the family's fit depends on its seed.  ``n_configs``: the test
    configurations that the intervals resampled (the lower limit then takes ``sigma_c^2`` at the lower end of
    its chi-square interval with ``n_configs - 1`` degrees of freedom; None: plugged in).  Seeds without a finite
    estimate make the score undefined (``failed_seeds`` counts them)."""
    values = [float(e.get("value", math.nan)) for e in estimates]
    out: Dict[str, Any] = {"seeds": len(values), "seeded": bool(seeded), "values": values, "target": float(target),
                           "point_errors": [abs(v - target) if _finite(v) else None for v in values],
                           "failed_seeds": sum(not _finite(v) for v in values), "level": level}
    usable = [e for e in estimates if _finite(e.get("value"), e.get("lo"), e.get("hi"))]
    if not values or len(usable) < len(values):
        reason = ("no seeds" if not values else f"{out['failed_seeds']} seed(s) without an estimate" if out["failed_seeds"]
                  else f"{len(values) - len(usable)} seed(s) without an interval")
        return {**out, "mean": None, "rmse": None, "consistent": None, "undefined": reason}
    n = len(values)
    v = np.array(values)
    alpha = 1.0 - level
    z = stats.norm.ppf(1 - alpha / 2)
    sigma_c = float(np.mean([(e["hi"] - e["lo"]) / (2 * z) for e in estimates]))
    s2 = float(v.var(ddof=1)) if n > 1 else 0.0
    seed_term = s2 / n if seeded else 0.0
    se = math.sqrt(sigma_c**2 + seed_term)
    nu = math.inf if seed_term == 0 else se**4 / (seed_term**2 / (n - 1))
    mean = float(v.mean())

    def t(q: float) -> float:
        return float(stats.norm.ppf(q) if math.isinf(nu) else stats.t.ppf(q, nu))

    half = t(1 - alpha / 2) * se
    sys_lo, sys_hi = mean, mean
    if all(_finite((e.get("systematic") or {}).get("lo"), (e.get("systematic") or {}).get("hi")) for e in estimates):
        sys_lo = mean - float(np.mean([e["value"] - e["systematic"]["lo"] for e in estimates]))
        sys_hi = mean + float(np.mean([e["systematic"]["hi"] - e["value"] for e in estimates]))
    comb = combined_interval(mean, mean - half, mean + half, sys_lo, sys_hi)
    out["mean"] = {"value": mean, "lo": mean - half, "hi": mean + half, "se": se, "df": None if math.isinf(nu) else nu,
                   "systematic": {"lo": sys_lo, "hi": sys_hi}, "combined": comb}
    out["consistent"] = bool(comb["lo"] <= target <= comb["hi"])
    out["seed_sd"] = math.sqrt(s2) if seeded and n > 1 else (0.0 if not seeded else None)
    out["test_set_sd"] = sigma_c

    d = mean - target
    b_half = t(1 - alpha / 4) * se  # each of the two parameters at 1 - alpha/2 (Bonferroni)
    b2_lo = 0.0 if abs(d) <= b_half else (abs(d) - b_half) ** 2
    b2_hi = (abs(d) + b_half) ** 2
    if not seeded:
        tau2_lo = tau2_hi = s2_used = 0.0
    elif n > 1:
        s2_used = s2
        tau2_lo = (n - 1) * s2 / stats.chi2.ppf(1 - alpha / 4, n - 1)
        tau2_hi = (n - 1) * s2 / stats.chi2.ppf(alpha / 4, n - 1)
    else:
        s2_used, tau2_lo, tau2_hi = 0.0, 0.0, math.inf
    point = math.sqrt(max(0.0, d * d - se * se) + sigma_c**2 + s2_used)
    hi = math.sqrt(b2_hi + sigma_c**2 + tau2_hi)
    c2_lo = sigma_c**2 if n_configs is None else sigma_c**2 * (n_configs - 1) / stats.chi2.ppf(1 - alpha / 4, n_configs - 1)
    out["rmse"] = {"value": point, "lo": math.sqrt(b2_lo + c2_lo + tau2_lo), "hi": hi if math.isfinite(hi) else None,
                   "bias": d, "method": "sqrt(b^2 + sigma_c^2 + tau^2); Bonferroni over the bias's t interval and the "
                                         "seed variance's chi-square interval"
                                         + ("" if seeded else " (no seed dependence: tau = 0)")
                                         + (" (one training seed: no upper limit)" if seeded and n == 1 else "")}
    return out


def separated(scores: Mapping[str, Optional[Mapping[str, Any]]]) -> Dict[str, list]:
    """For each family (name -> its :func:`placement_over_seeds` result), the families whose RMSE interval lies
    wholly above its own: the pairs that the ranking separates."""
    def interval(s):  # a missing or NaN limit (a results file reads null as NaN) separates nothing
        r = (s or {}).get("rmse") or {}
        return tuple(v if _finite(v) else None for v in (r.get("lo"), r.get("hi")))

    out = {}
    for a, sa in scores.items():
        _, a_hi = interval(sa)
        out[a] = sorted(b for b, sb in scores.items()
                        if b != a and a_hi is not None and interval(sb)[0] is not None and interval(sb)[0] > a_hi)
    return out
