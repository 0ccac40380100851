"""The results.json format: its name, and how a missing number, written as JSON ``null``, is read back."""

from __future__ import annotations

from typing import Any

RESULTS_FORMAT = "phasebench-results/1"


#: keys whose value is always a number, NaN where missing (besides every key of an estimate, below)
NUMERIC_KEYS = frozenset({"value", "lo", "hi", "mean", "stderr", "xi", "rel_error", "pc_error", "flops_per_site"})


def missing_numbers_as_nan(obj: Any) -> Any:
    """Undo strict JSON's ``null`` for a missing number: in an estimate (a dict with ``lo`` or ``hi``) and
    under :data:`NUMERIC_KEYS`, ``None`` becomes NaN; elsewhere ``None`` keeps its meaning (e.g. the
    radius of a global member, an unset hyperparameter)."""
    if isinstance(obj, list):
        return [missing_numbers_as_nan(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    estimate = "lo" in obj or "hi" in obj
    return {k: float("nan") if v is None and (estimate or k in NUMERIC_KEYS) else missing_numbers_as_nan(v)
            for k, v in obj.items()}
