"""The rules of a run: open (the default) or closed (``phasebench run --rules closed``).

* **open**: a family trains as its options and the task's budget say; anything goes, and the leaderboard reports
  the costs (parameters, multiply-adds per site, training multiply-adds, seconds) beside the scores.
* **closed**: the scores of learned families are comparable.  Every family gets the task's training
  configurations (as in every run), every member of a learned family trains its Adam loop with the same compute,
  :data:`CLOSED_TRAIN_FLOPS` multiply-adds of the division, counted from the network (the family option
  ``train_flops``: 3 x its forward multiply-adds per site x the sites trained on), which replaces the step
  count or budget that the task would give it; the readout refits that follow keep the task's budget, the same
  for every family.  A family whose members' parameter counts leave :data:`PARAM_BAND` is listed as outside the
  band: its scores are shown and are not comparable.

Results of different rules are never merged into one leaderboard (:mod:`phasebench.suites.merge`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

RULES = ("open", "closed")
#: training multiply-adds per member of a learned family under the closed rules: about what the cnn's quick and full
#: budgets buy on the Ising and loop tasks (1.9e11 per member in the quick cells; docs/decisions/training-seeds.md)
CLOSED_TRAIN_FLOPS = {"quick": 2e11, "full": 2e12}
#: parameters per member allowed under the closed rules: the built-in architectures' defaults lie at 1.6e4-1.2e5
PARAM_BAND = (10_000, 200_000)


def check_rules(rules: str) -> str:
    if rules not in RULES:
        raise ValueError(f"unknown rules {rules!r} (choose from: {', '.join(RULES)})")
    return rules


def closed_family_options(families: List[str], family_options: Mapping[str, Mapping[str, Any]],
                          division: str) -> Dict[str, Dict[str, Any]]:
    """``family_options`` with every learned family's training compute fixed at the closed division's (its step
    count, if the task set one, removed)."""
    from phasebench.denoisers import DENOISERS
    from phasebench.denoisers.harness import LearnedFamily

    out = {name: dict(opts) for name, opts in family_options.items()}
    for name in families:
        if issubclass(DENOISERS.get(name), LearnedFamily):
            opts = {k: v for k, v in out.get(name, {}).items() if k != "steps"}
            out[name] = {**opts, "train_flops": CLOSED_TRAIN_FLOPS[division]}
    return out


def rules_record(cfg, summary: Mapping[str, Any]) -> Dict[str, Any]:
    """What a task record says of the rules of its grid ``cfg``: under the closed rules the compute per member,
    the band and the families whose members leave it."""
    if cfg.rules != "closed":
        return {"rules": cfg.rules}
    from .placement import member_costs

    outside = set()
    for entry in summary.values():
        if isinstance(entry, Mapping) and entry.get("family"):
            params = member_costs(entry)["n_params"]
            if params and not PARAM_BAND[0] <= params <= PARAM_BAND[1]:
                outside.add(entry["family"])
    flops = sorted({o["train_flops"] for o in cfg.family_options.values() if "train_flops" in o})
    return {"rules": "closed", "train_flops_per_member": flops[0] if len(flops) == 1 else flops,
            "param_band": list(PARAM_BAND), "outside_band": sorted(outside)}
