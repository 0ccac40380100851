"""The placement table of a task that places a transition: each family's placement scored as an estimator over
its training seeds (:mod:`phasebench.suites.estimators.training_seeds`), with its costs beside it.

A task record holds it as ``placement`` (:func:`placement_record`); the leaderboard renders it after the task's
own table (:func:`placement_rows`), ranked by the placement score, the root-mean-square error of one run.  The
point error of the headline run (seed 0) is shown and not ranked on.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from phasebench.denoisers.harness.fit_record import TRAINING_PASS_FACTOR

from .estimators.systematic import finite as _finite
from .estimators.training_seeds import placement_over_seeds, separated


def _infos(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every member's fit info under a summary entry (dicts holding ``n_params``)."""
    if isinstance(node, Mapping):
        if "n_params" in node:
            yield node
            return
        for v in node.values():
            yield from _infos(v)
    elif isinstance(node, list):
        for v in node:
            yield from _infos(v)


def member_costs(entry: Mapping[str, Any]) -> Dict[str, Any]:
    """A family's costs in one summary entry: the largest member's parameters and forward multiply-adds per site,
    and over all its members the training multiply-adds (:data:`TRAINING_PASS_FACTOR` x forward multiply-adds per
    site x sites trained on, where the fit records the sites) and the fit seconds."""
    infos = list(_infos(entry.get("members", entry.get("per_L", {}))))
    params = [i["n_params"] for i in infos if isinstance(i.get("n_params"), (int, float))]
    flops = [i["flops_per_site"] for i in infos if isinstance(i.get("flops_per_site"), (int, float))
             and math.isfinite(i["flops_per_site"])]
    train = [TRAINING_PASS_FACTOR * i["flops_per_site"] * i["fit"]["train_sites"] for i in infos
             if isinstance(i.get("fit"), Mapping) and isinstance(i["fit"].get("train_sites"), (int, float))]
    seconds = [i["fit_seconds"] for i in infos if isinstance(i.get("fit_seconds"), (int, float))]
    return {"n_params": max(params) if params else None, "flops_per_site": max(flops) if flops else None,
            "training_flops": sum(train) if train else None, "fit_seconds": sum(seconds) if seconds else None,
            "members": len(infos), "device": next((i["fit"].get("device") for i in infos
                                                   if isinstance(i.get("fit"), Mapping) and i["fit"].get("device")), None)}


def placement_record(task, cfg, summary: Dict[str, Any], seed_summaries: Mapping[int, Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The placement table of ``task`` (None for a task that places nothing: :meth:`Task.placements`): per scored key
    the seeds' estimates, the placement score and the costs, and which keys the ranking separates.
    ``summary``: the seed-0 summary; ``seed_summaries``: each further training seed's, by seed index."""
    from phasebench.denoisers import DENOISERS

    got = task.placements(summary) if task.scored else None  # an unverified target is not scored against
    if got is None:
        return None
    target, est0 = got
    further = {s: (task.placements(ss) or (None, {}))[1] for s, ss in sorted(seed_summaries.items())}
    rows = {}
    for key, item in est0.items():
        fam = item["family"]
        trainable = DENOISERS.get(fam).trainable if fam in DENOISERS else True
        estimates = [item["estimate"]] + ([further[s][key]["estimate"] for s in further if key in further[s]]
                                          if trainable else [])
        n_configs = summary.get(key, {}).get("n_test", cfg.n_test)  # an entry on its own test set says so
        rows[key] = {"family": fam, **placement_over_seeds(estimates, target, seeded=trainable, n_configs=n_configs),
                     "costs": member_costs(summary.get(key, {}))}
    return {"target": target, "quantity": task.placement_quantity, "train_seeds": cfg.train_seeds, "families": rows,
            "separated_below": separated(rows)}


def _interval(d: Optional[Mapping[str, Any]], digits: int = 4) -> str:
    if not d or not _finite(d.get("value")):
        return "n/a"
    hi = f"{d['hi']:.{digits}f}" if _finite(d.get("hi")) else "inf"  # no upper limit (a results file reads it as NaN)
    return f"{d['value']:.{digits}f} [{d['lo']:.{digits}f}, {hi}]"


def _num(v: Any, fmt: str = ".3g") -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def placement_intro(placement: Mapping[str, Any]) -> List[str]:
    """The leaderboard lines above a placement table: a heading and what the table measures."""
    n = placement["train_seeds"]
    return ["### Placement scored as an estimator", "",
            f"Placement score: the root-mean-square error of one run's estimate of "
            f"{placement.get('quantity', 'the transition')} (true value {placement['target']:g}), "
            f"sqrt(bias^2 + test-set variance + seed variance), over "
            + (f"{n} training seeds per learned member" if n > 1 else
               "**one training seed** (this division trains each learned member once: its seed spread is not "
               "measured, so a learned family's interval has no upper limit)")
            + " and the bootstrap over test configurations; ranked on it, with simultaneous 95% intervals "
              "(docs/leaderboard.md). The point error of one run is shown, not ranked on.", ""]


def placement_rows(placement: Mapping[str, Any]) -> Tuple[List[str], List[List[str]]]:
    """The leaderboard's placement table: ranked by the placement score (RMSE), undefined scores last."""
    header = ["family", "seeds", "placement score: RMSE [95% CI]", "mean of seeds [comb. CI]", "truth inside",
              "point error of seed 0", "seed sd / test-set sd", "RMSE CI wholly below those of", "params", "FLOPs/site",
              "training FLOPs", "fit s"]
    fams = placement["families"]

    def rank(item):
        r = item[1].get("rmse")
        return (r is None, r["value"] if r else 0.0, item[0])

    rows = []
    for key, f in sorted(fams.items(), key=rank):
        mean = f.get("mean")
        mean = mean if isinstance(mean, dict) else None  # read back from strict JSON, a missing one is NaN
        comb = (mean or {}).get("combined") or {}
        c = f["costs"]
        seeds = f"{f['seeds']}" + ("" if f["seeded"] else " (no seed dependence)")
        if f.get("undefined"):
            seeds += f"; score undefined: {f['undefined']}"
        spread = f"{_num(f.get('seed_sd'), '.2g')} / {_num(f.get('test_set_sd'), '.2g')}"
        rows.append([key, seeds, _interval(f.get("rmse")),
                     "n/a" if not mean else f"{mean['value']:.4f} [{comb.get('lo', math.nan):.4f}, {comb.get('hi', math.nan):.4f}]",
                     {True: "yes", False: "no", None: "n/a"}[f.get("consistent")],
                     _num(f["point_errors"][0], ".4f") if f["point_errors"] else "n/a", spread,
                     ", ".join(placement["separated_below"].get(key, [])) or "none",
                     _num(c.get("n_params"), ",") if c.get("n_params") is not None else "n/a", _num(c.get("flops_per_site")),
                     _num(c.get("training_flops")), _num(c.get("fit_seconds"), ".0f")])
    return header, rows
